from datetime import UTC, datetime, timedelta

import pytest

from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.criteria.selection import (
    DUE,
    NEW,
    RETRY,
    SetState,
    due_sets,
    retry_backoff,
    within_cap_and_budget,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POLICY = RefreshPolicyResource()


def state(
    key,
    *,
    members=1,
    active_hours_ago=1.0,
    success_hours_ago=None,
    retry=False,
    next_attempt_at=None,
    failures=0,
):
    return SetState(
        criteria_set_id=hash(key) % 10_000,
        set_key=key,
        source="linkedin",
        canonical={},
        member_count=members,
        last_member_active_at=NOW - timedelta(hours=active_hours_ago),
        last_success_at=None
        if success_hours_ago is None
        else NOW - timedelta(hours=success_hours_ago),
        consecutive_failures=failures,
        retry_requested=retry,
        next_attempt_at=next_attempt_at,
    )


def keys(states):
    return [item.state.set_key for item in due_sets(states, POLICY, NOW)]


def test_priority_new_then_retry_then_overdue():
    states = [
        state("due-a", success_hours_ago=5),
        state("retry", success_hours_ago=1, retry=True, failures=1),
        state("new"),
        state("due-b", success_hours_ago=9),
    ]
    due = due_sets(states, POLICY, NOW)
    assert [item.state.set_key for item in due] == ["new", "retry", "due-b", "due-a"]
    assert [item.priority for item in due] == [NEW, RETRY, DUE, DUE]


def test_ties_broken_by_member_count():
    states = [
        state("few", members=2, success_hours_ago=5),
        state("many", members=9, success_hours_ago=5),
    ]
    assert keys(states) == ["many", "few"]


def test_hot_set_due_after_four_hours():
    assert keys([state("hot", success_hours_ago=3.9)]) == ["hot"]  # within the tolerance
    assert keys([state("hot", success_hours_ago=3.5)]) == []


def test_warm_set_waits_six_hours():
    assert keys([state("warm", active_hours_ago=48, success_hours_ago=5)]) == []
    assert keys([state("warm", active_hours_ago=48, success_hours_ago=6)]) == ["warm"]


def test_retry_waits_for_backoff():
    later = NOW + timedelta(hours=3)
    assert keys([state("broken", retry=True, failures=2, next_attempt_at=later)]) == []
    assert keys([state("broken", retry=True, failures=2, next_attempt_at=NOW)]) == ["broken"]


@pytest.mark.parametrize(("failures", "hours"), [(1, 0), (2, 4), (3, 12), (4, 24), (9, 24)])
def test_retry_backoff_grows_then_caps(failures, hours):
    assert retry_backoff(failures, POLICY) == timedelta(hours=hours)


def test_budget_defers_rest_in_order():
    due = due_sets([state(f"s{i}") for i in range(5)], POLICY, NOW)
    chosen = within_cap_and_budget(due, [0.4, 0.4, 0.3, 0.1, 0.1], max_sets=10, max_usd=1.0)
    assert chosen == [0, 1]


def test_cap_without_budget():
    due = due_sets([state(f"s{i}") for i in range(5)], POLICY, NOW)
    assert within_cap_and_budget(due, [1.0] * 5, max_sets=3, max_usd=None) == [0, 1, 2]


def test_zero_budget_selects_nothing():
    due = due_sets([state("s0")], POLICY, NOW)
    assert within_cap_and_budget(due, [0.01], max_sets=3, max_usd=0.0) == []
