"""Small typed summaries that steps pass to each other.

They carry ids and counts only. Jobs and links stay in the database, so the same code runs on
executors whose steps share no memory or disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RejectedCriteria:
    """A criteria row skipped because it cannot be searched."""

    criteria_id: int
    reason: str


@dataclass(frozen=True)
class EligibleCriteriaSummary:
    """Output of `eligible_criteria`: the window used and what it admitted."""

    run_started_at: datetime
    activity_cutoff: datetime
    criteria_eligible: int
    criteria_keyed: int
    criteria_rejected: int
    sets_eligible: int
    rejected: tuple[RejectedCriteria, ...] = ()


@dataclass(frozen=True)
class SelectedSet:
    """A criteria set chosen for scraping in this run."""

    criteria_set_id: int
    set_key: str
    source: str
    canonical: dict[str, Any]
    member_count: int
    reason: str
    last_success_at: datetime | None
    estimated_usd: float
    # When the run chose this set; another run's attempt after it means the set is done.
    selected_at: datetime

    @property
    def mapping_key(self) -> str:
        """Return the Dagster mapping key: letters, digits and underscores only."""
        return f"set_{self.set_key[:16]}"


@dataclass(frozen=True)
class CriteriaSelection:
    """Output of `criteria_sets`: the sets to scrape and what was left for later."""

    activity_cutoff: datetime
    sets_eligible: int
    sets_due: int
    sets_deferred: int
    selected: tuple[SelectedSet, ...]
    estimated_usd: float


@dataclass(frozen=True)
class BatchSummary:
    """The outcome of scraping one criteria set."""

    criteria_set_id: int
    set_key: str
    status: str  # succeeded, partial, empty, failed or skipped
    batch_id: int | None = None
    apify_run_id: str | None = None
    items_received: int = 0
    items_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    jobs_new: int = 0
    jobs_updated: int = 0
    estimated_usd: float = 0.0
    actual_usd: float | None = None
    compute_units: float | None = None
    error: str | None = None
    criteria_ids: tuple[int, ...] = ()

    @property
    def stored(self) -> bool:
        """Return True when the batch stored jobs that can be linked."""
        return self.status in ("succeeded", "partial", "empty") and self.batch_id is not None


@dataclass(frozen=True)
class BatchesSummary:
    """Output of `scraped_job_batches`: every batch of the run and their totals."""

    batches: tuple[BatchSummary, ...]

    @property
    def succeeded(self) -> int:
        """Return the number of sets whose scrape stored jobs."""
        return sum(batch.status in ("succeeded", "partial", "empty") for batch in self.batches)

    @property
    def failed(self) -> int:
        """Return the number of sets whose scrape failed."""
        return sum(batch.status == "failed" for batch in self.batches)

    def total(self, name: str) -> float:
        """Return the sum of a numeric batch field over all batches, None counted as 0."""
        return sum(getattr(batch, name) or 0 for batch in self.batches)
