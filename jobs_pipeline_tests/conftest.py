"""Shared fixtures: app databases on SQLite and PostgreSQL, and the local Apify server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg2
import pytest
import sqlalchemy as sa

from jobs_pipeline.database import engine as engines

# The PostgreSQL server the tests create their databases on; each test gets its own database.
POSTGRES_ADMIN_DSN = os.environ.get(
    "JOBS_PIPELINE_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_admin() -> psycopg2.extensions.connection:
    try:
        connection = psycopg2.connect(POSTGRES_ADMIN_DSN, connect_timeout=5)
    except psycopg2.OperationalError as error:
        if IN_CI:
            pytest.fail(
                f"PostgreSQL is required in CI but unreachable ({POSTGRES_ADMIN_DSN}): {error}"
            )
        pytest.skip(
            f"PostgreSQL unreachable at {POSTGRES_ADMIN_DSN}; set JOBS_PIPELINE_TEST_POSTGRES"
        )
    connection.autocommit = True
    return connection


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, and drop it afterwards."""
    admin = _postgres_admin()
    name = f"jobs_pipeline_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    dsn = admin.get_dsn_parameters()
    try:
        yield f"postgresql://{dsn.get('user', 'postgres')}@{dsn['host']}:{dsn['port']}/{name}"
    finally:
        engines.dispose_engines()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """Yield the URL of an empty app database of each kind, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        engines.dispose_engines()
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """Yield the URL of an empty PostgreSQL database, for tests that need PostgreSQL itself."""
    with postgres_database() as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    """Return an engine on a migrated, empty app database."""
    engine = engines.get_engine(engines.normalize_url(database_url))
    engines.upgrade(engine)
    return engine


@pytest.fixture
def apify_server() -> Iterator[LocalApifyServer]:  # noqa: F821
    """Yield a running local Apify-compatible server on a free port."""
    from jobs_pipeline.apify.local_server import LocalApifyServer

    with LocalApifyServer() as server:
        yield server


@pytest.fixture
def now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)
