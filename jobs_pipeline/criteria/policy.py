"""The refresh policy: activity window, tiers, per-run cap, retries and leases."""

from __future__ import annotations

import dagster as dg
from pydantic import Field


class RefreshPolicyResource(dg.ConfigurableResource):
    """The rules for which criteria sets a run may scrape, and how often.

    A set's tier comes from its most recently active member: active within
    `hot_window_hours` refreshes every `hot_interval_hours`, active within
    `pause_after_inactive_days` at most every `warm_interval_hours`, older members are paused.
    """

    max_sets_per_run: int = Field(default=10, description="Criteria sets scraped per run at most.")
    pause_after_inactive_days: int = Field(
        default=7, description="Candidates inactive for longer are paused and never scraped."
    )
    hot_window_hours: int = Field(default=24, description="Activity window of the hot tier.")
    hot_interval_hours: float = Field(default=4, description="Refresh interval of the hot tier.")
    warm_interval_hours: float = Field(default=6, description="Refresh interval of the warm tier.")
    due_tolerance_minutes: int = Field(
        default=15,
        description="A set is due this long before its interval ends, so schedule jitter "
        "does not push it to the next run.",
    )
    max_estimated_usd_per_run: float | None = Field(
        default=None,
        description="Budget in USD: no further set starts once the run's estimated cost would "
        "pass it; those sets are deferred. Empty: no budget.",
    )
    lease_minutes: int = Field(
        default=60,
        description="Minutes a run keeps its lease on a set before other runs may take it.",
    )
    retry_backoff_hours: float = Field(
        default=4,
        description="Base wait after repeated failures: 0, 1, 3, 7 times this for failures 1-4.",
    )
    max_retry_backoff_hours: float = Field(
        default=24, description="Maximum wait between retries of a failing set."
    )
    stuck_after_failures: int = Field(
        default=5, description="A set failing this many runs in a row is reported as stuck."
    )
