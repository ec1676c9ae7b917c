"""Demo candidates for the embedded database, so a first run has something to refresh."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from jobs_pipeline.database.models import JobCriteria, User

# (hours since last activity, [(keywords, location, remote, source, min_salary), ...])
DEMO_CANDIDATES: tuple[tuple[float, list[tuple[str, str | None, str, str, int | None]]], ...] = (
    (1, [("Python developer", "Berlin", "any", "linkedin", None)]),
    (2, [("python  Developer", "berlin", "any", "linkedin", 70000)]),
    (3, [("Data engineer", "Zürich", "hybrid", "linkedin", None)]),
    (5, [("data engineer", "zürich", "hybrid", "linkedin", None)]),
    (8, [("Frontend developer, React", "Remote", "remote", "linkedin", None)]),
    (20, [("react, frontend developer", "remote", "remote", "linkedin", None)]),
    (30, [("DevOps engineer", "München", "onsite", "indeed", None)]),
    (50, [("Machine learning engineer", "東京", "any", "linkedin", None)]),
    (100, [("Product manager", "Amsterdam", "any", "indeed", None)]),
    (130, [("Backend engineer, Go", "Lisbon", "remote", "linkedin", None)]),
    # Inactive for longer than the default 7-day window: paused, never scraped.
    (240, [("Site reliability engineer", "Dublin", "any", "linkedin", None)]),
    # Unsearchable criteria: skipped with a logged reason, the run goes on.
    (4, [("   ", "Berlin", "any", "linkedin", None), ("Go developer", None, "any", "xing", None)]),
)


def seed_demo_candidates(engine: sa.Engine, now: datetime) -> int:
    """Insert the demo candidates and criteria into an empty database; return users added."""
    with engine.begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(User)).scalar_one():
            return 0
        for index, (hours_ago, criteria) in enumerate(DEMO_CANDIDATES, start=1):
            user_id = connection.execute(
                sa.insert(User)
                .values(
                    email=f"candidate{index}@example.com",
                    last_active_at=now - timedelta(hours=hours_ago),
                    created_at=now - timedelta(days=30),
                )
                .returning(User.id)
            ).scalar_one()
            connection.execute(
                sa.insert(JobCriteria),
                [
                    {
                        "user_id": user_id,
                        "is_active": True,
                        "keywords": keywords,
                        "location": location,
                        "remote": remote,
                        "source": source,
                        "min_salary": min_salary,
                        "created_at": now - timedelta(days=10),
                        "updated_at": now - timedelta(days=10),
                    }
                    for keywords, location, remote, source, min_salary in criteria
                ],
            )
    return len(DEMO_CANDIDATES)
