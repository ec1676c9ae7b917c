"""The benchmarks at the tiny size, end to end: every report row is there with positive numbers.

The numbers of the tiny size measure nothing useful. This test only proves that the
benchmark code still runs against the pipeline as it is.
"""

from __future__ import annotations

import psycopg2
import pytest

from benchmarks.report import PAIRED_BENCHMARKS
from benchmarks.run import TINY, run_benchmarks, write_outputs
from jobs_pipeline_tests.conftest import IN_CI, POSTGRES_ADMIN_DSN


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    """Run the tiny benchmarks once and write their outputs."""
    try:
        psycopg2.connect(POSTGRES_ADMIN_DSN, connect_timeout=5).close()
    except psycopg2.OperationalError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_DSN}")
    output_dir = tmp_path_factory.mktemp("benchmarks")
    result = run_benchmarks(
        "tiny", 1, admin_dsn=POSTGRES_ADMIN_DSN, measurements_path=output_dir / "m.csv"
    )
    markdown = write_outputs(result, "python -m benchmarks --size tiny", output_dir, None)
    return result, markdown


def test_paired_rows_present_and_positive(outcome):
    report = outcome[0].report
    for benchmark, title, _ in PAIRED_BENCHMARKS:
        rows = report.ratios[report.ratios["measurement"] == title]
        assert len(rows) == 1, title
        assert rows["ratio median"].iloc[0] > 0, title
        seconds = report.measurements[
            (report.measurements["benchmark"] == benchmark)
            & (report.measurements["metric"] == "seconds")
        ]
        assert set(seconds["variant"]) == {"pipeline", "floor"}, title
        assert (seconds["value"] > 0).all(), title


def test_selection_steps_present(outcome):
    steps = outcome[0].report.selection_steps
    assert list(steps["run"]) == ["selection_first", "selection_unchanged"]
    assert (steps[["key", "count", "load", "due"]] > 0).all().all()


def test_whole_run_row_positive(outcome):
    [row] = outcome[0].report.whole_runs.to_dict("records")
    assert row["workload"] == TINY.label
    assert row["wall s median"] > 0
    assert row["peak RSS MiB (max)"] > 0
    assert row["links"] > 0
    assert row["µs per link median"] > 0


def test_concurrent_run_row_positive(outcome):
    [row] = outcome[0].report.concurrency.to_dict("records")
    assert row["ratio median"] > 0
    assert row["most actor runs at once"] >= 1
    assert row["peak RSS MiB, largest process"] > 0


def test_credit_row_positive(outcome):
    [row] = outcome[0].report.credit.to_dict("records")
    numbers = {name: value for name, value in row.items() if name != "workload"}
    assert all(value > 0 for value in numbers.values()), numbers


def test_targets_and_markdown_complete(outcome):
    result, markdown = outcome
    targets = result.report.targets
    assert len(targets) == len(PAIRED_BENCHMARKS) + 2
    assert set(targets["result"]) <= {"met", "missed"}
    for heading in ("Pipeline against its floor", "Whole run", "Concurrent run", "Targets"):
        assert heading in markdown
