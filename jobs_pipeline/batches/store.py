"""Database writes of the scrape step: leases, pending runs, batches and the job pool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from jobs_pipeline.apify.normalizer import CanonicalJob
from jobs_pipeline.database.models import (
    CriteriaSet,
    CriteriaSetMember,
    Job,
    JobBatch,
    JobBatchItem,
)
from jobs_pipeline.database.upsert import insert_ignore, upsert

# Rows per INSERT statement: 15 parameters a job stays far below SQLite's variable limit.
UPSERT_CHUNK_SIZE = 500
MAX_CRITERIA_IDS_REPORTED = 50
JOB_UPDATE_COLUMNS = (
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
    "last_seen_at",
)


@dataclass(frozen=True)
class BatchRecord:
    """The outcome of one scrape, in the shape of a `job_batches` row."""

    criteria_set_id: int
    dagster_run_id: str
    status: str
    apify_run_id: str | None
    dataset_id: str | None
    started_at: datetime
    finished_at: datetime
    items_received: int
    items_rejected: int
    estimated_usd: float
    rejected_by_reason: dict[str, int] | None
    actual_usd: float | None
    compute_units: float | None
    error: str | None = None


def claim_set(
    engine: sa.Engine,
    criteria_set_id: int,
    owner: str,
    now: datetime,
    lease: timedelta,
    *,
    selected_at: datetime,
) -> bool:
    """Take the set's lease for this run, in one atomic UPDATE.

    The claim fails while another run holds an unexpired lease, and also when another run
    attempted the set after this run selected it, so overlapping runs never scrape a set twice.
    """
    statement = (
        sa.update(CriteriaSet)
        .where(
            CriteriaSet.id == criteria_set_id,
            sa.or_(
                CriteriaSet.lease_owner.is_(None),
                CriteriaSet.lease_owner == owner,
                CriteriaSet.lease_expires_at < now,
            ),
            sa.or_(
                CriteriaSet.last_attempt_at.is_(None),
                CriteriaSet.last_attempt_at < selected_at,
            ),
        )
        .values(lease_owner=owner, lease_expires_at=now + lease)
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def release_set(engine: sa.Engine, criteria_set_id: int, owner: str) -> None:
    """Give up this run's lease on a set."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(CriteriaSet)
            .where(CriteriaSet.id == criteria_set_id, CriteriaSet.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )


def pending_run(engine: sa.Engine, criteria_set_id: int) -> tuple[str | None, datetime | None]:
    """Return the Apify run started earlier for this set and not stored yet, if any."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(CriteriaSet.pending_apify_run_id, CriteriaSet.pending_started_at).where(
                CriteriaSet.id == criteria_set_id
            )
        ).one()
    return row.pending_apify_run_id, row.pending_started_at


def record_pending_run(
    engine: sa.Engine,
    criteria_set_id: int,
    apify_run_id: str | None,
    dataset_id: str | None,
    started_at: datetime | None,
) -> None:
    """Remember (or forget, with None) the Apify run whose results are not stored yet."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(CriteriaSet)
            .where(CriteriaSet.id == criteria_set_id)
            .values(
                pending_apify_run_id=apify_run_id,
                pending_dataset_id=dataset_id,
                pending_started_at=started_at,
            )
        )


def member_criteria_ids(engine: sa.Engine, criteria_set_id: int) -> tuple[int, ...]:
    """Return up to 50 criteria ids of a set, for error reports."""
    with engine.connect() as connection:
        return tuple(
            connection.execute(
                sa.select(CriteriaSetMember.criteria_id)
                .where(CriteriaSetMember.criteria_set_id == criteria_set_id)
                .order_by(CriteriaSetMember.criteria_id)
                .limit(MAX_CRITERIA_IDS_REPORTED)
            ).scalars()
        )


def store_batch(
    engine: sa.Engine, record: BatchRecord, jobs: list[CanonicalJob]
) -> tuple[int, int, int]:
    """Upsert the jobs and write the batch row in one transaction.

    Also clears the set's pending run and records the outcome on the set. A success resets its
    failure count. A partial batch stays marked for retry. An empty batch is retried once at the
    next run. A second empty batch in a row counts as a success, because a search with no new
    postings is normal and must not take a slot of every run. Returns the batch id and the
    numbers of new and updated jobs.
    """
    with engine.begin() as connection:
        previous_status = connection.execute(
            sa.select(JobBatch.status)
            .where(JobBatch.criteria_set_id == record.criteria_set_id)
            .order_by(JobBatch.id.desc())
            .limit(1)
        ).scalar()
        batch_id = connection.execute(
            sa.insert(JobBatch).values(**_batch_values(record)).returning(JobBatch.id)
        ).scalar_one()
        jobs_new = 0
        for start in range(0, len(jobs), UPSERT_CHUNK_SIZE):
            chunk = jobs[start : start + UPSERT_CHUNK_SIZE]
            jobs_new += _upsert_jobs(connection, chunk, batch_id, record.finished_at)
        jobs_updated = len(jobs) - jobs_new
        connection.execute(
            sa.update(JobBatch)
            .where(JobBatch.id == batch_id)
            .values(jobs_new=jobs_new, jobs_updated=jobs_updated)
        )
        outcome = {
            "last_attempt_at": record.finished_at,
            "pending_apify_run_id": None,
            "pending_dataset_id": None,
            "pending_started_at": None,
        }
        retry = record.status == "partial" or (
            record.status == "empty" and previous_status != "empty"
        )
        if retry:
            outcome.update(retry_requested=True, next_attempt_at=None)
        else:
            outcome.update(
                last_success_at=record.finished_at,
                consecutive_failures=0,
                retry_requested=False,
                next_attempt_at=None,
                last_error=None,
            )
        connection.execute(
            sa.update(CriteriaSet).where(CriteriaSet.id == record.criteria_set_id).values(**outcome)
        )
    return batch_id, jobs_new, jobs_updated


def store_failure(
    engine: sa.Engine, record: BatchRecord, *, backoff: timedelta, clear_pending: bool
) -> int:
    """Write a failed batch row and mark the set for retry after the backoff."""
    with engine.begin() as connection:
        batch_id = connection.execute(
            sa.insert(JobBatch).values(**_batch_values(record)).returning(JobBatch.id)
        ).scalar_one()
        values = {
            "last_attempt_at": record.finished_at,
            "consecutive_failures": CriteriaSet.consecutive_failures + 1,
            "retry_requested": True,
            "next_attempt_at": record.finished_at + backoff,
            "last_error": record.error,
        }
        if clear_pending:
            values.update(
                pending_apify_run_id=None, pending_dataset_id=None, pending_started_at=None
            )
        connection.execute(
            sa.update(CriteriaSet).where(CriteriaSet.id == record.criteria_set_id).values(**values)
        )
    return batch_id


def _batch_values(record: BatchRecord) -> dict:
    return {
        "criteria_set_id": record.criteria_set_id,
        "dagster_run_id": record.dagster_run_id,
        "status": record.status,
        "apify_run_id": record.apify_run_id,
        "dataset_id": record.dataset_id,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "items_received": record.items_received,
        "items_rejected": record.items_rejected,
        "rejected_by_reason": record.rejected_by_reason or None,
        "estimated_usd": record.estimated_usd,
        "actual_usd": record.actual_usd,
        "compute_units": record.compute_units,
        "error": record.error,
    }


def _upsert_jobs(
    connection: sa.Connection, jobs: list[CanonicalJob], batch_id: int, seen_at: datetime
) -> int:
    """Upsert one chunk of jobs, link them to the batch and return how many were new."""
    source = jobs[0].source
    existing = connection.execute(
        sa.select(sa.func.count())
        .select_from(Job)
        .where(Job.source == source, Job.external_id.in_([job.external_id for job in jobs]))
    ).scalar_one()
    rows = [
        {
            "source": job.source,
            "external_id": job.external_id,
            "title": job.title,
            "company": job.company,
            "location": job.location,
            "url": job.url,
            "posted_at": job.posted_at,
            "description": job.description,
            "description_truncated": job.description_truncated,
            "salary_min": job.salary_min,
            "salary_max": job.salary_max,
            "salary_currency": job.salary_currency,
            "raw": job.raw,
            "first_seen_at": seen_at,
            "last_seen_at": seen_at,
        }
        for job in jobs
    ]
    statement = upsert(connection, Job, ["source", "external_id"], JOB_UPDATE_COLUMNS)
    job_ids = connection.execute(statement.values(rows).returning(Job.id)).scalars().all()
    connection.execute(
        insert_ignore(connection, JobBatchItem, ["batch_id", "job_id"]),
        [{"batch_id": batch_id, "job_id": job_id} for job_id in job_ids],
    )
    return len(jobs) - existing
