"""Every way an actor run or the Apify API can misbehave, over HTTP, one set at a time."""

from __future__ import annotations

import sqlalchemy as sa

from jobs_pipeline.database.models import CriteriaSet, Job, JobBatch
from jobs_pipeline_tests.factories import add_candidate
from jobs_pipeline_tests.pipeline.conftest import TEST_TOKEN, count, log_messages


def only_set(engine) -> CriteriaSet:
    with sa.orm.Session(engine) as session:
        return session.scalars(sa.select(CriteriaSet)).one()


def batches(engine) -> list[JobBatch]:
    with sa.orm.Session(engine) as session:
        return session.scalars(sa.select(JobBatch).order_by(JobBatch.id)).all()


def test_rate_limit_then_success(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("http_429", times=2)

    result = run_ingest()

    assert result.success
    assert [batch.status for batch in batches(engine)] == ["succeeded"]
    assert len(apify_server.runs) == 1
    assert only_set(engine).retry_requested is False


def test_rate_limit_forever_fails_set(run_ingest, engine, apify_server, instance, now):
    add_candidate(engine, "Python developer", now=now)
    add_candidate(engine, "Data engineer", now=now)
    apify_server.add_fault("http_429", match="python developer")

    result = run_ingest()

    assert result.success
    statuses = sorted(batch.status for batch in batches(engine))
    assert statuses == ["failed", "succeeded"]
    failed = next(batch for batch in batches(engine) if batch.status == "failed")
    assert "HTTP 429" in failed.error
    assert "after 3 attempts" in failed.error
    assert any("HTTP 429" in message for message in log_messages(instance, result))


def test_server_error_fails_set(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("http_500")

    # Its only set failed, so the run itself fails too.
    assert not run_ingest(raise_on_error=False).success

    criteria_set = only_set(engine)
    assert criteria_set.retry_requested is True
    assert criteria_set.last_success_at is None
    assert "HTTP 500" in criteria_set.last_error
    assert count(engine, "jobs") == 0


def test_hanging_run_aborted(run_ingest, engine, apify_server, instance, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("hang")

    result = run_ingest(raise_on_error=False, apify_options={"wait_for_finish_secs": 1})

    assert not result.success
    [run] = apify_server.runs
    assert run.status == "ABORTED"
    [batch] = batches(engine)
    assert batch.status == "failed"
    assert batch.apify_run_id == run.run_id
    assert "did not finish within 1 s and was aborted" in batch.error
    criteria_set = only_set(engine)
    assert criteria_set.retry_requested is True
    assert criteria_set.pending_apify_run_id is None
    assert any("was aborted" in message for message in log_messages(instance, result))


def test_failed_run_fails_set(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("failed")

    run_ingest(raise_on_error=False)

    [batch] = batches(engine)
    assert batch.status == "failed"
    assert "ended FAILED" in batch.error
    assert only_set(engine).retry_requested is True


def test_timed_out_run_keeps_partial_items(run_ingest, engine, apify_server, now):
    user, _ = add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("timed_out")

    run_ingest()

    [batch] = batches(engine)
    [run] = apify_server.runs
    assert batch.status == "partial"
    assert 0 < batch.items_received == run.item_count
    assert count(engine, "jobs") == run.item_count
    assert count(engine, "user_jobs", f"user_id = {user}") == run.item_count
    criteria_set = only_set(engine)
    assert criteria_set.retry_requested is True
    assert criteria_set.last_success_at is None


def test_empty_run_keeps_earlier_jobs(run_ingest, engine, apify_server, instance, now):
    user, _ = add_candidate(engine, "Python developer", now=now)
    run_ingest(hot_interval_hours=0, due_tolerance_minutes=0)
    jobs, links = count(engine, "jobs"), count(engine, "user_jobs")
    apify_server.add_fault("empty")

    result = run_ingest(hot_interval_hours=0, due_tolerance_minutes=0)

    assert [batch.status for batch in batches(engine)] == ["succeeded", "empty"]
    assert count(engine, "jobs") == jobs
    assert count(engine, "user_jobs", f"user_id = {user}") == links
    assert only_set(engine).retry_requested is True
    assert any("ended SUCCEEDED with 0 items" in m for m in log_messages(instance, result))


def test_malformed_items_counted_by_reason(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("malformed_items")

    run_ingest()

    [batch] = batches(engine)
    assert batch.status == "succeeded"
    assert batch.items_rejected > 0
    assert sum(batch.rejected_by_reason.values()) == batch.items_rejected
    assert set(batch.rejected_by_reason) <= {"missing_title", "missing_id_and_url", "not_an_object"}
    assert count(engine, "jobs") == batch.items_received - batch.items_rejected


def test_oversized_item_skipped(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("oversized_items")

    run_ingest()

    [batch] = batches(engine)
    assert batch.status == "succeeded"
    assert batch.rejected_by_reason.get("too_large", 0) >= 1
    with engine.connect() as connection:
        longest_url = connection.execute(sa.select(sa.func.max(sa.func.length(Job.url)))).scalar()
        longest_key = connection.execute(
            sa.select(sa.func.max(sa.func.length(Job.external_id)))
        ).scalar()
    assert longest_key <= 255
    assert longest_url > 1000


def test_duplicate_items_stored_once(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("duplicate_items")

    run_ingest()

    [batch] = batches(engine)
    [run] = apify_server.runs
    assert run.item_count > count(engine, "jobs")
    assert batch.jobs_new == count(engine, "jobs")
    with engine.connect() as connection:
        urls = connection.execute(sa.select(Job.url)).scalars().all()
    assert not any("trackingId" in url or "utm_" in url for url in urls if url)


def test_slow_pages_still_read(run_ingest, engine, apify_server, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("slow_pages", delay_seconds=0.5)

    run_ingest()

    [batch] = batches(engine)
    assert batch.status == "succeeded"
    assert batch.items_received == apify_server.runs[0].item_count


def test_token_absent_from_logs_and_events(run_ingest, engine, apify_server, instance, now):
    add_candidate(engine, "Python developer", now=now)
    apify_server.add_fault("http_500_echo_token")

    result = run_ingest(raise_on_error=False)

    everything = " ".join(str(entry) for entry in instance.all_logs(result.run_id))
    assert "Authorization" in everything
    assert TEST_TOKEN not in everything
    assert TEST_TOKEN not in str(instance.get_run_by_id(result.run_id).run_config)
