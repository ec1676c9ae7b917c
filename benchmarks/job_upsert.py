"""Job upsert: `store_batch` against one bulk statement writing the same rows.

Both write the batch row, upsert the jobs on `(source, external_id)` and add the batch's
items. The floor does it in one statement over a JSON array, serialised in the timed block
as SQLAlchemy serialises the `raw` column in the pipeline's. `store_batch` also counts the
existing jobs, updates the batch's new and updated counts and the set's outcome.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from benchmarks.postgres import checkpoint
from benchmarks.timing import stopwatch
from jobs_pipeline.apify.normalizer import CanonicalJob
from jobs_pipeline.batches.store import JOB_UPDATE_COLUMNS, BatchRecord, store_batch

DESCRIPTION_BYTES = 5 * 1024
_WORDS = (
    "design build operate services platform data pipeline customers reliable observability "
    "review mentor colleagues cloud testing documentation product teams growth payments "
    "search mobile infrastructure remote hybrid benefits vacation learning budget pension"
).split()
_COLUMNS = (
    "source",
    "external_id",
    "title",
    "company",
    "location",
    "url",
    "posted_at",
    "description",
    "description_truncated",
    "salary_min",
    "salary_max",
    "salary_currency",
    "raw",
)
_UPDATES = ", ".join(f"{name} = excluded.{name}" for name in JOB_UPDATE_COLUMNS)

FLOOR_STATEMENT = f"""
WITH batch AS (
  INSERT INTO job_batches (criteria_set_id, dagster_run_id, status, started_at, finished_at,
                           items_received, items_rejected, jobs_new, jobs_updated, estimated_usd)
  VALUES (%(set_id)s, 'benchmark', 'succeeded', %(now)s, %(now)s, %(count)s, 0, 0, 0, 0)
  RETURNING id
), upserted AS (
  INSERT INTO jobs ({", ".join(_COLUMNS)}, first_seen_at, last_seen_at)
  SELECT {", ".join(_COLUMNS)}, %(now)s, %(now)s
  FROM json_to_recordset(%(rows)s::json) AS t(
    source text, external_id text, title text, company text, location text, url text,
    posted_at timestamptz, description text, description_truncated boolean,
    salary_min integer, salary_max integer, salary_currency text, raw json)
  ON CONFLICT (source, external_id) DO UPDATE SET {_UPDATES}
  RETURNING id
)
INSERT INTO job_batch_items (batch_id, job_id)
SELECT batch.id, upserted.id FROM batch, upserted
ON CONFLICT DO NOTHING
"""


def make_jobs(count: int, seed: int, now: datetime) -> list[CanonicalJob]:
    """Return `count` distinct jobs with 5 KiB descriptions, also kept in `raw` as actors do."""
    rng = random.Random(seed)
    jobs = []
    for index in range(count):
        words = []
        while sum(len(word) + 1 for word in words) < DESCRIPTION_BYTES:
            words.append(rng.choice(_WORDS))
        description = " ".join(words)[:DESCRIPTION_BYTES]
        title = f"{rng.choice(_WORDS).title()} Engineer {index}"
        url = f"https://jobs.example/view/{seed}-{index}"
        salary = rng.randrange(40_000, 120_000, 1_000)
        raw = {"id": f"bench-{index}", "title": title, "jobUrl": url, "description": description}
        jobs.append(
            CanonicalJob(
                source="linkedin",
                external_id=f"bench-{index}",
                title=title,
                company=f"Company {index % 97}",
                location="Berlin, Berlin, Germany",
                url=url,
                posted_at=now - timedelta(hours=index % 72),
                description=description,
                salary_min=salary,
                salary_max=salary + 20_000,
                salary_currency="EUR",
                raw=raw,
            )
        )
    return jobs


def create_set(engine: sa.Engine, now: datetime) -> int:
    """Insert the criteria set the batches belong to and return its id."""
    with engine.begin() as connection:
        return connection.exec_driver_sql(
            "INSERT INTO criteria_sets (set_key, source, canonical, created_at, "
            "consecutive_failures, retry_requested) "
            "VALUES ('benchmark', 'linkedin', '{}', %(now)s, 0, false) RETURNING id",
            {"now": now},
        ).scalar_one()


def clear_jobs(engine: sa.Engine) -> None:
    """Delete every job, batch and batch item, then checkpoint."""
    with engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE jobs, job_batches, job_batch_items CASCADE")
    checkpoint(engine)


def run_pipeline(engine: sa.Engine, set_id: int, jobs: list[CanonicalJob]) -> float:
    """Store the jobs as one batch with `store_batch` and return the seconds it took."""
    now = datetime.now(UTC)
    record = BatchRecord(
        criteria_set_id=set_id,
        dagster_run_id="benchmark",
        status="succeeded",
        apify_run_id=None,
        dataset_id=None,
        started_at=now,
        finished_at=now,
        items_received=len(jobs),
        items_rejected=0,
        estimated_usd=0.0,
        rejected_by_reason=None,
        actual_usd=None,
        compute_units=None,
    )
    with stopwatch() as elapsed:
        store_batch(engine, record, jobs)
    return elapsed[0]


def run_floor(engine: sa.Engine, set_id: int, jobs: list[CanonicalJob]) -> float:
    """Store the jobs as one batch in one statement and return the seconds it took."""
    now = datetime.now(UTC)
    with stopwatch() as elapsed:
        rows = json.dumps([_json_row(job) for job in jobs], ensure_ascii=False)
        parameters = {"set_id": set_id, "now": now, "count": len(jobs), "rows": rows}
        with engine.begin() as connection:
            connection.exec_driver_sql(FLOOR_STATEMENT, parameters)
    return elapsed[0]


def _json_row(job: CanonicalJob) -> dict:
    row = {name: getattr(job, name) for name in _COLUMNS}
    row["posted_at"] = job.posted_at.isoformat() if job.posted_at else None
    return row
