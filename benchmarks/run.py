"""The benchmark plan of each size, and the loop that measures it."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from benchmarks import concurrency, job_upsert, links, selection, whole_run
from benchmarks.postgres import BenchDatabases, bench_databases
from benchmarks.report import JOB_UPSERT_WORKLOAD, Report, build_report, plot_scaling
from benchmarks.timing import Recorder
from benchmarks.workload import WorkloadFacts, WorkloadSpec, load_workload, scaled
from jobs_pipeline.apify.local_server import LocalApifyServer
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.criteria.selection import DueSet

logger = logging.getLogger("benchmarks")
# Records one value: (benchmark, variant, metric, value).
AddMeasurement = Callable[[str, str, str, float], None]

TINY = WorkloadSpec("tiny", candidates=200, criteria=400, items_per_run=20)
SMALL = WorkloadSpec("small", candidates=1_000, criteria=2_000)
LARGE = WorkloadSpec("large", candidates=200_000, criteria=400_000)


@dataclass(frozen=True)
class ConcurrencyVariant:
    """One executor configuration of the concurrent run."""

    label: str
    max_concurrent: int | None = None
    run_config: dict | None = None
    diagnostic: bool = False


AS_CONFIGURED = ConcurrencyVariant(concurrency.AS_CONFIGURED)
RAISED_LIMIT = ConcurrencyVariant("max_concurrent 10", max_concurrent=10, diagnostic=True)
FORKSERVER = ConcurrencyVariant(
    "max_concurrent 10, forkserver",
    run_config={
        "execution": {
            "config": {"multiprocess": {"max_concurrent": 10, "start_method": {"forkserver": {}}}}
        }
    },
    diagnostic=True,
)


@dataclass(frozen=True)
class SizePlan:
    """Workloads and concurrent-run settings of one `--size`."""

    workloads: tuple[WorkloadSpec, ...]
    concurrency_workload: WorkloadSpec
    actor_latency_seconds: float
    concurrency_sets: int
    upsert_jobs: int
    concurrency_variants: tuple[ConcurrencyVariant, ...]


SIZES = {
    "tiny": SizePlan((TINY,), TINY, 1.0, 2, 200, (AS_CONFIGURED,)),
    "small": SizePlan((SMALL,), SMALL, 20.0, 10, 1000, (AS_CONFIGURED, RAISED_LIMIT, FORKSERVER)),
    "scaling": SizePlan(
        (scaled(LARGE, 16), scaled(LARGE, 4), LARGE),
        SMALL,
        20.0,
        10,
        1000,
        (AS_CONFIGURED, RAISED_LIMIT, FORKSERVER),
    ),
    "large": SizePlan((LARGE,), SMALL, 20.0, 10, 1000, (AS_CONFIGURED, RAISED_LIMIT, FORKSERVER)),
}
BENCHMARKS = ("selection", "links", "whole_run", "job_upsert", "concurrency")


@dataclass
class Outcome:
    """A finished benchmark run: its report, workload facts and machine facts."""

    report: Report
    facts: dict[str, WorkloadFacts]
    machine: dict[str, str]
    plan: SizePlan


def run_benchmarks(
    size: str,
    repeat: int,
    *,
    admin_dsn: str | None = None,
    skip: tuple[str, ...] = (),
    diagnostic_repeat: int = 1,
    measurements_path: Path | None = None,
) -> Outcome:
    """Measure every benchmark of the size `repeat` times and return the report.

    The raw measurements are saved to `measurements_path` after each workload.
    """
    plan = SIZES[size]
    recorder = Recorder(measurements_path)
    facts: dict[str, WorkloadFacts] = {}
    with bench_databases(admin_dsn) as databases:
        machine = machine_facts(databases)
        for spec in plan.workloads:
            enabled = {"selection", "links", "whole_run"} - set(skip)
            if enabled:
                facts[spec.label] = _measure_workload(databases, spec, repeat, recorder, enabled)
                recorder.save()
        if "job_upsert" not in skip:
            _measure_job_upsert(databases, plan.upsert_jobs, repeat, recorder)
            recorder.save()
        if "concurrency" not in skip:
            _measure_concurrency(databases, plan, repeat, diagnostic_repeat, recorder)
            recorder.save()
    order = [spec.label for spec in plan.workloads]
    for extra in (JOB_UPSERT_WORKLOAD, plan.concurrency_workload.label):
        if extra not in order:
            order.append(extra)
    report = build_report(pd.DataFrame(recorder.rows), order, plan.workloads[-1].label)
    return Outcome(report, facts, machine, plan)


def _measure_workload(
    databases: BenchDatabases,
    spec: WorkloadSpec,
    repeat: int,
    recorder: Recorder,
    enabled: set[str],
) -> WorkloadFacts:
    template = f"{spec.label}_template"
    databases.create(template)
    logger.info("Generating workload %s (%s)", spec.label, spec.size_label)
    facts = load_workload(databases.engine(template), spec, datetime.now(UTC))
    policy = RefreshPolicyResource(max_sets_per_run=spec.max_sets_per_run)
    with LocalApifyServer(items_per_run=spec.items_per_run, latency_seconds=0) as server:
        for repetition in range(repeat):
            if enabled & {"selection", "links"}:
                databases.create("work", template=template)
                _measure_database_steps(
                    databases, spec, policy, server.url, repetition, recorder, enabled
                )
                databases.drop("work")
            if "whole_run" in enabled:
                _measure_whole_run(databases, spec, template, repetition, recorder)
    databases.drop(template)
    return facts


def _measure_database_steps(
    databases: BenchDatabases,
    spec: WorkloadSpec,
    policy: RefreshPolicyResource,
    apify_url: str,
    repetition: int,
    recorder: Recorder,
    enabled: set[str],
) -> None:
    engine = databases.engine("work")
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=policy.pause_after_inactive_days)
    # Warm the buffer cache with the tables both sides read, untimed.
    selection.run_floor(engine, cutoff)
    floor_first = repetition % 2 == 1
    # Links need the keyed sets, so selection runs even when only links are recorded.
    add = _adder(recorder, spec.label, repetition) if "selection" in enabled else None
    due = _measure_selection(engine, spec, policy, now, floor_first, add)
    if "links" not in enabled:
        return
    batch_ids = links.scrape_selected(
        engine, due, apify_url=apify_url, policy=policy, max_items=spec.items_per_run
    )
    add_links = _adder(recorder, spec.label, repetition)
    _measure_links(engine, spec, batch_ids, cutoff, floor_first, add_links)


def _measure_selection(
    engine: sa.Engine,
    spec: WorkloadSpec,
    policy: RefreshPolicyResource,
    now: datetime,
    floor_first: bool,
    add: AddMeasurement | None,
) -> list[DueSet]:
    """Time selection twice, on the unkeyed and then the unchanged population."""
    cutoff = now - timedelta(days=policy.pause_after_inactive_days)
    result = None
    for benchmark in ("selection_first", "selection_unchanged"):
        if floor_first:
            floor_seconds, floor_rows = selection.run_floor(engine, cutoff)
        result = selection.run_pipeline(engine, policy, now)
        if not floor_first:
            floor_seconds, floor_rows = selection.run_floor(engine, cutoff)
        selection.check_same_sets(result, floor_rows)
        logger.info(
            "%s %s: pipeline %.3f s, floor %.3f s (%d sets)",
            spec.label,
            benchmark,
            result.total_seconds,
            floor_seconds,
            result.sets_eligible,
        )
        if add is None:
            continue
        add(benchmark, "pipeline", "seconds", result.total_seconds)
        for step in ("key_seconds", "count_seconds", "load_seconds", "due_seconds"):
            add(benchmark, "pipeline", step, getattr(result, step))
        add(benchmark, "floor", "seconds", floor_seconds)
    return result.due


def _measure_links(
    engine: sa.Engine,
    spec: WorkloadSpec,
    batch_ids: list[int],
    cutoff: datetime,
    floor_first: bool,
    add: AddMeasurement,
) -> None:
    """Time a first and an idempotent second link run of each side, and compare counts."""
    counts = {}
    variants = ("floor", "pipeline") if floor_first else ("pipeline", "floor")
    for variant in variants:
        runner = links.run_pipeline if variant == "pipeline" else links.run_floor
        links.clear_links(engine)
        for benchmark in ("links_first", "links_rerun"):
            seconds, created = runner(engine, batch_ids, cutoff)
            add(benchmark, variant, "seconds", seconds)
            add(benchmark, variant, "links", created)
            counts[(variant, benchmark)] = created
            logger.info(
                "%s %s %s: %.3f s, %d links", spec.label, benchmark, variant, seconds, created
            )
    if counts[("pipeline", "links_first")] != counts[("floor", "links_first")]:
        raise RuntimeError(f"the pipeline and the floor created different links: {counts}")


def _measure_whole_run(
    databases: BenchDatabases,
    spec: WorkloadSpec,
    template: str,
    repetition: int,
    recorder: Recorder,
) -> None:
    url = databases.create("whole", template=template)
    result = whole_run.measure(
        url, items_per_run=spec.items_per_run, max_sets=spec.max_sets_per_run
    )
    databases.drop("whole")
    add = functools.partial(_adder(recorder, spec.label, repetition), "whole_run")
    add("pipeline", "seconds", result.wall_seconds)
    add("pipeline", "materialize_seconds", result.materialize_seconds)
    add("pipeline", "peak_rss_mib", result.peak_rss_mib)
    add("pipeline", "links", result.links_created)
    add("pipeline", "criteria_eligible", result.criteria_eligible)
    add("pipeline", "sets_eligible", result.sets_eligible)
    add("pipeline", "selected_members", result.selected_members)
    add("pipeline", "actor_runs", result.actor_runs)
    for step, seconds in result.step_seconds.items():
        add("pipeline", f"step:{step}", seconds)
    logger.info(
        "%s whole run: %.1f s, %d links, peak RSS %.0f MiB",
        spec.label,
        result.wall_seconds,
        result.links_created,
        result.peak_rss_mib,
    )


def _measure_job_upsert(
    databases: BenchDatabases, count: int, repeat: int, recorder: Recorder
) -> None:
    databases.create("upsert")
    engine = databases.engine("upsert")
    from jobs_pipeline.database import engine as engines

    engines.upgrade(engine)
    now = datetime.now(UTC)
    set_id = job_upsert.create_set(engine, now)
    jobs = job_upsert.make_jobs(count, seed=7, now=now)
    label = JOB_UPSERT_WORKLOAD
    for repetition in range(repeat):
        variants = ("floor", "pipeline") if repetition % 2 else ("pipeline", "floor")
        for variant in variants:
            runner = job_upsert.run_pipeline if variant == "pipeline" else job_upsert.run_floor
            job_upsert.clear_jobs(engine)
            for benchmark in ("job_upsert_new", "job_upsert_existing"):
                seconds = runner(engine, set_id, jobs)
                _adder(recorder, label, repetition)(benchmark, variant, "seconds", seconds)
                logger.info("%s %s %s: %.3f s", label, benchmark, variant, seconds)
    databases.drop("upsert")


def _measure_concurrency(
    databases: BenchDatabases,
    plan: SizePlan,
    repeat: int,
    diagnostic_repeat: int,
    recorder: Recorder,
) -> None:
    spec = plan.concurrency_workload
    template = f"{spec.label}_concurrency"
    databases.create(template)
    load_workload(databases.engine(template), spec, datetime.now(UTC))
    serial = plan.concurrency_sets * plan.actor_latency_seconds
    for variant in plan.concurrency_variants:
        for repetition in range(diagnostic_repeat if variant.diagnostic else repeat):
            url = databases.create("concurrent", template=template)
            result = concurrency.measure(
                url,
                latency=plan.actor_latency_seconds,
                items_per_run=spec.items_per_run,
                max_sets=plan.concurrency_sets,
                max_concurrent=variant.max_concurrent,
                run_config=variant.run_config,
            )
            databases.drop("concurrent")
            if result.sets_succeeded != plan.concurrency_sets:
                raise RuntimeError(
                    f"the concurrent run stored {result.sets_succeeded} sets, "
                    f"expected {plan.concurrency_sets}"
                )
            add = functools.partial(_adder(recorder, spec.label, repetition), "concurrent_run")
            add(variant.label, "seconds", result.wall_seconds)
            add(variant.label, "serial_seconds", serial)
            add(variant.label, "scrape_span_seconds", result.scrape_span_seconds)
            add(variant.label, "max_parallel", result.max_parallel_actor_runs)
            add(variant.label, "pool_limit", result.pool_limit or 0)
            add(variant.label, "peak_rss_mib", result.peak_rss_mib)
            add(variant.label, "processes", result.processes)
            logger.info(
                "concurrent run (%s): %.1f s, %d actor runs at most at once",
                variant.label,
                result.wall_seconds,
                result.max_parallel_actor_runs,
            )
    databases.drop(template)


def _adder(recorder: Recorder, workload: str, repetition: int) -> AddMeasurement:
    """Return a function that records (benchmark, variant, metric, value) for one repetition."""

    def add(benchmark: str, variant: str, metric: str, value: float) -> None:
        recorder.add(workload, benchmark, variant, metric, value, repetition)

    return add


def machine_facts(databases: BenchDatabases) -> dict[str, str]:
    """Return the facts of this machine, read from /proc and the servers."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    facts = {
        "CPU": model,
        "cores (os.cpu_count)": str(os.cpu_count()),
        "memory": f"{memory_kib / 1024 / 1024:.1f} GiB",
        "Python": platform.python_version(),
        "dagster": version("dagster"),
        "SQLAlchemy": version("sqlalchemy"),
        "psycopg2": version("psycopg2-binary"),
    }
    server = databases.server_facts()
    facts["PostgreSQL"] = server.pop("server_version")
    facts.update({f"PostgreSQL {name}": value for name, value in server.items()})
    return facts


def write_outputs(outcome: Outcome, command: str, output_dir: Path, plot: Path | None) -> str:
    """Write measurements.csv, workloads.csv, summary.md and the plot; return the Markdown."""
    output_dir.mkdir(parents=True, exist_ok=True)
    outcome.report.measurements.to_csv(output_dir / "measurements.csv", index=False)
    facts = pd.DataFrame(
        [{"workload": label, **dataclasses.asdict(item)} for label, item in outcome.facts.items()]
    )
    facts.to_csv(output_dir / "workloads.csv", index=False)
    machine = "\n".join(f"- {name}: {value}" for name, value in outcome.machine.items())
    load = outcome.report.measurements["load_1min"]
    machine += f"\n- 1-minute load average while measuring: {load.min():.1f} to {load.max():.1f}"
    header = f"# Benchmark run\n\nCommand: `{command}`\n\n{machine}"
    if not facts.empty:
        header += "\n\n## Workloads\n\n" + facts.drop(columns=["generated_at"]).to_markdown(
            index=False
        )
    markdown = outcome.report.to_markdown(header)
    (output_dir / "summary.md").write_text(markdown)
    if plot is not None and len(outcome.plan.workloads) > 1:
        candidates = {spec.label: spec.candidates for spec in outcome.plan.workloads}
        plot_scaling(outcome.report, candidates, plot)
    return markdown


def command_line() -> str:
    """Return the command that started this process, for the report."""
    return " ".join(["python -m benchmarks", *sys.argv[1:]])
