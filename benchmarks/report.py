"""Tables, targets and the scaling plot, computed with pandas from the raw measurements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# (benchmark, title, target ratio of pipeline to floor)
PAIRED_BENCHMARKS = (
    ("selection_first", "Selection and deduplication, first run", 1.5),
    ("selection_unchanged", "Selection and deduplication, unchanged population", 1.5),
    ("links_first", "Link creation, first run", 1.5),
    ("links_rerun", "Link creation, idempotent second run", 1.5),
    ("job_upsert_new", "Job upsert, new jobs", 2.0),
    ("job_upsert_existing", "Job upsert, existing jobs", 2.0),
)
SELECTION_STEPS = ("key_seconds", "count_seconds", "load_seconds", "due_seconds")
JOB_UPSERT_WORKLOAD = "job upsert"
NOT_MEASURED = "not measured"
TIME_PER_LINK_TARGET = 1.3
PEAK_MEMORY_TARGET_MIB = 500
CONCURRENCY_TARGET = 0.35
CONCURRENCY_TARGET_VARIANT = "as configured"


@dataclass(frozen=True)
class Report:
    """Every table of a benchmark run, as data frames and as Markdown."""

    measurements: pd.DataFrame
    ratios: pd.DataFrame
    whole_runs: pd.DataFrame
    concurrency: pd.DataFrame
    credit: pd.DataFrame
    targets: pd.DataFrame
    selection_steps: pd.DataFrame

    def to_markdown(self, header: str) -> str:
        """Return the report as Markdown, below the given header."""
        sections = [
            header,
            "## Pipeline against its floor (seconds: median, min–max)\n\n" + _markdown(self.ratios),
            "## Selection steps of the pipeline (seconds, median)\n\n"
            + _markdown(self.selection_steps),
            "## Whole run, zero-latency actor\n\n" + _markdown(self.whole_runs),
            "## Concurrent run through `dagster job execute`\n\n" + _markdown(self.concurrency),
            "## Credit efficiency\n\n" + _markdown(self.credit),
            "## Targets\n\n" + _markdown(self.targets),
        ]
        return "\n\n".join(section for section in sections if section) + "\n"


def build_report(measurements: pd.DataFrame, workload_order: list[str], largest: str) -> Report:
    """Compute every table from the long-form measurements of one run.

    `workload_order` orders the rows, and the targets are checked on the `largest` workload.
    """
    frame = measurements.copy()
    frame["workload"] = pd.Categorical(frame["workload"], categories=workload_order, ordered=True)
    ratios = _ratios(frame)
    whole_runs = _whole_runs(frame)
    concurrency = _concurrency(frame)
    return Report(
        measurements=measurements,
        ratios=ratios,
        whole_runs=whole_runs,
        concurrency=concurrency,
        credit=_credit(frame),
        targets=_targets(largest, ratios, whole_runs, concurrency),
        selection_steps=_selection_steps(frame),
    )


def _spread(values: pd.Series, digits: int = 3) -> str:
    if values.empty:
        return NOT_MEASURED
    median, low, high = values.median(), values.min(), values.max()
    if len(values) == 1 or low == high:
        return f"{median:.{digits}g}"
    return f"{median:.{digits}g} ({low:.{digits}g}–{high:.{digits}g})"


def _metric(frame: pd.DataFrame, benchmark: str, variant: str, metric: str) -> pd.DataFrame:
    selected = frame[
        (frame["benchmark"] == benchmark)
        & (frame["variant"] == variant)
        & (frame["metric"] == metric)
    ]
    return selected[["workload", "repetition", "value"]]


def _ratios(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for benchmark, title, target in PAIRED_BENCHMARKS:
        pipeline = _metric(frame, benchmark, "pipeline", "seconds")
        floor = _metric(frame, benchmark, "floor", "seconds")
        paired = pipeline.merge(floor, on=["workload", "repetition"], suffixes=("_p", "_f"))
        paired["ratio"] = paired["value_p"] / paired["value_f"]
        for workload, group in paired.groupby("workload", observed=True):
            rows.append(
                {
                    "workload": workload,
                    "measurement": title,
                    "runs": len(group),
                    "pipeline s": _spread(group["value_p"]),
                    "floor s": _spread(group["value_f"]),
                    "ratio": _spread(group["ratio"]),
                    "ratio median": group["ratio"].median(),
                    "target": f"≤ {target}×",
                    "met": "met" if group["ratio"].median() <= target else "missed",
                }
            )
    return pd.DataFrame(rows)


def _selection_steps(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for benchmark in ("selection_first", "selection_unchanged"):
        for workload in frame["workload"].cat.categories:
            values = {}
            for step in SELECTION_STEPS:
                metric = _metric(frame, benchmark, "pipeline", step)
                metric = metric[metric["workload"] == workload]
                if not metric.empty:
                    values[step.removesuffix("_seconds")] = round(metric["value"].median(), 4)
            if values:
                rows.append({"workload": workload, "run": benchmark, **values})
    return pd.DataFrame(rows)


def _whole_runs(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    whole = frame[frame["benchmark"] == "whole_run"]
    per_link = {variant: _per_link_us(frame, variant) for variant in ("pipeline", "floor")}
    for workload, group in whole.groupby("workload", observed=True):
        by_metric = {name: values["value"] for name, values in group.groupby("metric")}
        pipeline_per_link = per_link["pipeline"][per_link["pipeline"]["workload"] == workload]
        floor_per_link = per_link["floor"][per_link["floor"]["workload"] == workload]
        steps = {
            name.removeprefix("step:"): round(values.median(), 2)
            for name, values in by_metric.items()
            if name.startswith("step:")
        }
        rows.append(
            {
                "workload": workload,
                "runs": len(by_metric["seconds"]),
                "wall s": _spread(by_metric["seconds"]),
                "wall s median": by_metric["seconds"].median(),
                "peak RSS MiB (max)": round(by_metric.get("peak_rss_mib", pd.Series()).max(), 1),
                "links": int(by_metric["links"].median()),
                "link_batch µs per link": _spread(pipeline_per_link["us"]),
                "µs per link median": pipeline_per_link["us"].median(),
                "floor µs per link": _spread(floor_per_link["us"]),
                "steps s (median)": ", ".join(f"{name} {value}" for name, value in steps.items()),
            }
        )
    return pd.DataFrame(rows)


def _per_link_us(frame: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Return microseconds per link of each first link run, by workload and repetition."""
    seconds = _metric(frame, "links_first", variant, "seconds")
    links = _metric(frame, "links_first", variant, "links")
    merged = seconds.merge(links, on=["workload", "repetition"], suffixes=("_s", "_n"))
    merged["us"] = merged["value_s"] / merged["value_n"] * 1e6
    return merged


def _concurrency(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    runs = frame[frame["benchmark"] == "concurrent_run"]
    for (workload, variant), group in runs.groupby(["workload", "variant"], observed=True):
        by_metric = {name: values["value"] for name, values in group.groupby("metric")}
        serial = by_metric["serial_seconds"].median()
        ratio = by_metric["seconds"] / serial
        rows.append(
            {
                "workload": workload,
                "executor": variant,
                "runs": len(by_metric["seconds"]),
                "wall s": _spread(by_metric["seconds"]),
                "one at a time s": round(serial, 1),
                "ratio": _spread(ratio),
                "ratio median": ratio.median(),
                "scrape span s": _spread(by_metric["scrape_span_seconds"]),
                "most actor runs at once": int(by_metric["max_parallel"].max()),
                "apify pool limit in instance": int(by_metric["pool_limit"].median()),
                "peak RSS MiB, largest process": round(
                    by_metric.get("peak_rss_mib", pd.Series()).max(), 1
                ),
                "processes": int(by_metric["processes"].median()),
            }
        )
    return pd.DataFrame(rows)


def _credit(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    whole = frame[frame["benchmark"] == "whole_run"]
    for workload, group in whole.groupby("workload", observed=True):
        median = group.groupby("metric")["value"].median()
        eligible, sets = median["criteria_eligible"], median["sets_eligible"]
        actor_runs, members = median["actor_runs"], median["selected_members"]
        rows.append(
            {
                "workload": workload,
                "eligible criteria": int(eligible),
                "eligible sets": int(sets),
                "actor runs to cover all once": int(sets),
                "runs per eligible criteria": round(sets / eligible, 4),
                "actor runs in one run": int(actor_runs),
                "criteria served by them": int(members),
                "criteria per actor run": round(members / actor_runs, 1),
            }
        )
    return pd.DataFrame(rows)


def _targets(
    largest: str,
    ratios: pd.DataFrame,
    whole_runs: pd.DataFrame,
    concurrency: pd.DataFrame,
) -> pd.DataFrame:
    rows = []
    checked = (
        ratios[ratios["workload"].isin([largest, JOB_UPSERT_WORKLOAD])] if len(ratios) else ratios
    )
    for _, row in checked.iterrows():
        rows.append(
            {
                "target": f"{row['measurement']} {row['target']} floor",
                "workload": row["workload"],
                "measured": f"{row['ratio median']:.2f}×",
                "result": row["met"],
            }
        )
    measured_sizes = (
        whole_runs.dropna(subset=["µs per link median"]) if len(whole_runs) else whole_runs
    )
    if len(measured_sizes) > 1:
        first, last = measured_sizes.iloc[0], measured_sizes.iloc[-1]
        growth = last["µs per link median"] / first["µs per link median"]
        rows.append(
            {
                "target": f"time per link at {last['workload']} ≤ {TIME_PER_LINK_TARGET}× "
                f"at {first['workload']}",
                "workload": f"{first['workload']} → {last['workload']}",
                "measured": f"{growth:.2f}×",
                "result": "met" if growth <= TIME_PER_LINK_TARGET else "missed",
            }
        )

    # Rows of the largest workload that measured memory, also from a repeated invocation.
    largest_runs = whole_runs
    if len(whole_runs):
        largest_runs = whole_runs[whole_runs["workload"].astype(str).str.startswith(largest)]
        largest_runs = largest_runs.dropna(subset=["peak RSS MiB (max)"])
    if not largest_runs.empty:
        last = largest_runs.iloc[-1]
        peak = last["peak RSS MiB (max)"]
        rows.append(
            {
                "target": f"peak memory of any process < {PEAK_MEMORY_TARGET_MIB} MB",
                "workload": last["workload"],
                "measured": f"{peak * 1.048576:.0f} MB ({peak:.0f} MiB)",
                "result": "met" if peak * 1.048576 < PEAK_MEMORY_TARGET_MIB else "missed",
            }
        )

    chosen = concurrency
    if len(concurrency):
        chosen = concurrency[concurrency["executor"] == CONCURRENCY_TARGET_VARIANT]
    for _, row in chosen.iterrows():
        rows.append(
            {
                "target": f"concurrent run < {CONCURRENCY_TARGET} of one-at-a-time",
                "workload": row["workload"],
                "measured": f"{row['ratio median']:.2f}",
                "result": "met" if row["ratio median"] < CONCURRENCY_TARGET else "missed",
            }
        )
    return pd.DataFrame(rows)


def _markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(not measured)"
    helpers = [column for column in frame.columns if column.endswith(" median")]
    table = frame.drop(columns=helpers).astype(object).where(frame.notna(), NOT_MEASURED)
    return table.to_markdown(index=False)


def plot_scaling(report: Report, candidates: dict[str, int], path: Path) -> None:
    """Plot time per link and whole-run time against the number of candidates into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = report.measurements
    figure, (per_link_axis, total_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    links = frame[(frame["benchmark"].isin(["links_first"])) & (frame["metric"] != "links")]
    counts = frame[(frame["benchmark"] == "links_first") & (frame["metric"] == "links")]
    merged = links.merge(counts, on=["workload", "benchmark", "variant", "repetition"])
    merged["per_link_us"] = merged["value_x"] / merged["value_y"] * 1e6
    merged["candidates"] = merged["workload"].map(candidates)
    for variant, marker in (("pipeline", "o"), ("floor", "s")):
        series = merged[merged["variant"] == variant].groupby("candidates")["per_link_us"]
        per_link_axis.plot(
            series.median().index, series.median().values, marker=marker, label=variant
        )
    sizes = sorted(candidates.values())
    for axis in (per_link_axis, total_axis):
        axis.set_xscale("log")
        axis.set_xticks(sizes, labels=[f"{size:,}" for size in sizes])
        axis.minorticks_off()
    per_link_axis.set(
        xlabel="candidates",
        ylabel="µs per link (median)",
        title="Link creation, first run",
        ylim=(0, None),
    )
    per_link_axis.legend()

    whole = frame[(frame["benchmark"] == "whole_run") & (frame["metric"] == "seconds")].copy()
    whole["candidates"] = whole["workload"].map(candidates)
    medians = whole.groupby("candidates")["value"].median()
    total_axis.plot(medians.index, medians.values, marker="o", label="whole run")
    total_axis.set(
        yscale="log",
        xlabel="candidates",
        ylabel="seconds (median)",
        title="Whole run, zero-latency actor",
    )
    total_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
