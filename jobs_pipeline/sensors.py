"""`new_criteria_sensor`: a first pull for newly enabled criteria, outside the schedule."""

import hashlib
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.criteria.eligibility import eligible_criteria_rows
from jobs_pipeline.criteria.normalize import InvalidCriteriaError, canonicalize_row
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.engine import SchemaOutOfDateError, check_schema
from jobs_pipeline.database.models import CriteriaSet, CriteriaSetMember, JobCriteria
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.jobs import ingest_jobs

MAX_NEW_CRITERIA_PER_TICK = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dg.sensor(
    name="new_criteria_sensor",
    job=ingest_jobs,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests an ingest_jobs run restricted to the criteria sets of newly enabled "
    "or changed criteria, so candidates get their first jobs within a minute.",
)
def new_criteria_sensor(
    context: dg.SensorEvaluationContext,
    app_database: AppDatabaseResource,
    refresh_policy: RefreshPolicyResource,
) -> dg.SensorResult | dg.SkipReason:
    """Find criteria enabled or changed since the cursor that need a first pull.

    A criteria needs one when it was never keyed to a set, changed since it was keyed, or its
    set was never fetched or is staler than the warm-tier interval (re-enabled after a pause).
    The run request is limited to those sets. A set that is already fresh is not scraped again:
    the run links the new candidate to its existing jobs.
    """
    engine = app_database.get_engine()
    try:
        check_schema(engine)
    except SchemaOutOfDateError as error:
        return dg.SkipReason(str(error))
    now = datetime.now(UTC)
    since, since_id = _read_cursor(context.cursor)
    cutoff = now - timedelta(days=refresh_policy.pause_after_inactive_days)
    stale_before = now - timedelta(hours=refresh_policy.warm_interval_hours)
    query = (
        eligible_criteria_rows(cutoff)
        .add_columns(JobCriteria.updated_at)
        .outerjoin(CriteriaSet, CriteriaSet.id == CriteriaSetMember.criteria_set_id)
        .where(
            # (updated_at, id) order, so criteria sharing one timestamp are all read in turn.
            sa.or_(
                JobCriteria.updated_at > since,
                sa.and_(JobCriteria.updated_at == since, JobCriteria.id > since_id),
            ),
            sa.or_(
                CriteriaSetMember.criteria_id.is_(None),
                CriteriaSetMember.keyed_at < JobCriteria.updated_at,
                CriteriaSet.last_success_at.is_(None),
                CriteriaSet.last_success_at < stale_before,
            ),
        )
        .order_by(JobCriteria.updated_at, JobCriteria.id)
        .limit(MAX_NEW_CRITERIA_PER_TICK)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    if not rows:
        return dg.SkipReason("No newly enabled or changed criteria need a first pull")
    set_keys = set()
    for row in rows:
        try:
            canonical = canonicalize_row(row)
        except InvalidCriteriaError as error:
            context.log.warning("Skipping criteria %d: %s", row.id, error)
            continue
        set_keys.add(canonical.set_key)
    cursor = f"{rows[-1].updated_at.isoformat()}|{rows[-1].id}"
    if not set_keys:
        return dg.SensorResult(skip_reason="New criteria are all unsearchable", cursor=cursor)
    keys = sorted(set_keys)
    # The run key depends only on the request, so a restarted sensor that evaluates the
    # same criteria again requests the same run, which Dagster launches once.
    digest = hashlib.sha256("|".join([cursor, *keys]).encode()).hexdigest()[:20]
    context.log.info("Requesting a first pull for %d criteria sets", len(keys))
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"new-criteria-{digest}",
                run_config={"ops": {"criteria_sets": {"config": {"only_set_keys": keys}}}},
                tags={"jobs_pipeline/trigger": "new_criteria_sensor"},
            )
        ],
        cursor=cursor,
    )


def _read_cursor(cursor: str | None) -> tuple[datetime, int]:
    """Return the (updated_at, criteria id) position that a cursor stores."""
    if not cursor:
        return EPOCH, 0
    moment, _, criteria_id = cursor.partition("|")
    return datetime.fromisoformat(moment), int(criteria_id or 0)
