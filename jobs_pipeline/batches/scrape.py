"""Scrape one criteria set: claim it, run its actor, read the dataset, store the batch.

Any failure of Apify or of an item becomes a failed or partial batch summary instead of an
exception, so one broken set never stops the other sets or the links of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import impit
import sqlalchemy as sa
from apify_client.errors import ApifyApiError, ApifyClientError

from jobs_pipeline.apify.normalizer import CanonicalJob, RejectedItemError, normalize_item
from jobs_pipeline.apify.resource import ApifyResource
from jobs_pipeline.batches import store
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.criteria.selection import retry_backoff
from jobs_pipeline.database.models import CriteriaSet
from jobs_pipeline.summaries import BatchSummary, SelectedSet

# Errors of one Apify call: API errors, transport errors (impit), and malformed responses.
APIFY_ERRORS = (ApifyApiError, ApifyClientError, impit.HTTPError, ValueError, KeyError)
FINISHED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})
MAX_ERROR_LENGTH = 2000


class ScrapeFailedError(Exception):
    """A scrape that must be recorded as failed.

    `clear_pending` drops the recorded Apify run, because retrying it cannot help; `run` is the
    Apify run whose cost and ids the failed batch row records.
    """

    def __init__(self, message: str, *, clear_pending: bool, run: Any = None) -> None:
        super().__init__(message)
        self.clear_pending = clear_pending
        self.run = run


@dataclass(frozen=True)
class _Scrape:
    """What every step of one set's scrape needs, passed along as one value."""

    selected: SelectedSet
    engine: sa.Engine
    apify: ApifyResource
    policy: RefreshPolicyResource
    dagster_run_id: str
    log: dg.DagsterLogManager
    clock: Callable[[], datetime]


@dataclass
class _Fetched:
    run: Any
    jobs: list[CanonicalJob]
    items_received: int
    rejected_by_reason: dict[str, int]


def scrape_set(
    selected: SelectedSet,
    *,
    engine: sa.Engine,
    apify: ApifyResource,
    policy: RefreshPolicyResource,
    dagster_run_id: str,
    log: dg.DagsterLogManager,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BatchSummary:
    """Scrape one criteria set and store its batch, returning a failed summary on Apify errors."""
    started_at = clock()
    lease = timedelta(minutes=policy.lease_minutes)
    claimed = store.claim_set(
        engine,
        selected.criteria_set_id,
        dagster_run_id,
        started_at,
        lease,
        selected_at=selected.selected_at,
    )
    if not claimed:
        log.warning(
            "Skipping criteria set %s: another run is scraping it or has just refreshed it",
            selected.set_key[:16],
        )
        return BatchSummary(
            selected.criteria_set_id,
            selected.set_key,
            "skipped",
            error="claimed or refreshed by another run",
        )
    try:
        return _scrape_claimed(_Scrape(selected, engine, apify, policy, dagster_run_id, log, clock))
    finally:
        store.release_set(engine, selected.criteria_set_id, dagster_run_id)


def _scrape_claimed(scrape: _Scrape) -> BatchSummary:
    selected, log = scrape.selected, scrape.log
    started_at = scrape.clock()
    set_label = selected.set_key[:16]
    run = None
    try:
        run = _start_or_resume(scrape, started_at)
        fetched = _wait_and_read(scrape, run)
    except (ScrapeFailedError, *APIFY_ERRORS) as error:
        return _record_failure(scrape, started_at, error, run)

    status = {"TIMED-OUT": "partial"}.get(fetched.run.status, "succeeded")
    if not fetched.jobs and status == "succeeded":
        status = "empty"
    items_rejected = sum(fetched.rejected_by_reason.values())
    record = store.BatchRecord(
        criteria_set_id=selected.criteria_set_id,
        dagster_run_id=scrape.dagster_run_id,
        status=status,
        apify_run_id=fetched.run.id,
        dataset_id=fetched.run.default_dataset_id,
        started_at=started_at,
        finished_at=scrape.clock(),
        items_received=fetched.items_received,
        items_rejected=items_rejected,
        estimated_usd=selected.estimated_usd,
        rejected_by_reason=dict(fetched.rejected_by_reason),
        actual_usd=fetched.run.usage_total_usd,
        compute_units=_compute_units(fetched.run),
    )
    try:
        batch_id, jobs_new, jobs_updated = store.store_batch(scrape.engine, record, fetched.jobs)
    except (sa.exc.DataError, sa.exc.IntegrityError) as error:
        # The database refused a value of this dataset. Reading the same dataset again would
        # fail the same way, so the recorded Apify run is dropped and the set retried later.
        return _record_failure(
            scrape,
            started_at,
            ScrapeFailedError(
                f"storing Apify run {fetched.run.id} failed: {error.orig}",
                clear_pending=True,
                run=fetched.run,
            ),
        )
    if items_rejected:
        log.warning(
            "Criteria set %s: rejected %d of %d items %s",
            set_label,
            items_rejected,
            fetched.items_received,
            fetched.rejected_by_reason,
        )
    if status != "succeeded":
        log.warning(
            "Criteria set %s: Apify run %s ended %s with %d items; retried at the next run",
            set_label,
            fetched.run.id,
            fetched.run.status,
            fetched.items_received,
        )
    log.info(
        "Criteria set %s: stored %d jobs (%d new, %d updated) from Apify run %s, "
        "cost %s USD (estimated %.4f)",
        set_label,
        len(fetched.jobs),
        jobs_new,
        jobs_updated,
        fetched.run.id,
        fetched.run.usage_total_usd,
        selected.estimated_usd,
    )
    return BatchSummary(
        selected.criteria_set_id,
        selected.set_key,
        status,
        batch_id=batch_id,
        apify_run_id=fetched.run.id,
        items_received=fetched.items_received,
        items_rejected=items_rejected,
        rejected_by_reason=dict(fetched.rejected_by_reason),
        jobs_new=jobs_new,
        jobs_updated=jobs_updated,
        estimated_usd=selected.estimated_usd,
        actual_usd=fetched.run.usage_total_usd,
        compute_units=_compute_units(fetched.run),
    )


def _record_failure(
    scrape: _Scrape, started_at: datetime, error: Exception, run: Any = None
) -> BatchSummary:
    """Store a failed batch, mark the set for retry with backoff and log the failure."""
    selected, engine, apify = scrape.selected, scrape.engine, scrape.apify
    message = apify.redact(describe_error(error, apify))[:MAX_ERROR_LENGTH]
    clear_pending = getattr(error, "clear_pending", False)
    failed_run = getattr(error, "run", None) or run
    record = store.BatchRecord(
        criteria_set_id=selected.criteria_set_id,
        dagster_run_id=scrape.dagster_run_id,
        status="failed",
        apify_run_id=getattr(failed_run, "id", None),
        dataset_id=getattr(failed_run, "default_dataset_id", None),
        started_at=started_at,
        finished_at=scrape.clock(),
        items_received=0,
        items_rejected=0,
        estimated_usd=selected.estimated_usd,
        rejected_by_reason=None,
        actual_usd=getattr(failed_run, "usage_total_usd", None),
        compute_units=_compute_units(failed_run),
        error=message,
    )
    criteria_ids = store.member_criteria_ids(engine, selected.criteria_set_id)
    failures = _consecutive_failures(engine, selected.criteria_set_id) + 1
    batch_id = store.store_failure(
        engine, record, backoff=retry_backoff(failures, scrape.policy), clear_pending=clear_pending
    )
    scrape.log.error(
        "Criteria set %s (criteria ids %s, Apify run %s) failed and will be retried: %s",
        selected.set_key[:16],
        list(criteria_ids),
        record.apify_run_id,
        message,
    )
    return BatchSummary(
        selected.criteria_set_id,
        selected.set_key,
        "failed",
        batch_id=batch_id,
        apify_run_id=record.apify_run_id,
        estimated_usd=selected.estimated_usd,
        actual_usd=record.actual_usd,
        compute_units=record.compute_units,
        error=message,
        criteria_ids=criteria_ids,
    )


def _start_or_resume(scrape: _Scrape, now: datetime) -> Any:
    """Return the set's unfinished Apify run from an earlier attempt, or start a new one.

    The run id is stored before waiting, so if this process dies after the actor finished,
    the next attempt reads that run's dataset instead of paying for a second run.
    """
    selected, engine, apify, log = scrape.selected, scrape.engine, scrape.apify, scrape.log
    client = apify.get_client()
    pending_id, _ = store.pending_run(engine, selected.criteria_set_id)
    if pending_id:
        run = client.run(pending_id).get()
        if run is not None:
            log.info(
                "Criteria set %s: resuming Apify run %s (%s) from an earlier attempt",
                selected.set_key[:16],
                run.id,
                run.status,
            )
            return run
    settings = apify.run_settings(selected.source)
    since_last_success = now - selected.last_success_at if selected.last_success_at else None
    run_input = settings.adapter.build_input(
        selected.canonical, max_items=settings.max_items, since_last_success=since_last_success
    )
    # TODO: apify-client retries a start that timed out or got HTTP 5xx, and Apify has no
    # idempotency key, so a retried start can launch and bill a second run that is never read.
    run = client.actor(settings.actor_id).start(
        run_input=run_input,
        max_items=settings.max_items,
        memory_mbytes=settings.memory_mbytes,
        run_timeout=settings.run_timeout,
    )
    store.record_pending_run(
        engine, selected.criteria_set_id, run.id, run.default_dataset_id, run.started_at
    )
    log.info(
        "Criteria set %s (members: %d, %s): started Apify run %s of actor %s",
        selected.set_key[:16],
        selected.member_count,
        selected.reason,
        run.id,
        settings.actor_id,
    )
    return run


def _wait_and_read(scrape: _Scrape, run: Any) -> _Fetched:
    apify = scrape.apify
    client = apify.get_client()
    if run.status not in FINISHED_STATUSES:
        finished = client.run(run.id).wait_for_finish(
            wait_duration=timedelta(seconds=apify.wait_for_finish_secs)
        )
        if finished is None:
            raise ScrapeFailedError(f"Apify run {run.id} was not found", clear_pending=True)
        run = finished
    if run.status not in FINISHED_STATUSES:
        # An unfinished run keeps running and billing on Apify: stop it.
        aborted = client.run(run.id).abort()
        raise ScrapeFailedError(
            f"Apify run {run.id} did not finish within {apify.wait_for_finish_secs} s "
            "and was aborted",
            clear_pending=True,
            run=aborted,
        )
    if run.status in ("FAILED", "ABORTED"):
        raise ScrapeFailedError(
            f"Apify run {run.id} ended {run.status}: {run.status_message or 'no message'}",
            clear_pending=True,
            run=run,
        )

    received_at = scrape.clock()
    jobs: dict[str, CanonicalJob] = {}
    rejected: dict[str, int] = {}
    items_received = 0
    # Iterate instead of trusting itemCount, which can lag right after a run ends.
    try:
        for item in client.dataset(run.default_dataset_id).iterate_items():
            items_received += 1
            try:
                job = normalize_item(item, source=scrape.selected.source, received_at=received_at)
            except RejectedItemError as error:
                rejected[error.reason] = rejected.get(error.reason, 0) + 1
                continue
            except (ValueError, TypeError, OverflowError, RecursionError):
                # A field of a shape no known actor emits: skip the item, keep the batch.
                rejected["invalid_value"] = rejected.get("invalid_value", 0) + 1
                continue
            jobs[job.external_id] = _newest(jobs.get(job.external_id), job)
    except RecursionError:
        # A page nested too deeply for the JSON decoder: this dataset can never be read.
        raise ScrapeFailedError(
            f"the dataset of Apify run {run.id} contains items nested too deeply to decode",
            clear_pending=True,
            run=run,
        ) from None
    return _Fetched(run, list(jobs.values()), items_received, rejected)


def describe_error(error: Exception, apify: ApifyResource) -> str:
    """Return a one-line description of a scrape error, with the HTTP status and attempts.

    Transport errors name the API URL, so a wrong APIFY_API_URL can be distinguished from an outage.
    """
    if isinstance(error, ApifyApiError):
        return (
            f"{type(error).__name__}: HTTP {error.status_code} on {error.http_method} after "
            f"{error.attempt} attempts: {error.message}"
        )
    if isinstance(error, impit.HTTPError):
        return f"{type(error).__name__}: {error} (Apify API at {apify.display_url})"
    return f"{type(error).__name__}: {error}"


def _newest(current: CanonicalJob | None, candidate: CanonicalJob) -> CanonicalJob:
    """Pick the most recently posted of two items of one posting, deterministically."""
    if current is None:
        return candidate

    def rank(job: CanonicalJob) -> tuple:
        posted = job.posted_at.timestamp() if job.posted_at else float("-inf")
        return (posted, job.url or "", job.title)

    return candidate if rank(candidate) > rank(current) else current


def _compute_units(run: Any) -> float | None:
    stats = getattr(run, "stats", None)
    return getattr(stats, "compute_units", None) if stats is not None else None


def _consecutive_failures(engine: sa.Engine, criteria_set_id: int) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(CriteriaSet.consecutive_failures).where(CriteriaSet.id == criteria_set_id)
        ).scalar_one()
