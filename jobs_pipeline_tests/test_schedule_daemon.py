"""The schedule as the daemon runs it, on a frozen clock.

These tests use Dagster's own scheduler test helpers (`dagster._core.test_utils`), which are
internal but stable within the pinned Dagster release.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster._core.test_utils import (
    create_test_daemon_workspace_context,
    freeze_time,
    instance_for_test,
)
from dagster._core.workspace.load_target import ModuleTarget
from dagster._scheduler.scheduler import launch_scheduled_runs

PROJECT_ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
# The same run queue and catch-up settings as dagster.yaml, so runs queue instead of running.
INSTANCE_SETTINGS = {
    "run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"},
    "scheduler": {
        "module": "dagster._core.scheduler",
        "class": "DagsterDaemonScheduler",
        "config": {"max_catchup_runs": 1},
    },
}


@pytest.fixture
def instance(monkeypatch, tmp_path):
    for name in ("INGEST_CRON", "INGEST_TIMEZONE", "APP_DATABASE_URL", "APIFY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JOBS_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    with instance_for_test(overrides=INSTANCE_SETTINGS) as test_instance:
        yield test_instance


@contextmanager
def daemon_at(instance, moment: datetime) -> Iterator[None]:
    """Run one scheduler iteration at a frozen time, with the code location loaded fresh."""
    target = ModuleTarget(
        module_name="jobs_pipeline",
        attribute=None,
        working_directory=str(PROJECT_ROOT),
        location_name="jobs_pipeline",
    )
    with freeze_time(moment):
        with create_test_daemon_workspace_context(target, instance) as context:
            list(
                launch_scheduled_runs(
                    context,
                    logging.getLogger("jobs_pipeline_tests.scheduler"),
                    moment,
                    {},
                    max_catchup_runs=instance.scheduler.max_catchup_runs,
                )
            )
            yield


def run_count(instance) -> int:
    return len(instance.get_runs(filters=None))


def test_one_catch_up_run_after_downtime(instance):
    with daemon_at(instance, START):
        assert run_count(instance) == 0
    with daemon_at(instance, START + timedelta(hours=4)):
        assert run_count(instance) == 1

    # The daemon was down for 16 hours, across four ticks.
    with daemon_at(instance, START + timedelta(hours=20)):
        assert run_count(instance) == 2


def test_changed_cron_starts_no_extra_run(instance, monkeypatch):
    with daemon_at(instance, START):
        pass
    with daemon_at(instance, START + timedelta(hours=4)):
        assert run_count(instance) == 1

    monkeypatch.setenv("INGEST_CRON", "0 */2 * * *")
    with daemon_at(instance, START + timedelta(hours=4, minutes=20)):
        assert run_count(instance) == 1
    with daemon_at(instance, START + timedelta(hours=5, minutes=40)):
        assert run_count(instance) == 2
