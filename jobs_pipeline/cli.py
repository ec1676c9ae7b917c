"""The `jobs-pipeline` command: app database administration."""

from __future__ import annotations

import argparse
import sys

import pandas as pd
import sqlalchemy as sa

from jobs_pipeline.database import engine as engines
from jobs_pipeline.database.models import Base, IngestionRun

REPORT_TABLES = ("users", "job_criteria", "criteria_sets", "job_batches", "jobs", "user_jobs")
REPORT_COLUMNS = (
    "dagster_run_id",
    "status",
    "started_at",
    "sets_selected",
    "sets_succeeded",
    "sets_failed",
    "sets_deferred",
    "jobs_received",
    "jobs_new",
    "links_created",
    "estimated_usd",
    "actual_usd",
)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = argparse.ArgumentParser(prog="jobs-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    database = commands.add_parser("db", help="App database schema (Alembic migrations).")
    database_commands = database.add_subparsers(dest="action", required=True)
    database_commands.add_parser(
        "upgrade", help="Create or upgrade the schema of APP_DATABASE_URL (or the local SQLite)."
    )
    database_commands.add_parser("current", help="Print the schema revision of the database.")
    report = commands.add_parser("report", help="Print the latest ingestion runs and row counts.")
    report.add_argument("--runs", type=int, default=5, help="Number of recent runs to show.")
    arguments = parser.parse_args(argv)

    try:
        url = engines.normalize_url(engines.configured_url() or engines.default_sqlite_url())
    except ValueError as error:
        parser.exit(2, f"jobs-pipeline: {error}\n")
    engine = engines.get_engine(url)
    try:
        if arguments.command == "report":
            sys.stdout.write(render_report(engine, arguments.runs) + "\n")
        elif arguments.action == "upgrade":
            engines.upgrade(engine)
            revision = engines.current_revision(engine)
            sys.stdout.write(f"{engines.safe_url(url)} is at schema revision {revision}\n")
        else:
            sys.stdout.write(f"{engines.current_revision(engine) or 'none'}\n")
    except sa.exc.OperationalError as error:
        parser.exit(
            1,
            f"jobs-pipeline: cannot connect to {engines.safe_url(url)}: {error.orig}\n"
            "Check APP_DATABASE_URL and that the database server is running.\n",
        )
    except engines.SchemaOutOfDateError as error:
        parser.exit(1, f"jobs-pipeline: {error}\n")
    return 0


def render_report(engine: sa.Engine, run_count: int) -> str:
    """Return the latest ingestion runs and the row count of each table as text tables."""
    engines.check_schema(engine)
    with engine.connect() as connection:
        counts = [
            (
                name,
                connection.execute(
                    sa.select(sa.func.count()).select_from(Base.metadata.tables[name])
                ).scalar_one(),
            )
            for name in REPORT_TABLES
        ]
        runs = connection.execute(
            sa.select(*(getattr(IngestionRun, name) for name in REPORT_COLUMNS))
            .order_by(IngestionRun.started_at.desc())
            .limit(run_count)
        ).all()
    runs_table = pd.DataFrame(runs, columns=list(REPORT_COLUMNS))
    runs_table["dagster_run_id"] = runs_table["dagster_run_id"].str[:8]
    return "\n\n".join(
        [
            f"App database: {engines.safe_url(engine.url)}",
            pd.DataFrame(counts, columns=["table", "rows"]).to_markdown(index=False),
            "Latest ingestion runs (status: running, succeeded, some_sets_failed or failed; "
            "a run that stays running after its process died was interrupted):",
            runs_table.to_markdown(index=False) if len(runs_table) else "(none yet)",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
