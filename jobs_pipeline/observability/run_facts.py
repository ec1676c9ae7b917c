"""The facts of each ingestion run: the `ingestion_runs` row and its Dagster metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from jobs_pipeline.database.models import IngestionRun
from jobs_pipeline.database.upsert import upsert

COUNT_COLUMNS = (
    "criteria_eligible",
    "criteria_rejected",
    "sets_eligible",
    "sets_due",
    "sets_selected",
    "sets_deferred",
    "sets_succeeded",
    "sets_failed",
    "jobs_received",
    "jobs_new",
    "jobs_updated",
    "items_rejected",
    "links_created",
)
MONEY_COLUMNS = ("estimated_usd", "actual_usd")


def ingestion_run_id(run: dg.DagsterRun) -> str:
    """Return the id that keys the run's `ingestion_runs` row.

    A re-execution from failure is a new Dagster run that shares the original's root run id,
    so its facts complete the original row instead of starting an empty one.
    """
    return run.root_run_id or run.run_id


def start_run(engine: sa.Engine, dagster_run_id: str, started_at: datetime) -> None:
    """Create the run's row, or reset it when the run is re-executed."""
    with engine.begin() as connection:
        statement = upsert(
            connection, IngestionRun, ["dagster_run_id"], ["status", "started_at", "finished_at"]
        )
        connection.execute(
            statement.values(
                dagster_run_id=dagster_run_id,
                status="running",
                started_at=started_at,
                finished_at=None,
            )
        )


def update_run(engine: sa.Engine, dagster_run_id: str, **values: Any) -> None:
    """Set facts on the run's row."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(IngestionRun)
            .where(IngestionRun.dagster_run_id == dagster_run_id)
            .values(**values)
        )


def load_run(engine: sa.Engine, dagster_run_id: str) -> IngestionRun | None:
    """Return the run's row, detached from any session."""
    with sa.orm.Session(engine, expire_on_commit=False) as session:
        return session.scalar(
            sa.select(IngestionRun).where(IngestionRun.dagster_run_id == dagster_run_id)
        )


def run_metadata(run: IngestionRun) -> dict[str, dg.MetadataValue]:
    """Return the run's facts as typed Dagster metadata, which the UI plots over runs."""
    metadata: dict[str, dg.MetadataValue] = {
        "started_at": dg.MetadataValue.timestamp(run.started_at),
        "status": dg.MetadataValue.text(run.status),
    }
    if run.finished_at is not None:
        metadata["finished_at"] = dg.MetadataValue.timestamp(run.finished_at)
        metadata["duration_seconds"] = dg.MetadataValue.float(
            (run.finished_at - run.started_at).total_seconds()
        )
    for name in COUNT_COLUMNS:
        metadata[name] = dg.MetadataValue.int(getattr(run, name))
    for name in MONEY_COLUMNS:
        metadata[name] = dg.MetadataValue.float(float(getattr(run, name) or 0.0))
    errors = run.errors or []
    metadata["errors"] = dg.MetadataValue.int(len(errors))
    metadata["summary"] = dg.MetadataValue.md(summary_markdown(run))
    if errors:
        metadata["error_details"] = dg.MetadataValue.md(
            pd.DataFrame(errors).to_markdown(index=False)
        )
    return metadata


def summary_markdown(run: IngestionRun) -> str:
    """Return a short table of the run's facts for people reading the UI."""
    rows = [("status", run.status), ("started at", run.started_at.isoformat())]
    if run.finished_at is not None:
        rows.append(("finished at", run.finished_at.isoformat()))
    rows += [(name.replace("_", " "), getattr(run, name)) for name in COUNT_COLUMNS]
    rows += [(name.replace("_", " "), f"{getattr(run, name) or 0:.4f}") for name in MONEY_COLUMNS]
    return pd.DataFrame(rows, columns=["fact", "value"]).to_markdown(index=False)
