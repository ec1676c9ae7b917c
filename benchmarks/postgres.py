"""Benchmark databases on the local PostgreSQL server: create, clone from a template, drop."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import sqlalchemy as sa

from jobs_pipeline.database import engine as engines

DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
ADMIN_DSN_ENV = "JOBS_PIPELINE_BENCH_POSTGRES"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class BenchDatabases:
    """The databases of one benchmark run, all named `bench_<pid>_<label>` and dropped at exit.

    Every statement goes to the server in the admin DSN, which must be on this machine.
    """

    def __init__(self, admin_dsn: str | None = None) -> None:
        self.admin_dsn = admin_dsn or os.environ.get(ADMIN_DSN_ENV) or DEFAULT_ADMIN_DSN
        self._prefix = f"bench_{os.getpid()}_"
        self._created: list[str] = []
        self._admin = psycopg2.connect(self.admin_dsn, connect_timeout=5)
        self._admin.autocommit = True
        parameters = self._admin.get_dsn_parameters()
        self._host = parameters.get("host", "127.0.0.1")
        self._port = parameters.get("port", "5432")
        self._user = parameters.get("user", "postgres")

    def name(self, label: str) -> str:
        """Return the database name for a label, checked to be a plain SQL identifier."""
        name = self._prefix + label
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid benchmark database label {label!r}: use a-z, 0-9 and _")
        return name

    def url(self, label: str) -> str:
        """Return the SQLAlchemy URL of the labelled database."""
        return f"postgresql://{self._user}@{self._host}:{self._port}/{self.name(label)}"

    def engine(self, label: str) -> sa.Engine:
        """Return the pipeline's own cached engine for the labelled database."""
        return engines.get_engine(engines.normalize_url(self.url(label)))

    def create(self, label: str, *, template: str | None = None) -> str:
        """Create an empty database, or a copy of the labelled template, and return its URL."""
        name = self.name(label)
        self.drop(label)
        clause = f' TEMPLATE "{self.name(template)}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        self._created.append(name)
        return self.url(label)

    def drop(self, label: str) -> None:
        """Drop the labelled database, closing this process's pooled connections to it first."""
        name = self.name(label)
        engines.dispose_engines()
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._created:
            self._created.remove(name)

    def execute(self, statement: str) -> None:
        """Run one statement on the admin connection, outside a transaction."""
        with self._admin.cursor() as cursor:
            cursor.execute(statement)

    def server_facts(self) -> dict[str, str]:
        """Return the server version and the settings that shape write-heavy timings."""
        facts = {}
        with self._admin.cursor() as cursor:
            cursor.execute("SHOW server_version")
            facts["server_version"] = cursor.fetchone()[0]
            for setting in ("shared_buffers", "work_mem", "max_wal_size", "synchronous_commit"):
                cursor.execute(f"SHOW {setting}")
                facts[setting] = cursor.fetchone()[0]
        return facts

    def close(self) -> None:
        """Drop every database this run created and close the admin connection."""
        for name in list(reversed(self._created)):
            self.drop(name.removeprefix(self._prefix))
        self._admin.close()


@contextmanager
def bench_databases(admin_dsn: str | None = None) -> Iterator[BenchDatabases]:
    """Yield the run's databases and drop them all when the block ends, also on errors."""
    databases = BenchDatabases(admin_dsn)
    try:
        yield databases
    finally:
        databases.close()


def checkpoint(engine: sa.Engine) -> None:
    """Flush dirty buffers, so a timed write does not pay for the previous one's checkpoint."""
    with engine.connect() as connection:
        connection.exec_driver_sql("CHECKPOINT")
