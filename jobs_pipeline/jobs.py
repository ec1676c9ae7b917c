"""The `ingest_jobs` job and its schedule."""

import dagster as dg

from jobs_pipeline.settings import ingest_cron, ingest_timezone

INGESTION_GROUP = "ingestion"
# The run queue limits concurrent runs carrying this tag (see dagster.yaml).
RUN_CONCURRENCY_TAG = "jobs_pipeline/ingest"

ingest_jobs = dg.define_asset_job(
    name="ingest_jobs",
    selection=dg.AssetSelection.groups(INGESTION_GROUP),
    description="Refresh job recommendations: select due criteria sets, scrape each once "
    "through Apify, store the postings and link them to every candidate who asked.",
    tags={RUN_CONCURRENCY_TAG: "ingest_jobs"},
    # Up to 10 scrape steps may wait on their actors at once, and the apify pool caps how many
    # actually run. The default would be one step per CPU core. A forkserver starts each step
    # process from a warm parent instead of importing Dagster and the project again.
    config={
        "execution": {
            "config": {"multiprocess": {"max_concurrent": 10, "start_method": {"forkserver": {}}}}
        }
    },
)


def build_schedule() -> dg.ScheduleDefinition:
    """Return `ingest_jobs_schedule` from INGEST_CRON and INGEST_TIMEZONE."""
    return dg.ScheduleDefinition(
        name="ingest_jobs_schedule",
        job=ingest_jobs,
        cron_schedule=ingest_cron(),
        execution_timezone=ingest_timezone(),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Runs ingest_jobs on INGEST_CRON (default every 4 hours, UTC).",
    )
