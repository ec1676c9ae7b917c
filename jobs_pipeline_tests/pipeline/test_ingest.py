"""One ingest_jobs run end to end: SQLite and PostgreSQL, local Apify server over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from jobs_pipeline.database.models import CriteriaSet, IngestionRun, JobBatch, UserJob
from jobs_pipeline_tests.factories import add_candidate, add_criteria
from jobs_pipeline_tests.pipeline.conftest import TEST_TOKEN, count, materialization_metadata


def linked_job_ids(engine, user_id):
    with engine.connect() as connection:
        return set(
            connection.execute(
                sa.select(UserJob.job_id).where(UserJob.user_id == user_id)
            ).scalars()
        )


def ingestion_run(engine):
    with sa.orm.Session(engine) as session:
        return session.scalars(sa.select(IngestionRun)).one()


def test_identical_criteria_scraped_once(run_ingest, engine, apify_server, now):
    alice, _ = add_candidate(engine, "Python developer", now=now, location="Berlin")
    bob, _ = add_candidate(engine, "  python   DEVELOPER", now=now, location="berlin")
    carol, _ = add_candidate(engine, "Data engineer", now=now, location="Zürich")

    result = run_ingest()

    assert result.success
    assert len(apify_server.runs) == 2
    assert count(engine, "criteria_sets") == 2
    assert count(engine, "jobs") > 0
    assert linked_job_ids(engine, alice)
    assert linked_job_ids(engine, alice) == linked_job_ids(engine, bob)
    assert linked_job_ids(engine, carol)
    assert linked_job_ids(engine, carol) != linked_job_ids(engine, alice)


def test_run_facts_recorded(run_ingest, engine, now):
    add_candidate(engine, "Python developer", now=now)
    add_candidate(engine, "Go developer", now=now)

    result = run_ingest()

    run = ingestion_run(engine)
    assert run.status == "succeeded"
    assert run.finished_at >= run.started_at
    assert run.sets_selected == 2
    assert run.sets_succeeded == 2
    assert run.sets_failed == 0
    assert run.jobs_new == count(engine, "jobs")
    assert run.links_created == count(engine, "user_jobs")
    assert run.estimated_usd > 0
    assert run.actual_usd > 0
    observations = [
        event.asset_observation_data.asset_observation
        for event in result.all_events
        if event.event_type_value == "ASSET_OBSERVATION"
    ]
    assert len(observations) == 1
    facts = observations[0].metadata
    assert facts["links_created"].value == run.links_created
    assert facts["jobs_new"].value == run.jobs_new
    assert facts["sets_failed"].value == 0
    assert "summary" in facts
    links_metadata = materialization_metadata(result, "user_job_links")
    assert links_metadata["links_created"].value == run.links_created


def test_rerun_adds_no_duplicates(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    add_candidate(engine, "python developer", now=now)
    # A zero interval makes the set due again at once, so the second run scrapes it again.
    run_ingest(hot_interval_hours=0, due_tolerance_minutes=0)
    jobs, links = count(engine, "jobs"), count(engine, "user_jobs")

    run_ingest(hot_interval_hours=0, due_tolerance_minutes=0)

    assert len(apify_server.runs) == 2
    assert count(engine, "jobs") == jobs
    assert count(engine, "user_jobs") == links
    with engine.connect() as connection:
        updated = connection.execute(
            sa.select(JobBatch.jobs_new, JobBatch.jobs_updated).order_by(JobBatch.id.desc())
        ).first()
    assert updated.jobs_new == 0
    assert updated.jobs_updated > 0


def test_fresh_set_not_scraped_again(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    run_ingest()

    result = run_ingest()

    assert result.success
    assert len(apify_server.runs) == 1
    metadata = materialization_metadata(result, "criteria_sets")
    assert metadata["sets_selected"].value == 0


def test_failing_set_marked_for_retry(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    add_candidate(engine, "Data engineer", now=now)
    _, broken_criteria = add_candidate(engine, "Broken search", now=now)
    apify_server.add_fault("http_500", match="broken search")

    result = run_ingest()

    assert result.success
    with sa.orm.Session(engine) as session:
        sets = {s.canonical["keywords"][0]: s for s in session.scalars(sa.select(CriteriaSet))}
        batches = session.scalars(sa.select(JobBatch)).all()
    assert sets["broken search"].retry_requested is True
    assert sets["broken search"].consecutive_failures == 1
    assert "500" in sets["broken search"].last_error
    assert sets["python developer"].retry_requested is False
    assert sorted(batch.status for batch in batches) == ["failed", "succeeded", "succeeded"]
    run = ingestion_run(engine)
    assert run.status == "some_sets_failed"
    assert run.sets_succeeded == 2
    assert run.sets_failed == 1
    assert run.errors[0]["criteria ids"] == [broken_criteria]
    assert run.links_created == count(engine, "user_jobs") > 0


def test_failed_set_retried_next_run(run_ingest, engine, apify_server, now):
    user, _ = add_candidate(engine, "Broken search", now=now)
    apify_server.add_fault("http_500", match="broken search", times=3)
    run_ingest(raise_on_error=False)
    assert not linked_job_ids(engine, user)

    result = run_ingest()

    assert materialization_metadata(result, "criteria_sets")["sets_selected"].value == 1
    assert linked_job_ids(engine, user)
    with sa.orm.Session(engine) as session:
        criteria_set = session.scalars(sa.select(CriteriaSet)).one()
    assert criteria_set.retry_requested is False
    assert criteria_set.consecutive_failures == 0


def test_token_never_stored_in_errors(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Echo search", now=now)
    apify_server.add_fault("http_500_echo_token", match="echo search")

    run_ingest(raise_on_error=False)

    with engine.connect() as connection:
        stored = " ".join(
            str(value)
            for value in connection.execute(
                sa.text(
                    "SELECT error FROM job_batches UNION ALL SELECT last_error FROM criteria_sets"
                )
            ).scalars()
        )
        run_errors = str(connection.execute(sa.text("SELECT errors FROM ingestion_runs")).scalar())
    assert "500" in stored
    assert TEST_TOKEN not in stored
    assert TEST_TOKEN not in run_errors


def test_unsearchable_criteria_skipped(run_ingest, engine, apify_server, now):
    user, _ = add_candidate(engine, "Python developer", now=now)
    blank = add_criteria(engine, user, "   ", now=now)
    unknown_source = add_criteria(engine, user, "Go developer", now=now, source="xing")
    control = add_criteria(engine, user, "Rust\x1b developer", now=now)

    result = run_ingest()

    assert result.success
    assert len(apify_server.runs) == 1
    assert ingestion_run(engine).criteria_rejected == 3
    preview = materialization_metadata(result, "eligible_criteria")["rejected_preview"].value
    for criteria_id in (blank, unknown_source, control):
        assert f" {criteria_id} | " in preview
    assert "unknown source 'xing'" in preview


def test_inactive_candidates_paused(run_ingest, engine, apify_server, now):
    active, _ = add_candidate(engine, "Python developer", now=now, active_hours_ago=2)
    paused, _ = add_candidate(engine, "Data engineer", now=now, active_hours_ago=24 * 8)
    inactive_criteria_user, _ = add_candidate(engine, "Go developer", now=now, is_active=False)

    run_ingest()

    assert len(apify_server.runs) == 1
    assert linked_job_ids(engine, active)
    assert not linked_job_ids(engine, paused)
    assert not linked_job_ids(engine, inactive_criteria_user)


def test_pause_window_configurable(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Data engineer", now=now, active_hours_ago=24 * 4)

    run_ingest(pause_after_inactive_days=3)

    assert apify_server.runs == []


def test_cap_defers_remaining_sets(run_ingest, engine, apify_server, now):
    for keywords in ("Python", "Go", "Rust", "Java"):
        add_candidate(engine, keywords, now=now)

    first = run_ingest(max_sets_per_run=3)
    second = run_ingest(max_sets_per_run=3)

    assert materialization_metadata(first, "criteria_sets")["sets_deferred"].value == 1
    assert materialization_metadata(second, "criteria_sets")["sets_selected"].value == 1
    assert len(apify_server.runs) == 4
    assert len({str(run.run_input) for run in apify_server.runs}) == 4


def test_min_salary_filters_links(run_ingest, engine, now):
    flexible, _ = add_candidate(engine, "Python developer", now=now)
    demanding, _ = add_candidate(engine, "Python developer", now=now, min_salary=10_000_000)

    run_ingest()

    assert linked_job_ids(engine, demanding) < linked_job_ids(engine, flexible)
    with engine.connect() as connection:
        salaries = (
            connection.execute(
                sa.text(
                    "SELECT jobs.salary_max FROM jobs JOIN user_jobs ON user_jobs.job_id = jobs.id "
                    "WHERE user_jobs.user_id = :user"
                ),
                {"user": demanding},
            )
            .scalars()
            .all()
        )
    assert all(salary is None for salary in salaries)


def test_budget_defers_sets(run_ingest, engine, apify_server, now):
    for keywords in ("Python", "Go", "Rust"):
        add_candidate(engine, keywords, now=now)
    # The default estimate of one LinkedIn run is 100 items at 0.001 USD.
    result = run_ingest(max_estimated_usd_per_run=0.25)

    assert len(apify_server.runs) == 2
    metadata = materialization_metadata(result, "criteria_sets")
    assert metadata["sets_deferred"].value == 1
    assert metadata["estimated_usd"].value == pytest.approx(0.2)


def test_indeed_source_scraped(run_ingest, engine, apify_server, now):
    user, _ = add_candidate(engine, "Data engineer", now=now, source="indeed", location="Zürich")

    run_ingest()

    [run] = apify_server.runs
    assert "indeed" in run.actor_id
    assert run.run_input["position"] == "data engineer"
    with engine.connect() as connection:
        sources = set(connection.execute(sa.text("SELECT DISTINCT source FROM jobs")).scalars())
    assert sources == {"indeed"}
    assert linked_job_ids(engine, user)


def test_posted_within_days_filters_links(run_ingest, engine, now):
    # Indeed's widest date filter is 14 days, so a 20-day window is applied when linking.
    user, _ = add_candidate(
        engine, "Data engineer", now=now, source="indeed", posted_within_days=20
    )

    run_ingest()

    with engine.connect() as connection:
        posted = (
            connection.execute(
                sa.text(
                    "SELECT jobs.posted_at FROM jobs JOIN user_jobs ON user_jobs.job_id = jobs.id "
                    "WHERE user_jobs.user_id = :user"
                ),
                {"user": user},
            )
            .scalars()
            .all()
        )
        stored = connection.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one()
    assert 0 < len(posted) < stored
    oldest = min(
        value if isinstance(value, datetime) else datetime.fromisoformat(value) for value in posted
    )
    assert oldest.replace(tzinfo=UTC) >= now - timedelta(days=20, hours=1)


def test_all_sets_failing_fails_run(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    add_candidate(engine, "Data engineer", now=now)
    apify_server.add_fault("http_500")

    result = run_ingest(raise_on_error=False)

    assert not result.success
    run = ingestion_run(engine)
    assert run.status == "failed"
    assert run.sets_failed == 2
    assert run.finished_at is not None
