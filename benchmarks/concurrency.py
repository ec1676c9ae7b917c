"""Concurrent scraping: `dagster job execute` with the multiprocess executor and a pool of 5.

The run goes through the `dagster` command line in a child process, with a temporary
DAGSTER_HOME whose dagster.yaml sets `concurrency: pools: default_limit: 5`, against a local
Apify server in this process whose actor runs each last `latency` seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from benchmarks.timing import ProcessTreeSampler, stopwatch
from jobs_pipeline.apify.local_server import LocalApifyServer
from jobs_pipeline.apify.local_server.runs import RunSummary
from jobs_pipeline.batches.assets import APIFY_POOL

MAX_CONCURRENT_ENV = "DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT"
AS_CONFIGURED = "as configured"
POOL_LIMIT = 5
INSTANCE_YAML = f"""\
concurrency:
  pools:
    default_limit: {POOL_LIMIT}
telemetry:
  enabled: false
"""
# Dagster start-up and the non-scrape steps take well under this; the rest is actor latency.
FIXED_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class ConcurrentRun:
    """Timings of one `dagster job execute` run and how its actor runs overlapped."""

    wall_seconds: float
    scrape_span_seconds: float
    actor_runs: int
    max_parallel_actor_runs: int
    sets_succeeded: int
    pool_limit: int | None
    peak_rss_mib: float
    processes: int


def measure(
    database_url: str,
    *,
    latency: float,
    items_per_run: int,
    max_sets: int,
    max_concurrent: int | None = None,
    run_config: dict | None = None,
) -> ConcurrentRun:
    """Run `ingest_jobs` once through the command line and return what it took.

    `max_concurrent` sets the multiprocess executor's limit through its environment
    variable; None leaves Dagster's default, the number of CPUs. `run_config` goes to
    `dagster job execute -c`.
    """
    dagster = Path(sys.executable).with_name("dagster")
    with (
        tempfile.TemporaryDirectory(prefix="bench-dagster-home-") as home,
        LocalApifyServer(latency_seconds=latency, items_per_run=items_per_run) as server,
    ):
        Path(home, "dagster.yaml").write_text(INSTANCE_YAML)
        environment = _environment(home, database_url, server.url, items_per_run, max_sets)
        if max_concurrent is not None:
            environment[MAX_CONCURRENT_ENV] = str(max_concurrent)
        command = [str(dagster), "job", "execute", "-m", "jobs_pipeline", "-j", "ingest_jobs"]
        if run_config is not None:
            config_path = Path(home, "run_config.json")
            # JSON is YAML, which `-c` reads.
            config_path.write_text(json.dumps(run_config))
            command += ["-c", str(config_path)]
        log_path = Path(home, "run.log")
        timeout = FIXED_TIMEOUT_SECONDS + 12 * latency
        with log_path.open("w") as log, stopwatch() as elapsed:
            child = subprocess.Popen(
                command,
                cwd=home,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            killer = threading.Timer(timeout, _stop_group, args=(child.pid,))
            killer.start()
            try:
                with ProcessTreeSampler(child.pid) as sampler:
                    child.wait()
            finally:
                killer.cancel()
        if child.returncode != 0:
            tail = log_path.read_text()[-3000:]
            raise RuntimeError(f"dagster job execute exited with {child.returncode}:\n{tail}")
        runs = server.runs
        pool_limit = _pool_limit(home)
    start, end, parallel = _overlap(runs)
    return ConcurrentRun(
        wall_seconds=elapsed[0],
        scrape_span_seconds=end - start,
        actor_runs=len(runs),
        max_parallel_actor_runs=parallel,
        sets_succeeded=_sets_succeeded(database_url),
        pool_limit=pool_limit,
        # Sampled VmHWM per process: `wait4`'s ru_maxrss would include this process's peak,
        # because a child started with vfork and exec inherits it.
        peak_rss_mib=max(sampler.peaks_kib.values(), default=0) / 1024,
        processes=len(sampler.peaks_kib),
    )


def _environment(
    home: str, database_url: str, apify_url: str, items_per_run: int, max_sets: int
) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DAGSTER_", "APIFY_", "APP_DATABASE", "INGEST_"))
    }
    environment.update(
        DAGSTER_HOME=home,
        DAGSTER_DISABLE_TELEMETRY="1",
        APP_DATABASE_URL=database_url,
        APIFY_TOKEN="apify_api_benchmark_token_0123456789",
        APIFY_API_URL=apify_url,
        APIFY_MAX_ITEMS=str(items_per_run),
        INGEST_MAX_SETS_PER_RUN=str(max_sets),
    )
    return environment


def _stop_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def _overlap(runs: list[RunSummary]) -> tuple[float, float, int]:
    """Return the first start, the last end (epoch seconds) and the most runs at once."""
    events = []
    for run in runs:
        if run.finished_at is None:
            raise RuntimeError(f"actor run {run.run_id} had not finished when the job ended")
        events.append((_epoch(run.started_at), 1))
        events.append((_epoch(run.finished_at), -1))
    events.sort(key=lambda event: (event[0], event[1]))
    running = parallel = 0
    for _, change in events:
        running += change
        parallel = max(parallel, running)
    return events[0][0], events[-1][0], parallel


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _pool_limit(home: str) -> int | None:
    """Return the `apify` pool's limit as the run's instance stored it, if it stored one."""
    import dagster as dg

    with dg.DagsterInstance.from_config(home) as instance:
        storage = instance.event_log_storage
        if not storage.supports_global_concurrency_limits:
            return None
        limits = {pool.name: pool.limit for pool in storage.get_pool_limits()}
    return limits.get(APIFY_POOL)


def _sets_succeeded(database_url: str) -> int:
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT sets_succeeded FROM ingestion_runs ORDER BY id DESC LIMIT 1"
            ).scalar_one()
    finally:
        engine.dispose()
