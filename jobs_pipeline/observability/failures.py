"""`ingest_failure_sensor`: a clear summary of every failed ingest_jobs run."""

import importlib
import os
from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.database.models import IngestionRun
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.jobs import ingest_jobs
from jobs_pipeline.observability.run_facts import ingestion_run_id

NOTIFIER_ENV = "INGEST_FAILURE_NOTIFIER"
MAX_ERROR_LINE = 300


def failure_summary(context: dg.RunFailureSensorContext) -> str:
    """Return a few lines naming the run, each failed step and the first line of its error."""
    run = context.dagster_run
    lines = [f"ingest_jobs run {run.run_id} failed: {context.failure_event.message}"]
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        # Dagster wraps the step's own exception; its innermost cause names the real problem.
        while error is not None and error.cause is not None:
            error = error.cause
        message = error.message.strip().splitlines()[0] if error and error.message else "no message"
        lines.append(f"- step {event.step_key}: {message[:MAX_ERROR_LINE]}")
    trigger = run.tags.get("jobs_pipeline/trigger") or run.tags.get("dagster/schedule_name")
    if trigger:
        lines.append(f"Started by: {trigger}")
    return "\n".join(lines)


def load_notifier() -> Callable[[str], None] | None:
    """Return the callable named by INGEST_FAILURE_NOTIFIER ("package.module:function")."""
    target = os.environ.get(NOTIFIER_ENV, "").strip()
    if not target:
        return None
    module_name, _, function_name = target.partition(":")
    if not function_name:
        raise ValueError(
            f"{NOTIFIER_ENV}={target!r} is invalid: use the form package.module:function"
        )
    return getattr(importlib.import_module(module_name), function_name)


@dg.run_failure_sensor(
    name="ingest_failure_sensor",
    monitored_jobs=[ingest_jobs],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs a summary of each failed ingest_jobs run, marks its ingestion_runs row "
    "failed and passes the summary to the notifier named by INGEST_FAILURE_NOTIFIER.",
)
def ingest_failure_sensor(
    context: dg.RunFailureSensorContext, app_database: AppDatabaseResource
) -> None:
    """Report a failed ingest_jobs run to the log, the database and the optional notifier."""
    summary = failure_summary(context)
    context.log.error(summary)
    # The run may have failed before it wrote its row, or on a database that is down.
    run_id = ingestion_run_id(context.dagster_run)
    try:
        with app_database.get_engine().begin() as connection:
            connection.execute(
                sa.update(IngestionRun)
                # A re-execution may already have completed the row: leave that result alone.
                .where(IngestionRun.dagster_run_id == run_id, IngestionRun.status == "running")
                .values(status="failed", finished_at=datetime.now(UTC))
            )
    except sa.exc.SQLAlchemyError as error:
        context.log.warning("Could not mark ingestion run %s failed: %s", run_id, error)
    notifier = load_notifier()
    if notifier is not None:
        notifier(summary)
