"""Due criteria sets, their priority order and the per-run cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from jobs_pipeline.criteria.eligibility import eligible_criteria_filter
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.database.models import CriteriaSet, CriteriaSetMember, JobCriteria, User

# Priority classes, scraped in this order inside the cap.
NEW, RETRY, DUE = 0, 1, 2
REASONS = {NEW: "never fetched", RETRY: "retry after failure", DUE: "due"}


@dataclass(frozen=True)
class SetState:
    """The stored state of one eligible criteria set."""

    criteria_set_id: int
    set_key: str
    source: str
    canonical: dict[str, Any]
    member_count: int
    last_member_active_at: datetime
    last_success_at: datetime | None
    consecutive_failures: int
    retry_requested: bool
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class DueSet:
    """A set that is due, with its priority class and how long it has been due."""

    state: SetState
    priority: int
    # Seconds since the set's refresh interval ended (0 for new and retried sets).
    overdue: float

    @property
    def reason(self) -> str:
        """Return why the set is due, for logs and the UI."""
        return REASONS[self.priority]


def load_set_states(engine: sa.Engine, activity_cutoff: datetime) -> list[SetState]:
    """Return every criteria set with at least one eligible member, with member statistics."""
    stats = (
        sa.select(
            CriteriaSetMember.criteria_set_id,
            sa.func.count().label("member_count"),
            sa.func.max(User.last_active_at).label("last_member_active_at"),
        )
        .join(JobCriteria, JobCriteria.id == CriteriaSetMember.criteria_id)
        .join(User, User.id == JobCriteria.user_id)
        .where(eligible_criteria_filter(activity_cutoff))
        .group_by(CriteriaSetMember.criteria_set_id)
        .subquery()
    )
    last_active = sa.type_coerce(stats.c.last_member_active_at, User.last_active_at.type)
    query = sa.select(
        CriteriaSet.id,
        CriteriaSet.set_key,
        CriteriaSet.source,
        CriteriaSet.canonical,
        stats.c.member_count,
        last_active,
        CriteriaSet.last_success_at,
        CriteriaSet.consecutive_failures,
        CriteriaSet.retry_requested,
        CriteriaSet.next_attempt_at,
    ).join(stats, stats.c.criteria_set_id == CriteriaSet.id)
    with engine.connect() as connection:
        return [SetState(*row) for row in connection.execute(query)]


def due_sets(states: list[SetState], policy: RefreshPolicyResource, now: datetime) -> list[DueSet]:
    """Return the due sets, highest priority first.

    Order: never-fetched sets, then sets marked for retry whose backoff has passed, then the
    sets that have been due longest, ties by member count. Due time, rather than elapsed time
    over the interval, keeps the order first-come first-served across tiers. With the ratio,
    hot sets gain faster than warm ones, so under a full cap warm sets would wait far longer
    than due / cap runs.
    """
    tolerance = timedelta(minutes=policy.due_tolerance_minutes)
    hot_since = now - timedelta(hours=policy.hot_window_hours)
    due: list[DueSet] = []
    for state in states:
        hot = state.last_member_active_at >= hot_since
        interval = timedelta(hours=policy.hot_interval_hours if hot else policy.warm_interval_hours)
        if state.retry_requested:
            if state.next_attempt_at is None or state.next_attempt_at <= now + tolerance:
                due.append(DueSet(state, RETRY, 0.0))
            continue
        if state.last_success_at is None:
            due.append(DueSet(state, NEW, 0.0))
            continue
        elapsed = now - state.last_success_at
        if elapsed >= interval - tolerance:
            due.append(DueSet(state, DUE, (elapsed - interval).total_seconds()))
    due.sort(
        key=lambda item: (
            item.priority,
            -item.overdue,
            -item.state.member_count,
            item.state.set_key,
        )
    )
    return due


def retry_backoff(consecutive_failures: int, policy: RefreshPolicyResource) -> timedelta:
    """Return how long a set waits before its next retry after this many failures in a row.

    The first retry comes at the next run; later ones wait 1, 3, 7, ... times the base, so a
    broken set cannot take a slot of every run.
    """
    base = timedelta(hours=policy.retry_backoff_hours)
    steps = 2 ** max(consecutive_failures - 1, 0) - 1
    return min(base * steps, timedelta(hours=policy.max_retry_backoff_hours))


def within_cap_and_budget(
    due: list[DueSet], estimates: list[float], *, max_sets: int, max_usd: float | None
) -> list[int]:
    """Return the indexes of the due sets a run scrapes, in priority order.

    Sets are taken in order until the cap is reached or the next set's estimated cost would
    take the total past the budget. Everything after that is deferred, so a cheaper set never
    jumps ahead of a more urgent one.
    """
    chosen: list[int] = []
    total = 0.0
    for index, estimate in enumerate(estimates[: len(due)]):
        if len(chosen) >= max_sets or (max_usd is not None and total + estimate > max_usd):
            break
        chosen.append(index)
        total += estimate
    return chosen
