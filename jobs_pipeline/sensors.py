"""`new_criteria_sensor`: a first pull for newly enabled criteria, outside the schedule."""

import hashlib
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.criteria.eligibility import eligible_criteria_filter
from jobs_pipeline.criteria.normalize import InvalidCriteriaError, canonicalize
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.engine import SchemaOutOfDateError, check_schema
from jobs_pipeline.database.models import CriteriaSet, CriteriaSetMember, JobCriteria, User
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.jobs import ingest_jobs

MAX_NEW_CRITERIA_PER_TICK = 500


@dg.sensor(
    name="new_criteria_sensor",
    job=ingest_jobs,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests an ingest_jobs run restricted to criteria sets that were never "
    "fetched, as soon as their criteria are enabled.",
)
def new_criteria_sensor(
    context: dg.SensorEvaluationContext,
    app_database: AppDatabaseResource,
    refresh_policy: RefreshPolicyResource,
) -> dg.SensorResult | dg.SkipReason:
    """Find criteria enabled since the cursor whose set was never fetched."""
    engine = app_database.get_engine()
    try:
        check_schema(engine)
    except SchemaOutOfDateError as error:
        return dg.SkipReason(str(error))
    since = (
        datetime.fromisoformat(context.cursor)
        if context.cursor
        else datetime.min.replace(tzinfo=UTC)
    )
    cutoff = datetime.now(UTC) - timedelta(days=refresh_policy.pause_after_inactive_days)
    query = (
        sa.select(
            JobCriteria.id,
            JobCriteria.keywords,
            JobCriteria.location,
            JobCriteria.remote,
            JobCriteria.source,
            JobCriteria.posted_within_days,
            JobCriteria.updated_at,
        )
        .join(User, User.id == JobCriteria.user_id)
        .outerjoin(CriteriaSetMember, CriteriaSetMember.criteria_id == JobCriteria.id)
        .outerjoin(CriteriaSet, CriteriaSet.id == CriteriaSetMember.criteria_set_id)
        .where(
            eligible_criteria_filter(cutoff),
            JobCriteria.updated_at > since,
            CriteriaSet.last_success_at.is_(None),
        )
        .order_by(JobCriteria.updated_at)
        .limit(MAX_NEW_CRITERIA_PER_TICK)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    if not rows:
        return dg.SkipReason("No newly enabled criteria with an unfetched criteria set")
    set_keys = set()
    for row in rows:
        try:
            set_keys.add(
                canonicalize(
                    keywords=row.keywords,
                    location=row.location,
                    remote=row.remote,
                    source=row.source,
                    posted_within_days=row.posted_within_days,
                ).set_key
            )
        except InvalidCriteriaError:
            continue
    cursor = rows[-1].updated_at.isoformat()
    if not set_keys:
        return dg.SensorResult(skip_reason="New criteria are all unsearchable", cursor=cursor)
    keys = sorted(set_keys)
    run_key = "new-criteria-" + hashlib.sha256(("|".join(keys) + cursor).encode()).hexdigest()[:20]
    context.log.info("Requesting a first pull for %d new criteria sets", len(keys))
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                run_config={"ops": {"criteria_sets": {"config": {"only_set_keys": keys}}}},
                tags={"jobs_pipeline/trigger": "new_criteria_sensor"},
            )
        ],
        cursor=cursor,
    )
