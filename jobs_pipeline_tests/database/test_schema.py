from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jobs_pipeline.database import engine as engines
from jobs_pipeline.database.models import Base, JobCriteria, User


def test_migrations_match_models(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_twice_is_noop(engine):
    engines.upgrade(engine)
    assert engines.current_revision(engine) == engines.head_revision()


def test_schema_check_names_upgrade_command(database_url):
    empty = engines.get_engine(engines.normalize_url(database_url))
    with pytest.raises(engines.SchemaOutOfDateError, match="jobs-pipeline db upgrade"):
        engines.check_schema(empty)


def test_web_app_minimal_insert_gets_defaults(engine):
    with engine.begin() as connection:
        user_id = connection.execute(
            sa.text("INSERT INTO users (last_active_at) VALUES (CURRENT_TIMESTAMP) RETURNING id")
        ).scalar_one()
        connection.execute(
            sa.text("INSERT INTO job_criteria (user_id, keywords) VALUES (:user, 'python')"),
            {"user": user_id},
        )
    with sa.orm.Session(engine) as session:
        criteria = session.scalars(sa.select(JobCriteria)).one()
    assert criteria.is_active is True
    assert criteria.remote == "any"
    assert criteria.source == "linkedin"
    assert criteria.created_at.tzinfo is not None


def test_timestamps_round_trip_as_utc(engine):
    berlin_time = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as connection:
        user_id = connection.execute(
            sa.insert(User).values(last_active_at=berlin_time).returning(User.id)
        ).scalar_one()
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(User.last_active_at).where(User.id == user_id)
        ).scalar_one()
    assert stored == berlin_time
    assert stored.utcoffset() == timedelta(0)
    assert stored.tzinfo == UTC


def test_naive_datetime_rejected(engine):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with engine.begin() as connection:
            connection.execute(sa.insert(User).values(last_active_at=datetime(2026, 1, 1)))


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@localhost/db", "postgresql+psycopg2"),
        ("postgres://u@localhost/db", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@localhost/db", "postgresql+psycopg2"),
        ("sqlite:////tmp/x.db", "sqlite"),
    ],
)
def test_postgres_driver_pinned(url, driver):
    assert engines.normalize_url(url).drivername == driver


def test_invalid_url_message_hides_value():
    with pytest.raises(ValueError, match="not a valid SQLAlchemy URL") as caught:
        engines.normalize_url("hunter2 is my password")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u@host:notaport/db", "not a valid SQLAlchemy URL"),
        ("mysql://u@127.0.0.1/db", "'mysql', which is not supported"),
    ],
)
def test_unusable_url_named(url, message):
    with pytest.raises(ValueError, match=message):
        engines.normalize_url(url)


def test_server_default_time_compares_with_bound_values(engine):
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (last_active_at) VALUES (NULL)"))
    with engine.connect() as connection:
        created = connection.execute(sa.select(User.created_at)).scalar_one()
        matches = connection.execute(
            sa.select(sa.func.count()).select_from(User).where(User.created_at == created)
        ).scalar_one()
    assert matches == 1
