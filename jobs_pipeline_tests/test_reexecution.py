"""Re-execution from failure, as operators do it from the Dagster UI."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.database import engine as engines
from jobs_pipeline.database.models import Base
from jobs_pipeline_tests.factories import add_candidate

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def ingest_jobs_job() -> dg.JobDefinition:
    """Load ingest_jobs the way a code location does, from the environment."""
    from jobs_pipeline.definitions import defs

    return defs.resolve_job_def("ingest_jobs")


def test_reexecute_from_failure_reruns_failed_step(
    tmp_path, database_url, engine, apify_server, now, monkeypatch
):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_DATABASE_URL", database_url)
    monkeypatch.setenv("APIFY_TOKEN", "apify_api_reexecution_token_0123")
    monkeypatch.setenv("APIFY_API_URL", apify_server.url)
    add_candidate(engine, "Python developer", now=now)
    user_jobs = Base.metadata.tables["user_jobs"]
    with engine.begin() as connection:
        user_jobs.drop(connection)
    job = dg.reconstructable(ingest_jobs_job)
    # Spawned step processes read this test's environment. A forkserver started by an earlier
    # test in this pytest process would keep that test's APP_DATABASE_URL.
    spawn = {"execution": {"config": {"multiprocess": {"start_method": {"spawn": {}}}}}}

    with dg.DagsterInstance.from_config(str(home)) as instance:
        with dg.execute_job(job, instance=instance, run_config=spawn) as failed:
            assert not failed.success
            failed_steps = {event.step_key for event in failed.all_events if event.is_step_failure}
        assert failed_steps == {"user_job_links"}
        with engine.begin() as connection:
            user_jobs.create(connection)

        options = dg.ReexecutionOptions.from_failure(failed.run_id, instance)
        with dg.execute_job(
            job, instance=instance, run_config=spawn, reexecution_options=options
        ) as retried:
            assert retried.success
            executed = {event.step_key for event in retried.all_events if event.is_step_success}

    # Only the failed step and the check of its asset run again: nothing is scraped twice.
    assert "user_job_links" in executed
    assert not any("scrape" in step or "criteria" in step for step in executed)
    assert len(apify_server.runs) == 1
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(user_jobs)).scalar() > 0
        facts = connection.execute(
            sa.text("SELECT status, links_created FROM ingestion_runs")
        ).all()
    # The re-execution completes the original run's row instead of starting a new one.
    assert len(facts) == 1
    assert facts[0].status == "succeeded"
    assert facts[0].links_created > 0
    engines.dispose_engines()
