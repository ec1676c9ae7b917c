"""Seeded workloads: candidates and their job-search criteria, loaded with COPY.

Criteria pick their search from a fixed catalogue of canonical searches with a Zipf-Mandelbrot
popularity, p(rank) proportional to (rank + 20) ** -1.5 over 120,000 ranks. At 400,000
criteria that gives about 20,000 distinct searches: the first ten shared by thousands of
criteria each, and more than half of the rest used by one criteria alone. Keywords are
stored already canonical except for letter case and surrounding spaces, so
`lower(trim(keywords))` finds the same sets as the pipeline's NFKC and case-folding keys.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from jobs_pipeline.database import engine as engines

POPULARITY_EXPONENT = 1.5
POPULARITY_OFFSET = 20
SEARCH_RANKS = 120_000
ACTIVITY_DAYS = 14
PAUSE_AFTER_DAYS = 7
# No candidate was last active in the hours just inside the 7-day cutoff, so the set of
# eligible criteria stays the same for a benchmark run of up to this long.
CUTOFF_MARGIN = timedelta(hours=3)
ACTIVE_SHARE = 0.8
MIN_SALARY_SHARE = 0.1
MIN_SALARIES = (50_000, 80_000)

SENIORITIES = ("", "senior", "junior", "lead", "staff")
TECHNOLOGIES = (
    "python", "java", "golang", "rust", "typescript", "react", "node", "kotlin", "swift",
    "scala", "ruby", "php", "django", "data", "ml", "cloud", "devops", "sre", "security",
    "frontend", "backend", "fullstack", "mobile", "android", "ios", "embedded", "qa", "sql",
    "spark", "kubernetes", "aws", "azure", "gcp", "salesforce", "sap", "unity", "game",
    "blockchain", "analytics", "bi", "etl", "c#", ".net", "c++", "elixir", "clojure",
    "haskell", "perl",
)  # fmt: skip
ROLES = (
    "developer", "engineer", "manager", "analyst", "designer", "scientist", "consultant",
    "architect", "administrator", "specialist", "tester", "intern",
)  # fmt: skip
# Lower-case places with sample postings in the local Apify server, plus None for "anywhere".
LOCATIONS = (
    None, "berlin", "munich", "münchen", "hamburg", "zürich", "zurich", "london", "paris",
    "new york", "san francisco", "tokyo", "東京", "são paulo", "sao paulo", "warsaw",
    "amsterdam", "dubai",
)  # fmt: skip
REMOTE_MODES = ("any", "remote", "hybrid", "onsite")
SOURCES = ("linkedin", "indeed")


@dataclass(frozen=True)
class WorkloadSpec:
    """Size and shape of one workload."""

    label: str
    candidates: int
    criteria: int
    items_per_run: int = 100
    max_sets_per_run: int = 10
    seed: int = 20_260_101

    @property
    def size_label(self) -> str:
        """Return the size for tables, for example "200,000 candidates"."""
        return f"{self.candidates:,} candidates"


@dataclass(frozen=True)
class WorkloadFacts:
    """Counts of a generated workload, computed from the generated arrays."""

    candidates: int
    criteria: int
    distinct_sets: int
    eligible_criteria: int
    eligible_sets: int
    eligible_singleton_sets: int
    top_set_members: tuple[int, ...]
    generated_at: datetime


def scaled(spec: WorkloadSpec, divisor: int) -> WorkloadSpec:
    """Return the workload at 1/divisor of its candidates and criteria, same seed and shape."""
    return WorkloadSpec(
        label=f"{spec.label}_1_{divisor}",
        candidates=spec.candidates // divisor,
        criteria=spec.criteria // divisor,
        items_per_run=spec.items_per_run,
        max_sets_per_run=spec.max_sets_per_run,
        seed=spec.seed,
    )


def load_workload(engine: sa.Engine, spec: WorkloadSpec, now: datetime) -> WorkloadFacts:
    """Create the schema, generate the workload and load it with COPY, then VACUUM ANALYZE."""
    engines.upgrade(engine)
    rng = np.random.default_rng(spec.seed)
    users = _users(rng, spec, now)
    criteria = _criteria(rng, spec, now)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            _copy(cursor, "users", users)
            _copy(cursor, "job_criteria", criteria.drop(columns=["search_rank"]))
            for table in ("users", "job_criteria"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    return _facts(spec, users, criteria, now)


def _users(rng: np.random.Generator, spec: WorkloadSpec, now: datetime) -> pd.DataFrame:
    ages = rng.uniform(0, ACTIVITY_DAYS * 86_400, spec.candidates)
    cutoff = PAUSE_AFTER_DAYS * 86_400
    margin = CUTOFF_MARGIN.total_seconds()
    near_cutoff = (ages > cutoff - margin) & (ages <= cutoff)
    ages[near_cutoff] += margin
    ids = np.arange(1, spec.candidates + 1)
    return pd.DataFrame(
        {
            "id": ids,
            "email": [f"candidate{i}@example.com" for i in ids],
            "last_active_at": pd.Timestamp(now) - pd.to_timedelta(ages, unit="s"),
            "created_at": pd.Timestamp(now - timedelta(days=365)),
        }
    )


def _criteria(rng: np.random.Generator, spec: WorkloadSpec, now: datetime) -> pd.DataFrame:
    catalogue_size = len(SENIORITIES) * len(TECHNOLOGIES) * len(ROLES)
    catalogue_size *= len(LOCATIONS) * len(REMOTE_MODES) * len(SOURCES)
    searches = rng.choice(catalogue_size, size=SEARCH_RANKS, replace=False)
    weights = (np.arange(1, SEARCH_RANKS + 1) + POPULARITY_OFFSET) ** -POPULARITY_EXPONENT
    ranks = rng.choice(SEARCH_RANKS, size=spec.criteria, p=weights / weights.sum())
    search = searches[ranks]
    search, source = np.divmod(search, len(SOURCES))
    search, remote = np.divmod(search, len(REMOTE_MODES))
    search, location = np.divmod(search, len(LOCATIONS))
    search, role = np.divmod(search, len(ROLES))
    seniority, technology = np.divmod(search, len(TECHNOLOGIES))

    keywords = [
        " ".join(word for word in (SENIORITIES[s], TECHNOLOGIES[t], ROLES[r]) if word)
        for s, t, r in zip(seniority, technology, role, strict=True)
    ]
    # 30% title case and 10% with surrounding spaces, which canonicalisation removes.
    spelling = rng.random(spec.criteria)
    keywords = [_respell(text, draw) for text, draw in zip(keywords, spelling, strict=True)]
    min_salary = pd.array(rng.choice(MIN_SALARIES, size=spec.criteria), dtype="Int64")
    min_salary[rng.random(spec.criteria) >= MIN_SALARY_SHARE] = pd.NA
    created = pd.Timestamp(now - timedelta(days=30))
    return pd.DataFrame(
        {
            "id": np.arange(1, spec.criteria + 1),
            "user_id": rng.integers(1, spec.candidates + 1, spec.criteria),
            "is_active": rng.random(spec.criteria) < ACTIVE_SHARE,
            "keywords": keywords,
            "location": [LOCATIONS[i] for i in location],
            "remote": np.array(REMOTE_MODES)[remote],
            "source": np.array(SOURCES)[source],
            "posted_within_days": pd.array([pd.NA] * spec.criteria, dtype="Int64"),
            "min_salary": min_salary,
            "created_at": created,
            "updated_at": created,
            "search_rank": ranks,
        }
    )


def _respell(keywords: str, draw: float) -> str:
    if draw < 0.3:
        return keywords.title()
    if draw < 0.4:
        return f"  {keywords} "
    return keywords


def _copy(cursor, table: str, frame: pd.DataFrame) -> None:  # noqa: ANN001
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
    buffer.seek(0)
    columns = ", ".join(frame.columns)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def _facts(
    spec: WorkloadSpec, users: pd.DataFrame, criteria: pd.DataFrame, now: datetime
) -> WorkloadFacts:
    cutoff = pd.Timestamp(now - timedelta(days=PAUSE_AFTER_DAYS))
    recent = (users["last_active_at"] >= cutoff).to_numpy()
    eligible = criteria["is_active"].to_numpy() & recent[criteria["user_id"].to_numpy() - 1]
    members = criteria.loc[eligible, "search_rank"].value_counts()
    return WorkloadFacts(
        candidates=spec.candidates,
        criteria=spec.criteria,
        distinct_sets=int(criteria["search_rank"].nunique()),
        eligible_criteria=int(eligible.sum()),
        eligible_sets=int(len(members)),
        eligible_singleton_sets=int((members == 1).sum()),
        top_set_members=tuple(int(count) for count in members.iloc[: spec.max_sets_per_run]),
        generated_at=now.astimezone(UTC),
    )
