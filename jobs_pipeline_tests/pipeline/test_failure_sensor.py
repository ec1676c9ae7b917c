import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.apify.resource import ApifyResource
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.observability.failures import ingest_failure_sensor
from jobs_pipeline_tests import notifier_target
from jobs_pipeline_tests.factories import add_candidate
from jobs_pipeline_tests.pipeline.conftest import ASSETS, TEST_TOKEN


def failed_run(database_url, server, instance):
    # A user_jobs table that is gone makes the last step fail after the run row exists.
    result = dg.materialize(
        ASSETS,
        resources={
            "app_database": AppDatabaseResource(url=database_url),
            "apify": ApifyResource(token=TEST_TOKEN, api_url=server.url),
            "refresh_policy": RefreshPolicyResource(),
        },
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    return result


def evaluate(database_url, instance, result):
    run = instance.get_run_by_id(result.run_id)
    failure = next(
        event for event in result.all_events if event.event_type == dg.DagsterEventType.RUN_FAILURE
    )
    context = dg.build_run_status_sensor_context(
        sensor_name="ingest_failure_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
        resources={"app_database": AppDatabaseResource(url=database_url)},
    ).for_run_failure()
    ingest_failure_sensor(context)


def test_failed_run_summarised_and_marked(
    database_url, engine, apify_server, instance, now, monkeypatch
):
    add_candidate(engine, "Python developer", now=now)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE user_jobs"))
    monkeypatch.setenv("INGEST_FAILURE_NOTIFIER", "jobs_pipeline_tests.notifier_target:remember")
    notifier_target.RECEIVED.clear()
    result = failed_run(database_url, apify_server, instance)

    evaluate(database_url, instance, result)

    [summary] = notifier_target.RECEIVED
    assert result.run_id in summary
    assert "step user_job_links" in summary
    # The summary names the underlying database error, not Dagster's wrapper around it.
    step_line = next(line for line in summary.splitlines() if "step user_job_links" in line)
    assert "user_jobs" in step_line
    assert "DagsterExecutionStepExecutionError" not in step_line
    with engine.connect() as connection:
        status = connection.execute(
            sa.text("SELECT status FROM ingestion_runs WHERE dagster_run_id = :id"),
            {"id": result.run_id},
        ).scalar_one()
    assert status == "failed"


def test_completed_row_not_overwritten(database_url, engine, apify_server, instance, now):
    add_candidate(engine, "Python developer", now=now)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE user_jobs"))
    result = failed_run(database_url, apify_server, instance)
    # A re-execution from failure completed the run before the sensor saw the failure.
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE ingestion_runs SET status = 'succeeded'"))

    evaluate(database_url, instance, result)

    with engine.connect() as connection:
        status = connection.execute(sa.text("SELECT status FROM ingestion_runs")).scalar_one()
    assert status == "succeeded"
