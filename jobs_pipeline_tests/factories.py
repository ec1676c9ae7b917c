"""Rows of the web app's tables, written the way the web app writes them."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from jobs_pipeline.database.models import JobCriteria, User


def add_user(engine: sa.Engine, *, active_hours_ago: float, now: datetime) -> int:
    """Insert a candidate last active the given number of hours ago; return its id."""
    with engine.begin() as connection:
        return connection.execute(
            sa.insert(User)
            .values(
                last_active_at=now - timedelta(hours=active_hours_ago),
                created_at=now - timedelta(days=60),
            )
            .returning(User.id)
        ).scalar_one()


def add_criteria(
    engine: sa.Engine,
    user_id: int,
    keywords: str,
    *,
    now: datetime,
    location: str | None = "Berlin",
    remote: str = "any",
    source: str = "linkedin",
    is_active: bool = True,
    min_salary: int | None = None,
    posted_within_days: int | None = None,
) -> int:
    """Insert one criteria row for a candidate; return its id."""
    with engine.begin() as connection:
        return connection.execute(
            sa.insert(JobCriteria)
            .values(
                user_id=user_id,
                keywords=keywords,
                location=location,
                remote=remote,
                source=source,
                is_active=is_active,
                min_salary=min_salary,
                posted_within_days=posted_within_days,
                created_at=now,
                updated_at=now,
            )
            .returning(JobCriteria.id)
        ).scalar_one()


def add_candidate(
    engine: sa.Engine, keywords: str, *, now: datetime, active_hours_ago: float = 1, **criteria
) -> tuple[int, int]:
    """Insert a candidate with one criteria row; return (user id, criteria id)."""
    user_id = add_user(engine, active_hours_ago=active_hours_ago, now=now)
    return user_id, add_criteria(engine, user_id, keywords, now=now, **criteria)
