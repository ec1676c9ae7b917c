from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.apify.resource import ApifyResource
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.models import CriteriaSet
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.observability.checks import ASSET_CHECKS
from jobs_pipeline_tests.factories import add_candidate
from jobs_pipeline_tests.pipeline.conftest import ASSETS, TEST_TOKEN


def run_with_checks(database_url, server):
    result = dg.materialize(
        [*ASSETS, *ASSET_CHECKS],
        resources={
            "app_database": AppDatabaseResource(url=database_url),
            "apify": ApifyResource(token=TEST_TOKEN, api_url=server.url),
            "refresh_policy": RefreshPolicyResource(),
        },
    )
    return {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }


def test_checks_pass_on_healthy_run(database_url, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)

    checks = run_with_checks(database_url, apify_server)

    assert set(checks) == {
        "links_reference_existing_rows",
        "no_stuck_criteria_sets",
        "no_stale_eligible_sets",
    }
    assert all(check.passed for check in checks.values())


def test_stuck_set_warns(database_url, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    run_with_checks(database_url, apify_server)
    with engine.begin() as connection:
        connection.execute(sa.update(CriteriaSet).values(consecutive_failures=5))

    checks = run_with_checks(database_url, apify_server)

    stuck = checks["no_stuck_criteria_sets"]
    assert stuck.passed is False
    assert stuck.severity == dg.AssetCheckSeverity.WARN
    assert stuck.metadata["stuck_sets"].value == 1


def test_stale_set_warns(database_url, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    run_with_checks(database_url, apify_server)
    with engine.begin() as connection:
        connection.execute(sa.update(CriteriaSet).values(last_success_at=now - timedelta(hours=13)))

    checks = run_with_checks(database_url, apify_server)

    assert checks["no_stale_eligible_sets"].passed is False
    assert checks["no_stale_eligible_sets"].metadata["stale_sets"].value == 1


def test_orphaned_link_fails_check(database_url, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    run_with_checks(database_url, apify_server)
    # Foreign keys forbid orphans, so they are switched off for this one write.
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            connection.execute(
                sa.text("DELETE FROM jobs WHERE id = (SELECT min(job_id) FROM user_jobs)")
            )
    if engine.dialect.name == "sqlite":
        import sqlite3

        raw = sqlite3.connect(engine.url.database)
        raw.execute("DELETE FROM jobs WHERE id = (SELECT min(job_id) FROM user_jobs)")
        raw.commit()
        raw.close()

    checks = run_with_checks(database_url, apify_server)

    assert checks["links_reference_existing_rows"].passed is False
    assert checks["links_reference_existing_rows"].metadata["orphaned_links"].value >= 1
