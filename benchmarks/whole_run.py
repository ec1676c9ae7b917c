"""A whole `ingest_jobs` run in process, as the pipeline tests materialise it.

`python -m benchmarks.whole_run URL` runs the four assets once with the in-process executor
against a local Apify server with no latency, then prints one JSON object. `measure` starts
that command as a child process, so the peak memory it reports belongs to the run alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.timing import ProcessTreeSampler, own_peak_rss_mib, stopwatch

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "apify_api_benchmark_token_0123456789"


@dataclass(frozen=True)
class WholeRun:
    """Timings, run facts and peak memory of one whole run."""

    wall_seconds: float
    materialize_seconds: float
    step_seconds: dict[str, float]
    links_created: int
    criteria_eligible: int
    sets_eligible: int
    sets_selected: int
    selected_members: int
    actor_runs: int
    peak_rss_mib: float
    processes: int


def measure(database_url: str, *, items_per_run: int, max_sets: int) -> WholeRun:
    """Run one whole run in a child process and return its timings and peak memory."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.whole_run",
        database_url,
        f"--items-per-run={items_per_run}",
        f"--max-sets={max_sets}",
    ]
    environment = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1"}
    with tempfile.TemporaryDirectory(prefix="bench-whole-run-") as folder:
        output_path = Path(folder) / "stdout.json"
        log_path = Path(folder) / "stderr.log"
        with output_path.open("w") as output, log_path.open("w") as log, stopwatch() as elapsed:
            child = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                stdout=output,
                stderr=log,
                env=environment,
                stdin=subprocess.DEVNULL,
            )
            with ProcessTreeSampler(child.pid) as sampler:
                child.wait()
        if child.returncode != 0:
            tail = log_path.read_text()[-3000:]
            raise RuntimeError(f"the whole run exited with status {child.returncode}:\n{tail}")
        result = json.loads(output_path.read_text().splitlines()[-1])
    # The child's own VmHWM, which it reads just before exiting, is exact. `wait4`'s ru_maxrss
    # is not: a child started with vfork and exec also reports this process's peak.
    sampled = max(sampler.peaks_kib.values(), default=0) / 1024
    return WholeRun(
        wall_seconds=elapsed[0],
        peak_rss_mib=max(result.pop("own_peak_rss_mib"), sampled),
        processes=max(len(sampler.peaks_kib), 1),
        **result,
    )


def main(argv: list[str] | None = None) -> int:
    """Materialise the four assets once and print timings and run facts as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whole_run")
    parser.add_argument("database_url", help="SQLAlchemy URL of a loaded benchmark database")
    parser.add_argument("--items-per-run", type=int, default=100, help="postings per actor run")
    parser.add_argument("--max-sets", type=int, default=10, help="criteria sets per run")
    args = parser.parse_args(argv)

    import dagster as dg
    import sqlalchemy as sa

    from jobs_pipeline.apify.local_server import LocalApifyServer
    from jobs_pipeline.apify.resource import ApifyResource
    from jobs_pipeline.batches.assets import scraped_job_batches
    from jobs_pipeline.criteria.assets import criteria_sets, eligible_criteria
    from jobs_pipeline.criteria.policy import RefreshPolicyResource
    from jobs_pipeline.database.models import IngestionRun
    from jobs_pipeline.database.resource import AppDatabaseResource
    from jobs_pipeline.links.assets import user_job_links

    assets = [eligible_criteria, criteria_sets, scraped_job_batches, user_job_links]
    database = AppDatabaseResource(url=args.database_url)
    with (
        LocalApifyServer(items_per_run=args.items_per_run, latency_seconds=0) as server,
        dg.DagsterInstance.ephemeral() as instance,
    ):
        resources = {
            "app_database": database,
            "apify": ApifyResource(token=TOKEN, api_url=server.url, max_items=args.items_per_run),
            "refresh_policy": RefreshPolicyResource(max_sets_per_run=args.max_sets),
        }
        with stopwatch() as elapsed:
            result = dg.materialize(assets, resources=resources, instance=instance)
        actor_runs = len(server.runs)
        step_seconds = _step_seconds(instance, result.run_id)
        selection = result.output_for_node("criteria_sets")

    with database.get_engine().connect() as connection:
        run = connection.execute(
            sa.select(
                IngestionRun.links_created,
                IngestionRun.criteria_eligible,
                IngestionRun.sets_eligible,
                IngestionRun.sets_selected,
            ).where(IngestionRun.dagster_run_id == result.run_id)
        ).one()
    facts = {
        "materialize_seconds": elapsed[0],
        "step_seconds": step_seconds,
        "links_created": run.links_created,
        "criteria_eligible": run.criteria_eligible,
        "sets_eligible": run.sets_eligible,
        "sets_selected": run.sets_selected,
        "selected_members": sum(item.member_count for item in selection.selected),
        "actor_runs": actor_runs,
        "own_peak_rss_mib": own_peak_rss_mib(),
    }
    sys.stdout.write(json.dumps(facts) + "\n")
    return 0


def _step_seconds(instance, run_id: str) -> dict[str, float]:  # noqa: ANN001
    """Return the seconds per asset, adding up the mapped scrape steps."""
    starts: dict[str, float] = {}
    totals: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and entry.step_key in starts:
            name = entry.step_key.split("[")[0].removeprefix("scraped_job_batches.")
            totals[name] = totals.get(name, 0.0) + entry.timestamp - starts[entry.step_key]
    return totals


if __name__ == "__main__":
    sys.exit(main())
