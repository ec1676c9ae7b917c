"""The sliding-window rate limiter, driven by a manual clock."""

from __future__ import annotations

import pytest

from jobs_pipeline.trigger.rate_limit import SlidingWindowRateLimiter


class ManualClock:
    """A clock that moves only when the test advances it, in seconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_admits_then_rejects():
    clock = ManualClock()
    limiter = SlidingWindowRateLimiter(3, 60, clock=clock)

    decisions = [limiter.check("10.0.0.1") for _ in range(4)]

    assert [decision.allowed for decision in decisions] == [True, True, True, False]
    assert decisions[3].retry_after_seconds == 60
    assert decisions[3].rejections == 1


def test_window_slides_per_request():
    clock = ManualClock()
    limiter = SlidingWindowRateLimiter(2, 60, clock=clock)
    assert limiter.check("a").allowed
    clock.now += 30
    assert limiter.check("a").allowed

    clock.now += 29
    rejected = limiter.check("a")
    clock.now += 1
    admitted = limiter.check("a")

    assert not rejected.allowed
    assert rejected.retry_after_seconds == 1
    # The first request has left the window, but the second is still in it.
    assert admitted.allowed
    assert admitted.rejections == 1
    assert not limiter.check("a").allowed


def test_rejections_do_not_extend_window():
    clock = ManualClock()
    limiter = SlidingWindowRateLimiter(1, 10, clock=clock)
    assert limiter.check("a").allowed

    for _ in range(5):
        clock.now += 1
        assert not limiter.check("a").allowed
    clock.now += 5

    assert limiter.check("a").allowed


def test_clients_counted_separately():
    clock = ManualClock()
    limiter = SlidingWindowRateLimiter(1, 60, clock=clock)

    assert limiter.check("10.0.0.1").allowed
    assert limiter.check("10.0.0.2").allowed
    assert not limiter.check("10.0.0.1").allowed


def test_least_recent_client_forgotten_beyond_max():
    clock = ManualClock()
    limiter = SlidingWindowRateLimiter(1, 60, max_clients=2, clock=clock)
    assert limiter.check("a").allowed
    assert limiter.check("b").allowed
    assert not limiter.check("a").allowed  # "a" is now the most recently seen

    assert limiter.check("c").allowed  # forgets "b"

    assert limiter.check("b").allowed
    assert not limiter.check("c").allowed


@pytest.mark.parametrize(
    ("limit", "window", "max_clients"), [(0, 60, 10), (1, 0, 10), (1, 60, 0), (-1, 60, 10)]
)
def test_invalid_limits_rejected(limit, window, max_clients):
    with pytest.raises(ValueError, match="must be positive"):
        SlidingWindowRateLimiter(limit, window, max_clients=max_clients)
