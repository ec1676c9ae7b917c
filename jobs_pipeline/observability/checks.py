"""Asset checks that warn operators about broken links, stuck sets and stale sets."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.criteria.assets import criteria_sets
from jobs_pipeline.criteria.eligibility import eligible_criteria_filter
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.models import (
    CriteriaSet,
    CriteriaSetMember,
    Job,
    JobCriteria,
    User,
    UserJob,
)
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.links.assets import user_job_links

MAX_KEYS_SHOWN = 20


@dg.asset_check(asset=user_job_links, blocking=False)
def links_reference_existing_rows(app_database: AppDatabaseResource) -> dg.AssetCheckResult:
    """Check that every `user_jobs` row points at an existing job and user."""
    query = (
        sa.select(sa.func.count())
        .select_from(UserJob)
        .outerjoin(Job, Job.id == UserJob.job_id)
        .outerjoin(User, User.id == UserJob.user_id)
        .where(sa.or_(Job.id.is_(None), User.id.is_(None)))
    )
    with app_database.get_engine().connect() as connection:
        orphans = connection.execute(query).scalar_one()
    return dg.AssetCheckResult(
        passed=orphans == 0,
        metadata={"orphaned_links": dg.MetadataValue.int(orphans)},
    )


@dg.asset_check(asset=criteria_sets, blocking=False)
def no_stuck_criteria_sets(
    app_database: AppDatabaseResource, refresh_policy: RefreshPolicyResource
) -> dg.AssetCheckResult:
    """No criteria set has failed in `stuck_after_failures` or more runs in a row."""
    query = (
        sa.select(CriteriaSet.set_key, CriteriaSet.consecutive_failures, CriteriaSet.last_error)
        .where(CriteriaSet.consecutive_failures >= refresh_policy.stuck_after_failures)
        .order_by(CriteriaSet.consecutive_failures.desc())
    )
    with app_database.get_engine().connect() as connection:
        stuck = connection.execute(query).all()
    return dg.AssetCheckResult(
        passed=not stuck,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "stuck_sets": dg.MetadataValue.int(len(stuck)),
            "threshold": dg.MetadataValue.int(refresh_policy.stuck_after_failures),
            "examples": dg.MetadataValue.json(
                [
                    {"set": key[:16], "failures": failures, "last_error": error}
                    for key, failures, error in stuck[:MAX_KEYS_SHOWN]
                ]
            ),
        },
    )


@dg.asset_check(asset=criteria_sets, blocking=False)
def no_stale_eligible_sets(
    app_database: AppDatabaseResource, refresh_policy: RefreshPolicyResource
) -> dg.AssetCheckResult:
    """No eligible set is older than twice the warm-tier interval.

    Sets that were never fetched are left out: the first pull may still be waiting its turn.
    """
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=refresh_policy.pause_after_inactive_days)
    stale_before = now - 2 * timedelta(hours=refresh_policy.warm_interval_hours)
    eligible_sets = (
        sa.select(CriteriaSetMember.criteria_set_id)
        .join(JobCriteria, JobCriteria.id == CriteriaSetMember.criteria_id)
        .join(User, User.id == JobCriteria.user_id)
        .where(eligible_criteria_filter(cutoff))
    )
    query = sa.select(CriteriaSet.set_key).where(
        CriteriaSet.id.in_(eligible_sets), CriteriaSet.last_success_at < stale_before
    )
    with app_database.get_engine().connect() as connection:
        stale = connection.execute(query).scalars().all()
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "stale_sets": dg.MetadataValue.int(len(stale)),
            "examples": dg.MetadataValue.json([key[:16] for key in stale[:MAX_KEYS_SHOWN]]),
        },
    )


ASSET_CHECKS = [links_reference_existing_rows, no_stuck_criteria_sets, no_stale_eligible_sets]
