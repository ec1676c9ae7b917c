"""Two runs at once over the same criteria sets: each set is scraped exactly once."""

from __future__ import annotations

import threading

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.apify.resource import ApifyResource
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database import engine as engines
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline_tests.factories import add_candidate
from jobs_pipeline_tests.pipeline.conftest import ASSETS, TEST_TOKEN, count

SEARCHES = ("Python developer", "Data engineer", "Go developer", "Rust developer")


def materialize_on(database_url, server):
    return dg.materialize(
        ASSETS,
        resources={
            "app_database": AppDatabaseResource(url=database_url),
            "apify": ApifyResource(token=TEST_TOKEN, api_url=server.url),
            "refresh_policy": RefreshPolicyResource(),
        },
    )


def linked_pairs(engine):
    with engine.connect() as connection:
        return set(
            connection.execute(
                sa.text(
                    "SELECT users.email, jobs.external_id FROM user_jobs "
                    "JOIN users ON users.id = user_jobs.user_id "
                    "JOIN jobs ON jobs.id = user_jobs.job_id"
                )
            ).all()
        )


def seed(engine, now):
    for index, keywords in enumerate(SEARCHES):
        user_id, _ = add_candidate(engine, keywords, now=now)
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE users SET email = :email WHERE id = :id"),
                {"email": f"candidate{index}@example.com", "id": user_id},
            )


def test_two_runs_scrape_each_set_once(database_url, engine, apify_server, tmp_path, now):
    seed(engine, now)
    # Runs that last a second make the two runs reach the same sets while both are busy.
    apify_server.latency_seconds = 1.0
    results = []

    def run():
        results.append(materialize_on(database_url, apify_server))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert [result.success for result in results] == [True, True]
    inputs = sorted(run.run_input["title"] for run in apify_server.runs)
    assert inputs == sorted(search.lower() for search in SEARCHES)

    # One run alone on a fresh database stores the same jobs and links.
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    reference = engines.get_engine(engines.normalize_url(reference_url))
    engines.upgrade(reference)
    seed(reference, now)
    assert materialize_on(reference_url, apify_server).success
    assert count(engine, "jobs") == count(reference, "jobs")
    assert linked_pairs(engine) == linked_pairs(reference)
