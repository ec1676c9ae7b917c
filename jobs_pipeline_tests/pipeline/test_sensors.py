from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from jobs_pipeline.criteria.normalize import canonicalize
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.models import CriteriaSet, JobCriteria
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.sensors import new_criteria_sensor
from jobs_pipeline_tests.factories import add_candidate, add_criteria
from jobs_pipeline_tests.pipeline.conftest import count


def evaluate(database_url, cursor=None):
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={
            "app_database": AppDatabaseResource(url=database_url),
            "refresh_policy": RefreshPolicyResource(),
        },
    )
    return new_criteria_sensor(context)


def requested_keys(result):
    [request] = result.run_requests
    return request.run_config["ops"]["criteria_sets"]["config"]["only_set_keys"]


def set_key(keywords, location="Berlin"):
    return canonicalize(
        keywords=keywords,
        location=location,
        remote="any",
        source="linkedin",
        posted_within_days=None,
    ).set_key


def test_new_criteria_requests_its_set(database_url, engine, now):
    add_candidate(engine, "Python developer", now=now)

    result = evaluate(database_url)

    assert requested_keys(result) == [set_key("python developer")]
    assert result.run_requests[0].tags["jobs_pipeline/trigger"] == "new_criteria_sensor"


def test_cursor_prevents_second_request(database_url, engine, now):
    add_candidate(engine, "Python developer", now=now)
    first = evaluate(database_url)

    second = evaluate(database_url, cursor=first.cursor)

    assert isinstance(second, dg.SkipReason)


def test_restart_repeats_same_run_key(database_url, engine, now):
    add_candidate(engine, "Python developer", now=now)

    first = evaluate(database_url)
    again = evaluate(database_url)

    assert first.run_requests[0].run_key == again.run_requests[0].run_key


def test_later_criteria_get_new_request(database_url, engine, now):
    add_candidate(engine, "Python developer", now=now - timedelta(minutes=5))
    first = evaluate(database_url)
    add_candidate(engine, "Data engineer", now=now)

    second = evaluate(database_url, cursor=first.cursor)

    assert requested_keys(second) == [set_key("data engineer")]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_inactive_or_disabled_ignored(database_url, engine, now):
    add_candidate(engine, "Python developer", now=now, active_hours_ago=24 * 10)
    add_candidate(engine, "Data engineer", now=now, is_active=False)

    assert isinstance(evaluate(database_url), dg.SkipReason)


def test_unsearchable_criteria_skipped(database_url, engine, now):
    add_candidate(engine, "   ", now=now)

    result = evaluate(database_url)

    assert result.run_requests == []
    assert result.cursor is not None


def test_fresh_keyed_set_not_requested(run_ingest, database_url, engine, now):
    add_candidate(engine, "Python developer", now=now - timedelta(minutes=5))
    run_ingest()

    assert isinstance(evaluate(database_url), dg.SkipReason)


def test_re_enabled_stale_set_requested(run_ingest, database_url, engine, now):
    user, criteria = add_candidate(engine, "Python developer", now=now - timedelta(days=2))
    run_ingest()
    with engine.begin() as connection:
        connection.execute(sa.update(CriteriaSet).values(last_success_at=now - timedelta(days=2)))
        connection.execute(
            sa.update(JobCriteria).where(JobCriteria.id == criteria).values(updated_at=now)
        )

    assert requested_keys(evaluate(database_url)) == [set_key("python developer")]


def test_joining_fresh_set_links_without_scrape(
    run_ingest, database_url, engine, apify_server, now
):
    first, _ = add_candidate(engine, "Python developer", now=now - timedelta(minutes=5))
    run_ingest()
    newcomer, _ = add_candidate(engine, "python  developer", now=now)
    result = evaluate(database_url)
    config = result.run_requests[0].run_config

    run_ingest(run_config=config)

    assert len(apify_server.runs) == 1
    assert count(engine, "user_jobs", f"user_id = {newcomer}") == count(
        engine, "user_jobs", f"user_id = {first}"
    )
    assert count(engine, "user_jobs", f"user_id = {newcomer}") > 0


def test_new_set_scraped_by_requested_run(run_ingest, database_url, engine, apify_server, now):
    user, _ = add_candidate(engine, "Python developer", now=now)
    add_candidate(engine, "Go developer", now=now)
    run_ingest(max_sets_per_run=1)
    assert len(apify_server.runs) == 1
    add_criteria(engine, user, "Rust developer", now=now)
    sensor_result = evaluate(database_url)

    # The deferred, never-fetched Go set is part of the first pull too.
    assert requested_keys(sensor_result) == sorted(
        [set_key("go developer"), set_key("rust developer")]
    )

    run_ingest(run_config=sensor_result.run_requests[0].run_config)

    assert len(apify_server.runs) == 3
    assert {run.run_input["title"] for run in apify_server.runs[1:]} == {
        "go developer",
        "rust developer",
    }


def test_shared_timestamp_read_in_pages(database_url, engine, now, monkeypatch):
    monkeypatch.setattr("jobs_pipeline.sensors.MAX_NEW_CRITERIA_PER_TICK", 2)
    for keywords in ("Python", "Go", "Rust", "Java", "Scala"):
        add_candidate(engine, keywords, now=now)

    requested, cursor = set(), None
    for _ in range(5):
        result = evaluate(database_url, cursor=cursor)
        if isinstance(result, dg.SkipReason):
            break
        requested.update(requested_keys(result))
        cursor = result.cursor

    assert requested == {
        set_key(keywords.lower()) for keywords in ("Python", "Go", "Rust", "Java", "Scala")
    }
