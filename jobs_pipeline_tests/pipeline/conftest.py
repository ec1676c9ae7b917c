"""Run the ingestion assets in process against a real database and the local Apify server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from jobs_pipeline.apify.resource import ApifyResource
from jobs_pipeline.batches.assets import scraped_job_batches
from jobs_pipeline.criteria.assets import criteria_sets, eligible_criteria
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.links.assets import user_job_links

TEST_TOKEN = "apify_api_test_token_0123456789abcdef"
ASSETS = [eligible_criteria, criteria_sets, scraped_job_batches, user_job_links]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """Yield an ephemeral Dagster instance whose event log the test can read."""
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture
def run_ingest(
    database_url: str, engine: sa.Engine, apify_server, instance: dg.DagsterInstance
) -> Callable[..., dg.ExecuteInProcessResult]:
    """Return a function that materialises the four assets once, like one ingest_jobs run."""

    def run(
        *,
        run_config: dict | None = None,
        raise_on_error: bool = True,
        apify_options: dict | None = None,
        **policy,
    ):
        options = {
            "min_delay_between_retries_ms": 10,
            "max_retries": 2,
            "wait_for_finish_secs": 10,
            **(apify_options or {}),
        }
        resources = {
            "app_database": AppDatabaseResource(url=database_url),
            "apify": ApifyResource(token=TEST_TOKEN, api_url=apify_server.url, **options),
            "refresh_policy": RefreshPolicyResource(**policy),
        }
        return dg.materialize(
            ASSETS,
            resources=resources,
            run_config=run_config,
            raise_on_error=raise_on_error,
            instance=instance,
        )

    return run


def count(engine: sa.Engine, table: str, where: str = "") -> int:
    """Return the number of rows of a table, optionally filtered by a SQL condition."""
    with engine.connect() as connection:
        return connection.execute(
            sa.text(f"SELECT count(*) FROM {table} {'WHERE ' + where if where else ''}")
        ).scalar_one()


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """Return the metadata of the asset's materialisation in a run."""
    [event] = result.asset_materializations_for_node(asset)
    return event.metadata


def log_messages(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> list[str]:
    """Return the user log messages of a run, as operators see them in the UI."""
    return [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.dagster_event is None
    ]
