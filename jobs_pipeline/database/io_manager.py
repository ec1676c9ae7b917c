"""An IO manager that keeps step summaries in the app database."""

import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.database.models import StepOutput
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.database.upsert import upsert

STEP_OUTPUT_RETENTION = timedelta(days=14)


class AppDatabaseIOManager(dg.ConfigurableIOManager):
    """Stores each step's small summary in `step_outputs`, keyed by run, step and output.

    Dagster's default IO manager writes asset outputs to one file per asset, which overlapping
    runs overwrite, and which steps on other hosts cannot read. Keys here include the run id,
    and every step already reaches the app database. Re-execution reads the parent run's rows.
    """

    app_database: dg.ResourceDependency[AppDatabaseResource]

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Pickle the output into its row, replacing an earlier attempt's."""
        now = datetime.now(UTC)
        engine = self.app_database.get_engine()
        with engine.begin() as connection:
            statement = upsert(connection, StepOutput, ["key"], ["payload", "created_at"])
            connection.execute(
                statement.values(
                    key=_key(context.get_identifier()),
                    payload=pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL),
                    created_at=now,
                )
            )
            # Old rows are only needed to re-execute old runs; two weeks is plenty.
            connection.execute(
                sa.delete(StepOutput).where(StepOutput.created_at < now - STEP_OUTPUT_RETENTION)
            )

    def load_input(self, context: dg.InputContext) -> Any:
        """Return the upstream step's output, from this run or the run it re-executes."""
        key = _key(context.upstream_output.get_identifier())
        with self.app_database.get_engine().connect() as connection:
            payload = connection.execute(
                sa.select(StepOutput.payload).where(StepOutput.key == key)
            ).scalar()
        if payload is None:
            raise dg.Failure(
                f"No stored output {key!r}: it is older than {STEP_OUTPUT_RETENTION.days} days "
                "or its step never succeeded. Launch a new run instead of re-executing this one."
            )
        return pickle.loads(payload)


def _key(identifier: list[str] | tuple[str, ...]) -> str:
    return "/".join(identifier)
