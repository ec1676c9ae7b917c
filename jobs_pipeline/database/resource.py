"""The app database as a Dagster resource."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from jobs_pipeline.database import engine as engines


class AppDatabaseResource(dg.ConfigurableResource):
    """The product's app database: PostgreSQL in production, an embedded SQLite file locally.

    With no `url`, the embedded SQLite file under the local data folder is used and migrated
    automatically, because it belongs to this pipeline alone. A configured database is never
    migrated by a run: `jobs-pipeline db upgrade` does that on purpose.
    """

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the app database (APP_DATABASE_URL). Empty: local SQLite.",
    )
    pool_size: int = Field(
        default=10,
        description="Connections kept per process; at least the number of parallel scrape steps.",
    )

    @property
    def is_embedded(self) -> bool:
        """Return True when the embedded local SQLite database is used."""
        return not (self.url and self.url.strip())

    def get_engine(self) -> sa.Engine:
        """Return this process's engine for the configured database."""
        url = engines.default_sqlite_url() if self.is_embedded else self.url
        return engines.get_engine(engines.normalize_url(url), pool_size=self.pool_size)

    def prepare_schema(self, log: dg.DagsterLogManager | None = None) -> sa.Engine:
        """Return the engine after making sure the schema is at the newest revision.

        Raises:
            SchemaOutOfDateError: for a configured database that is behind, naming the command.
        """
        engine = self.get_engine()
        if self.is_embedded and engines.current_revision(engine) != engines.head_revision():
            if log:
                log.info("Upgrading the embedded app database %s", engines.safe_url(engine.url))
            engines.upgrade(engine)
        engines.check_schema(engine)
        return engine
