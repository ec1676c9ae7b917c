"""Resources of the code location, configured from the environment."""

from __future__ import annotations

import dagster as dg

from jobs_pipeline.apify.resource import ActorSettings, ApifyResource
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.io_manager import AppDatabaseIOManager
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.settings import env_float, env_int, env_text


def _secret(name: str) -> dg.EnvVar | None:
    # An EnvVar keeps the value out of run config and the UI, which show only the name.
    return dg.EnvVar(name) if env_text(name) else None


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """Return the resources, reading settings and secret names from the environment."""
    app_database = AppDatabaseResource(
        url=_secret("APP_DATABASE_URL"),
        pool_size=env_int("APP_DATABASE_POOL_SIZE", 10, minimum=1),
    )
    return {
        "app_database": app_database,
        "io_manager": AppDatabaseIOManager(app_database=app_database),
        "apify": ApifyResource(
            token=_secret("APIFY_TOKEN"),
            api_url=env_text("APIFY_API_URL"),
            max_items=env_int("APIFY_MAX_ITEMS", 100, minimum=1),
            wait_for_finish_secs=env_int("APIFY_WAIT_FOR_FINISH_SECS", 900, minimum=1),
            linkedin=ActorSettings(actor_id=env_text("APIFY_LINKEDIN_ACTOR_ID")),
            indeed=ActorSettings(actor_id=env_text("APIFY_INDEED_ACTOR_ID")),
        ),
        "refresh_policy": RefreshPolicyResource(
            max_sets_per_run=env_int("INGEST_MAX_SETS_PER_RUN", 10, minimum=1),
            pause_after_inactive_days=env_int("INGEST_PAUSE_AFTER_INACTIVE_DAYS", 7, minimum=1),
            max_estimated_usd_per_run=env_float("INGEST_MAX_USD_PER_RUN"),
            hot_window_hours=env_int("INGEST_HOT_WINDOW_HOURS", 24, minimum=1),
            hot_interval_hours=env_float("INGEST_HOT_INTERVAL_HOURS", 4),
            warm_interval_hours=env_float("INGEST_WARM_INTERVAL_HOURS", 6),
        ),
    }
