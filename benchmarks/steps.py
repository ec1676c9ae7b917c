"""Time and peak memory of each pipeline step in one process, to explain the whole run.

`python -m benchmarks.steps --size large` loads the workload and then runs the steps of the
four assets one after another: keying, counting, set loading, selection, scraping,
`link_batch` and `link_new_members`. For each step it prints the seconds, the resident
memory after it and the peak during it. `--profile` adds the functions that took the most
time while keying, from cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import links
from benchmarks.postgres import bench_databases
from benchmarks.run import SIZES
from benchmarks.timing import stopwatch
from benchmarks.workload import load_workload
from jobs_pipeline.apify.local_server import LocalApifyServer
from jobs_pipeline.criteria.eligibility import count_eligible, key_eligible_criteria
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.criteria.selection import due_sets, load_set_states
from jobs_pipeline.links.store import link_batch, link_new_members


def _memory_mib() -> tuple[float, float]:
    """Return this process's current and peak resident memory in MiB, then reset the peak.

    Writing 5 to /proc/self/clear_refs resets VmHWM (Linux 4.0 and later), so each step's
    peak is its own.
    """
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    Path("/proc/self/clear_refs").write_text("5")
    return values["VmRSS"], values["VmHWM"]


def main(argv: list[str] | None = None) -> int:
    """Run the steps on the largest workload of a size and print one line per step."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.steps")
    parser.add_argument("--size", choices=sorted(SIZES), default="large", help="workload size")
    parser.add_argument("--postgres", metavar="DSN", help="as for python -m benchmarks")
    parser.add_argument("--profile", action="store_true", help="profile the keying step")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    spec = SIZES[args.size].workloads[-1]
    policy = RefreshPolicyResource(max_sets_per_run=spec.max_sets_per_run)

    def report(step: str, seconds: float) -> None:
        current, peak = _memory_mib()
        sys.stdout.write(
            f"{step:<22} {seconds:9.3f} s   RSS {current:7.1f} MiB   step peak {peak:7.1f}\n"
        )

    with bench_databases(args.postgres) as databases:
        databases.create("steps")
        engine = databases.engine("steps")
        load_workload(engine, spec, datetime.now(UTC))
        report("workload loaded", 0.0)
        now = datetime.now(UTC)
        cutoff = now - timedelta(days=policy.pause_after_inactive_days)
        profiler = cProfile.Profile() if args.profile else None
        with stopwatch() as elapsed:
            if profiler:
                profiler.enable()
            key_eligible_criteria(engine, activity_cutoff=cutoff, now=now)
            if profiler:
                profiler.disable()
        report("key_eligible_criteria", elapsed[0])
        with stopwatch() as elapsed:
            count_eligible(engine, cutoff)
        report("count_eligible", elapsed[0])
        with stopwatch() as elapsed:
            states = load_set_states(engine, cutoff)
        report("load_set_states", elapsed[0])
        with stopwatch() as elapsed:
            due = due_sets(states, policy, now)
        report("due_sets", elapsed[0])
        with (
            LocalApifyServer(items_per_run=spec.items_per_run) as server,
            stopwatch() as elapsed,
        ):
            batch_ids = links.scrape_selected(
                engine, due, apify_url=server.url, policy=policy, max_items=spec.items_per_run
            )
        report("scrape 10 sets", elapsed[0])
        with stopwatch() as elapsed:
            for batch_id in batch_ids:
                link_batch(engine, batch_id, activity_cutoff=cutoff, now=datetime.now(UTC))
        report("link_batch x 10", elapsed[0])
        with stopwatch() as elapsed:
            link_new_members(engine, keyed_since=now, activity_cutoff=cutoff, now=datetime.now(UTC))
        report("link_new_members", elapsed[0])
    if profiler:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(15)
        sys.stdout.write(buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
