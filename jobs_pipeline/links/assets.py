"""Asset `user_job_links`, and the end of the run's facts."""

from datetime import UTC, datetime

import dagster as dg

from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.links.store import link_batch, link_new_members
from jobs_pipeline.observability.run_facts import (
    ingestion_run_id,
    load_run,
    run_metadata,
    update_run,
)
from jobs_pipeline.summaries import BatchesSummary, EligibleCriteriaSummary


def run_status(*, errors: int, all_failed: bool) -> str:
    """Return the `ingestion_runs.status` of a finished run."""
    if all_failed:
        return "failed"
    return "some_sets_failed" if errors else "succeeded"


@dg.asset(group_name="ingestion", kinds={"sql"})
def user_job_links(
    context: dg.AssetExecutionContext,
    eligible_criteria: EligibleCriteriaSummary,
    scraped_job_batches: BatchesSummary,
    app_database: AppDatabaseResource,
) -> dg.MaterializeResult:
    """Recommendations: each stored batch's jobs linked to every eligible member of its set.

    Members' own filters that the actor cannot search by (minimum salary) apply here. Links
    are idempotent: `user_jobs` is unique on `(user_id, job_id)`.
    """
    engine = app_database.get_engine()
    links_created = 0
    for batch in scraped_job_batches.batches:
        if not batch.stored:
            continue
        created = link_batch(
            engine,
            batch.batch_id,
            activity_cutoff=eligible_criteria.activity_cutoff,
            now=datetime.now(UTC),
        )
        context.log.info("Criteria set %s: created %d links", batch.set_key[:16], created)
        links_created += created
    joined = link_new_members(
        engine,
        keyed_since=eligible_criteria.run_started_at,
        activity_cutoff=eligible_criteria.activity_cutoff,
        now=datetime.now(UTC),
        linked_set_ids=[
            batch.criteria_set_id for batch in scraped_job_batches.batches if batch.stored
        ],
    )
    if joined:
        context.log.info(
            "Linked %d existing jobs to criteria that joined already fetched sets", joined
        )
    links_created += joined

    errors = [
        {"set": batch.set_key[:16], "criteria ids": list(batch.criteria_ids), "error": batch.error}
        for batch in scraped_job_batches.batches
        if batch.status == "failed"
    ]
    # Every selected set failing points at something shared (a wrong APIFY_API_URL or token,
    # an Apify outage), so the run turns red instead of reporting success.
    all_failed = bool(errors) and scraped_job_batches.succeeded == 0
    update_run(
        engine,
        ingestion_run_id(context.run),
        status=run_status(errors=len(errors), all_failed=all_failed),
        finished_at=datetime.now(UTC),
        sets_succeeded=scraped_job_batches.succeeded,
        sets_failed=scraped_job_batches.failed,
        jobs_received=int(scraped_job_batches.total("items_received")),
        jobs_new=int(scraped_job_batches.total("jobs_new")),
        jobs_updated=int(scraped_job_batches.total("jobs_updated")),
        items_rejected=int(scraped_job_batches.total("items_rejected")),
        links_created=links_created,
        actual_usd=float(scraped_job_batches.total("actual_usd")),
        errors=errors or None,
    )
    run = load_run(engine, ingestion_run_id(context.run))
    facts = run_metadata(run)
    context.log_event(dg.AssetObservation(asset_key=dg.AssetKey("user_job_links"), metadata=facts))
    context.log.info(
        "Ingestion run finished: %d sets stored, %d failed, %d skipped as claimed by another "
        "run; %d jobs received, %d new; %d links created; estimated %.4f USD, Apify reported "
        "%.4f USD",
        run.sets_succeeded,
        run.sets_failed,
        sum(batch.status == "skipped" for batch in scraped_job_batches.batches),
        run.jobs_received,
        run.jobs_new,
        run.links_created,
        run.estimated_usd,
        run.actual_usd,
    )
    if all_failed:
        raise dg.Failure(
            description=f"All {len(errors)} criteria sets failed; the first error was: "
            f"{errors[0]['error']}",
            metadata={"sets_failed": dg.MetadataValue.int(len(errors))},
        )
    return dg.MaterializeResult(
        metadata={
            "links_created": dg.MetadataValue.int(links_created),
            "sets_linked": dg.MetadataValue.int(
                sum(batch.stored for batch in scraped_job_batches.batches)
            ),
            "errors": dg.MetadataValue.int(len(errors)),
        }
    )
