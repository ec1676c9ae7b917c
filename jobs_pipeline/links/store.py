"""Links from a batch's jobs to every eligible member of its criteria set."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from jobs_pipeline.criteria.eligibility import eligible_criteria_filter
from jobs_pipeline.database.models import (
    CriteriaSetMember,
    Job,
    JobBatch,
    JobBatchItem,
    JobCriteria,
    User,
    UserJob,
)
from jobs_pipeline.database.sql import days_before
from jobs_pipeline.database.upsert import insert_ignore

LINKABLE_BATCH_STATUSES = ("succeeded", "partial")


def link_batch(
    engine: sa.Engine, batch_id: int, *, activity_cutoff: datetime, now: datetime
) -> int:
    """Link a batch's jobs to each eligible member of its set, in one statement.

    Existing links are kept as they are (`ON CONFLICT DO NOTHING`), so running it twice adds
    nothing. Returns the number of links created.
    """
    pairs = _member_job_pairs(activity_cutoff, now).where(JobBatchItem.batch_id == batch_id)
    return _insert_links(engine, pairs)


def link_new_members(
    engine: sa.Engine,
    *,
    keyed_since: datetime,
    activity_cutoff: datetime,
    now: datetime,
    linked_set_ids: list[int],
) -> int:
    """Link criteria keyed since the given time to the jobs of their set's latest batch.

    A candidate who saves criteria that another candidate already searched gets that set's
    recent jobs at once, without a new scrape. Sets whose batch this run has just linked are
    left out, because all their members already have those links. Returns the number of links
    created.
    """
    latest_batches = (
        sa.select(sa.func.max(JobBatch.id))
        .where(JobBatch.status.in_(LINKABLE_BATCH_STATUSES))
        .group_by(JobBatch.criteria_set_id)
    )
    pairs = _member_job_pairs(activity_cutoff, now).where(
        JobBatchItem.batch_id.in_(latest_batches),
        CriteriaSetMember.keyed_at >= keyed_since,
        CriteriaSetMember.criteria_set_id.not_in(linked_set_ids),
    )
    return _insert_links(engine, pairs)


def _member_job_pairs(activity_cutoff: datetime, now: datetime) -> sa.Select:
    """Select (user, job, criteria, time) for every eligible member and its set's batch jobs.

    Filters the actor cannot apply exactly are applied here. A job whose known maximum salary
    is below the member's `min_salary` is left out. So is a job posted before the member's
    `posted_within_days` window, which an actor may only approximate with a wider filter.
    """
    return (
        sa.select(
            JobCriteria.user_id,
            JobBatchItem.job_id,
            JobCriteria.id,
            sa.literal(now, UserJob.created_at.type),
        )
        .select_from(JobBatchItem)
        .join(JobBatch, JobBatch.id == JobBatchItem.batch_id)
        .join(CriteriaSetMember, CriteriaSetMember.criteria_set_id == JobBatch.criteria_set_id)
        .join(JobCriteria, JobCriteria.id == CriteriaSetMember.criteria_id)
        .join(User, User.id == JobCriteria.user_id)
        .join(Job, Job.id == JobBatchItem.job_id)
        .where(
            eligible_criteria_filter(activity_cutoff),
            sa.or_(
                JobCriteria.min_salary.is_(None),
                Job.salary_max.is_(None),
                Job.salary_max >= JobCriteria.min_salary,
            ),
            sa.or_(
                JobCriteria.posted_within_days.is_(None),
                Job.posted_at.is_(None),
                Job.posted_at
                >= days_before(
                    sa.literal(now, UserJob.created_at.type), JobCriteria.posted_within_days
                ),
            ),
        )
    )


def _insert_links(engine: sa.Engine, pairs: sa.Select) -> int:
    with engine.begin() as connection:
        statement = insert_ignore(connection, UserJob, ["user_id", "job_id"]).from_select(
            ["user_id", "job_id", "criteria_id", "created_at"], pairs
        )
        return max(connection.execute(statement).rowcount, 0)
