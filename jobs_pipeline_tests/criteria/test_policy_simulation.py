"""Many simulated runs over a changing population, on a fake clock, against the real SQL.

Scrapes are simulated by writing their outcome the way the scrape step does, so the test
covers selection, the cap, tiers, retries and backoff together without any actor.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from jobs_pipeline.batches import store
from jobs_pipeline.criteria.eligibility import key_eligible_criteria
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.criteria.selection import (
    due_sets,
    load_set_states,
    retry_backoff,
    within_cap_and_budget,
)
from jobs_pipeline.database.models import JobCriteria, User
from jobs_pipeline_tests.factories import add_criteria, add_user

RUNS = 60
CAP = 4
USERS = 60
SEARCHES = [f"search {number}" for number in range(25)]
FAILURE_RATE = 0.1
SCHEDULE = timedelta(hours=4)


def eligible_set_ids(engine, now, policy) -> set[int]:
    cutoff = now - timedelta(days=policy.pause_after_inactive_days)
    return {state.criteria_set_id for state in load_set_states(engine, cutoff)}


def change_population(engine, rng: random.Random, now: datetime) -> None:
    with engine.begin() as connection:
        for user_id in range(1, USERS + 1):
            roll = rng.random()
            if roll < 0.08:
                active_at = now - timedelta(hours=rng.uniform(0, 2))
            elif roll < 0.12:
                active_at = now - timedelta(days=rng.uniform(8, 12))
            else:
                continue
            connection.execute(
                sa.update(User).where(User.id == user_id).values(last_active_at=active_at)
            )
        for criteria_id in rng.sample(range(1, USERS + 1), k=3):
            connection.execute(
                sa.update(JobCriteria)
                .where(JobCriteria.id == criteria_id)
                .values(is_active=~JobCriteria.is_active, updated_at=now)
            )


def test_no_starvation_and_no_paused_scrape(engine):
    rng = random.Random(20261204)
    policy = RefreshPolicyResource(max_sets_per_run=CAP)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(USERS):
        user_id = add_user(engine, active_hours_ago=rng.uniform(0, 24 * 10), now=start)
        add_criteria(engine, user_id, rng.choice(SEARCHES), now=start)

    due_since: dict[int, tuple[int, int]] = {}  # set id -> (first run due, most due seen)
    scraped_total = 0
    for run in range(RUNS):
        # Schedule jitter of up to a minute either way, as a real daemon has.
        now = start + run * SCHEDULE + timedelta(seconds=rng.uniform(-60, 60))
        change_population(engine, rng, now)
        cutoff = now - timedelta(days=policy.pause_after_inactive_days)
        key_eligible_criteria(engine, activity_cutoff=cutoff, now=now)
        states = load_set_states(engine, cutoff)
        due = due_sets(states, policy, now)
        chosen = [
            due[index]
            for index in within_cap_and_budget(due, [0.0] * len(due), max_sets=CAP, max_usd=None)
        ]

        eligible = eligible_set_ids(engine, now, policy)
        due_ids = {item.state.criteria_set_id for item in due}
        for set_id in list(due_since):
            if set_id not in due_ids:
                del due_since[set_id]
        for set_id in due_ids:
            first, most = due_since.get(set_id, (run, 0))
            due_since[set_id] = (first, max(most, len(due)))

        for item in chosen:
            set_id = item.state.criteria_set_id
            assert set_id in eligible, f"run {run} scraped paused set {set_id}"
            first, most = due_since.pop(set_id)
            waited = run - first
            assert waited <= math.ceil(most / CAP) + 1, (
                f"set {set_id} waited {waited} runs with at most {most} due sets"
            )
            failed = rng.random() < FAILURE_RATE
            record = store.BatchRecord(
                criteria_set_id=set_id,
                dagster_run_id=f"run-{run}",
                status="failed" if failed else "succeeded",
                apify_run_id=None,
                dataset_id=None,
                started_at=now,
                finished_at=now,
                items_received=0,
                items_rejected=0,
                estimated_usd=0.0,
                rejected_by_reason=None,
                actual_usd=None,
                compute_units=None,
                error="simulated failure" if failed else None,
            )
            if failed:
                backoff = retry_backoff(item.state.consecutive_failures + 1, policy)
                store.store_failure(engine, record, backoff=backoff, clear_pending=True)
            else:
                store.store_batch(engine, record, [])
            scraped_total += 1

    assert scraped_total > RUNS * CAP // 2
