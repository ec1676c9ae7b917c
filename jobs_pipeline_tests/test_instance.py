"""The two Dagster instance files load, and the schedule ticks as operators expect."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from jobs_pipeline import defs

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def load_instance(tmp_path: Path, config: Path) -> dg.DagsterInstance:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(config, home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def test_local_instance_limits(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with load_instance(tmp_path, PROJECT_ROOT / "dagster.yaml") as instance:
        assert instance.scheduler.max_catchup_runs == 1
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "jobs_pipeline/ingest", "limit": 1} in limits
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 5


def test_production_instance_on_postgres(tmp_path, postgres_url, monkeypatch):
    driver_url = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", driver_url)
    with load_instance(tmp_path, PROJECT_ROOT / "deploy" / "dagster.yaml") as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "jobs_pipeline/ingest", "limit": 1} in limits
        assert instance.run_retries_enabled
        assert instance.scheduler.max_catchup_runs == 1
    assert "PASSWORD" not in (PROJECT_ROOT / "deploy" / "dagster.yaml").read_text().split("#")[0]


def ticks_per_day(cron: str, timezone: str, start: datetime, days: int) -> Counter:
    ticks = cron_string_iterator(start.timestamp(), cron, timezone)
    counts: Counter = Counter()
    end = start + timedelta(days=days)
    for tick in ticks:
        if tick >= end:
            break
        counts[tick.astimezone(UTC).date() if timezone == "UTC" else tick.date()] += 1
    return counts


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize(
    "start", [datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 10, 24, tzinfo=UTC)]
)
def test_six_ticks_a_day_across_dst(timezone, start):
    schedule = defs.resolve_schedule_def("ingest_jobs_schedule")
    counts = ticks_per_day(schedule.cron_schedule, timezone, start, days=30)
    whole_days = sorted(counts)[1:-1]  # the first and last local days are cut by the window
    assert len(whole_days) >= 28
    assert {counts[day] for day in whole_days} == {6}
