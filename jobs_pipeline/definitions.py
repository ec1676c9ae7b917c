"""The Dagster code location: assets, job, schedule, sensor and resources."""

import dagster as dg

from jobs_pipeline.batches.assets import scraped_job_batches
from jobs_pipeline.criteria.assets import criteria_sets, eligible_criteria
from jobs_pipeline.jobs import build_schedule, ingest_jobs
from jobs_pipeline.links.assets import user_job_links
from jobs_pipeline.observability.checks import ASSET_CHECKS
from jobs_pipeline.observability.failures import ingest_failure_sensor
from jobs_pipeline.resources import build_resources
from jobs_pipeline.sensors import new_criteria_sensor
from jobs_pipeline.settings import check_dagster_postgres_url

check_dagster_postgres_url()

defs = dg.Definitions(
    assets=[eligible_criteria, criteria_sets, scraped_job_batches, user_job_links],
    asset_checks=ASSET_CHECKS,
    jobs=[ingest_jobs],
    schedules=[build_schedule()],
    sensors=[new_criteria_sensor, ingest_failure_sensor],
    resources=build_resources(),
)
