"""Engines for the app database: URL resolution, driver choice and schema version checks."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

APP_DATABASE_URL_ENV = "APP_DATABASE_URL"
DATA_DIR_ENV = "JOBS_PIPELINE_DATA_DIR"
UPGRADE_COMMAND = "jobs-pipeline db upgrade"
SUPPORTED_BACKENDS = ("postgresql", "sqlite")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


class SchemaOutOfDateError(RuntimeError):
    """The app database is not at the newest migration."""


def data_dir() -> Path:
    """Return the local data folder: `JOBS_PIPELINE_DATA_DIR`, else `data/` in the working dir."""
    return Path(os.environ.get(DATA_DIR_ENV) or "data").resolve()


def default_sqlite_url() -> str:
    """Return the URL of the embedded SQLite app database inside the local data folder."""
    return f"sqlite:///{data_dir() / 'app.db'}"


def configured_url() -> str | None:
    """Return `APP_DATABASE_URL` if it is set and not blank."""
    value = os.environ.get(APP_DATABASE_URL_ENV, "").strip()
    return value or None


def normalize_url(url: str) -> sa.URL:
    """Parse a database URL and pin the PostgreSQL driver to psycopg2.

    SQLAlchemy 2.1 picks psycopg 3 for a bare `postgresql://` URL, but the project installs
    psycopg2 (which dagster-postgres uses too), so a bare URL would fail to import a driver.

    Raises:
        ValueError: if the URL cannot be parsed. The message never contains the password.
    """
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise ValueError(
            f"{APP_DATABASE_URL_ENV} is not a valid SQLAlchemy URL: use a form such as "
            "postgresql://user:password@host:5432/dbname or sqlite:////absolute/path/app.db"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"{APP_DATABASE_URL_ENV} names the database {parsed.get_backend_name()!r}, which is "
            "not supported: use PostgreSQL (postgresql://...) or SQLite (sqlite:///...)"
        )
    return parsed


def safe_url(url: sa.URL) -> str:
    """Render a URL for logs, with the password masked."""
    return url.render_as_string(hide_password=True)


def get_engine(url: sa.URL, *, pool_size: int = 5) -> sa.Engine:
    """Return this process's engine for the URL, creating it on first use."""
    key = url.render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(url, pool_size=pool_size)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests and benchmarks call it)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _create_engine(url: sa.URL, *, pool_size: int) -> sa.Engine:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # Parallel step processes write to one file: wait for the lock instead of failing.
        engine = sa.create_engine(url, connect_args={"timeout": 60})
        sa.event.listen(engine, "connect", _configure_sqlite_connection)
        sa.event.listen(engine, "begin", _begin_immediate)
        return engine
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def _configure_sqlite_connection(dbapi_connection, _record) -> None:  # noqa: ANN001
    # Let SQLAlchemy issue BEGIN itself, so every transaction takes the write lock up front
    # and two processes do not deadlock upgrading a read lock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _begin_immediate(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(engine: sa.Engine) -> Config:
    """Build an Alembic configuration that migrates through the given engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    """Return the newest migration revision shipped with this package."""
    script = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
    return script.get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """Return the migration revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: sa.Engine) -> None:
    """Create or upgrade the app schema to the newest revision."""
    command.upgrade(alembic_config(engine), "head")


def check_schema(engine: sa.Engine) -> None:
    """Raise `SchemaOutOfDateError` unless the database is at the newest revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDateError(
            f"The app database at {safe_url(engine.url)} is at schema revision "
            f"{current or 'none (empty database)'}, but this code needs {head}. "
            f"Run `{UPGRADE_COMMAND}` with the same {APP_DATABASE_URL_ENV}, then run the job again."
        )
