"""Graph-backed asset `scraped_job_batches`: one mapped scrape step per criteria set."""

import dagster as dg
import pandas as pd

from jobs_pipeline.apify.resource import ApifyResource
from jobs_pipeline.batches.scrape import scrape_set
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.summaries import BatchesSummary, BatchSummary, CriteriaSelection, SelectedSet

APIFY_POOL = "apify"


@dg.op(out=dg.DynamicOut(SelectedSet))
def fan_out_criteria_sets(criteria_sets: CriteriaSelection):
    """Emit one dynamic output per selected criteria set, keyed by its set key."""
    for selected in criteria_sets.selected:
        yield dg.DynamicOutput(selected, mapping_key=selected.mapping_key)


@dg.op(pool=APIFY_POOL)
def scrape_criteria_set(
    context: dg.OpExecutionContext,
    criteria_set: SelectedSet,
    app_database: AppDatabaseResource,
    apify: ApifyResource,
    refresh_policy: RefreshPolicyResource,
) -> BatchSummary:
    """Run the set's Apify actor and store its postings; a failure returns a failed summary."""
    return scrape_set(
        criteria_set,
        engine=app_database.get_engine(),
        apify=apify,
        policy=refresh_policy,
        dagster_run_id=context.run.run_id,
        log=context.log,
    )


@dg.op
def summarize_batches(
    context: dg.OpExecutionContext, batches: list[BatchSummary]
) -> dg.Output[BatchesSummary]:
    """Total the run's batches and report them as metadata of `scraped_job_batches`."""
    summary = BatchesSummary(tuple(sorted(batches, key=lambda batch: batch.set_key)))
    jobs_received = int(summary.total("items_received"))
    context.log.info(
        "Scraped %d criteria sets: %d stored, %d failed; %d items received, %d new jobs, "
        "%d updated, %d items rejected; Apify reported %.4f USD",
        len(summary.batches),
        summary.succeeded,
        summary.failed,
        jobs_received,
        summary.total("jobs_new"),
        summary.total("jobs_updated"),
        summary.total("items_rejected"),
        summary.total("actual_usd"),
    )
    table = pd.DataFrame(
        [
            (
                batch.set_key[:16],
                batch.status,
                batch.items_received,
                batch.jobs_new,
                batch.actual_usd,
                (batch.error or "")[:120],
            )
            for batch in summary.batches
        ],
        columns=["set", "status", "items", "new jobs", "cost USD", "error"],
    )
    return dg.Output(
        summary,
        metadata={
            "sets_scraped": dg.MetadataValue.int(len(summary.batches)),
            "sets_succeeded": dg.MetadataValue.int(summary.succeeded),
            "sets_failed": dg.MetadataValue.int(summary.failed),
            "jobs_received": dg.MetadataValue.int(jobs_received),
            "jobs_new": dg.MetadataValue.int(int(summary.total("jobs_new"))),
            "jobs_updated": dg.MetadataValue.int(int(summary.total("jobs_updated"))),
            "items_rejected": dg.MetadataValue.int(int(summary.total("items_rejected"))),
            "actual_usd": dg.MetadataValue.float(float(summary.total("actual_usd"))),
            "batches": dg.MetadataValue.md(table.to_markdown(index=False)),
        },
    )


@dg.graph_asset(group_name="ingestion", kinds={"apify"})
def scraped_job_batches(criteria_sets: CriteriaSelection) -> BatchesSummary:
    """Postings of each selected criteria set, scraped once through Apify into the job pool.

    One mapped step per set; a failed set is recorded for retry and does not stop the others.
    """
    batches = fan_out_criteria_sets(criteria_sets).map(scrape_criteria_set)
    return summarize_batches(batches.collect())
