"""Actor adapters: criteria set to actor input, and the price model for credit estimates.

Each supported job board has one adapter. `key_fields` are the canonical criteria fields the
adapter sends to the actor, so they and only they form the criteria set key. Every other filter
of a candidate (for example a minimum salary) applies at link time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# Slack added to the time since the last success, so a posting published while the previous
# scrape ran is still inside the narrowed posted-date window.
POSTED_WINDOW_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class ActorAdapter:
    """The input builder and price model of one job board's actor."""

    source: str
    default_actor_id: str
    key_fields: tuple[str, ...]
    link_filters: tuple[str, ...]
    # Posted-date filters the actor supports, as (window, actor value), narrowest first.
    posted_windows: tuple[tuple[timedelta, str], ...]
    # Pay-per-result price of the actor in USD; 0 means the run is billed by compute units.
    price_per_result_usd: float
    # Price of one compute unit (1 GB of memory for 1 hour) on the Apify platform, in USD.
    compute_unit_usd: float = 0.4

    def posted_window(
        self, posted_within_days: int | None, since_last_success: timedelta | None
    ) -> str | None:
        """Return the narrowest supported posted-date filter covering the wanted window.

        The wanted window is the criteria's own `posted_within_days`, narrowed to the time
        since the set's last successful scrape, so a refresh pays only for new postings.
        None means no filter (the actor's widest search).
        """
        windows = []
        if posted_within_days is not None:
            windows.append(timedelta(days=posted_within_days))
        if since_last_success is not None:
            windows.append(since_last_success + POSTED_WINDOW_SLACK)
        if not windows:
            return None
        wanted = min(windows)
        for window, value in self.posted_windows:
            if window >= wanted:
                return value
        return None

    def estimate_usd(self, *, max_items: int, memory_mbytes: int, timeout: timedelta) -> float:
        """Return the worst-case cost of one run: per-result price, or memory times timeout."""
        if self.price_per_result_usd > 0:
            return round(self.price_per_result_usd * max_items, 6)
        compute_units = memory_mbytes / 1024 * timeout.total_seconds() / 3600
        return round(compute_units * self.compute_unit_usd, 6)

    def build_input(
        self,
        canonical: dict[str, Any],
        *,
        max_items: int,
        since_last_success: timedelta | None,
    ) -> dict[str, Any]:
        """Return the actor input for a criteria set's canonical fields."""
        raise NotImplementedError


@dataclass(frozen=True)
class LinkedInAdapter(ActorAdapter):
    """LinkedIn jobs scraper: searches by title, location, work type and posted date."""

    def build_input(
        self,
        canonical: dict[str, Any],
        *,
        max_items: int,
        since_last_success: timedelta | None,
    ) -> dict[str, Any]:
        run_input: dict[str, Any] = {
            "title": " ".join(canonical["keywords"]),
            "location": canonical.get("location") or "",
            "rows": max_items,
            "publishedAt": self.posted_window(
                canonical.get("posted_within_days"), since_last_success
            )
            or "",
        }
        work_type = {"onsite": "1", "remote": "2", "hybrid": "3"}.get(canonical["remote"])
        if work_type:
            run_input["workType"] = work_type
        return run_input


@dataclass(frozen=True)
class IndeedAdapter(ActorAdapter):
    """Indeed scraper: searches by position text, location and posted date.

    The actor has no remote filter, so a remote mode other than "any" is added to the position
    text, which is how Indeed's own search box finds remote and hybrid postings.
    """

    def build_input(
        self,
        canonical: dict[str, Any],
        *,
        max_items: int,
        since_last_success: timedelta | None,
    ) -> dict[str, Any]:
        position = " ".join(canonical["keywords"])
        if canonical["remote"] != "any":
            position = f"{position} {canonical['remote']}"
        run_input: dict[str, Any] = {
            "position": position,
            "location": canonical.get("location") or "",
            "maxItems": max_items,
            "saveOnlyUniqueItems": True,
        }
        from_days = self.posted_window(canonical.get("posted_within_days"), since_last_success)
        if from_days:
            run_input["fromDays"] = from_days
        return run_input


LINKEDIN = LinkedInAdapter(
    source="linkedin",
    default_actor_id="bebity/linkedin-jobs-scraper",
    key_fields=("source", "keywords", "location", "remote", "posted_within_days"),
    link_filters=("min_salary",),
    posted_windows=(
        (timedelta(days=1), "r86400"),
        (timedelta(days=7), "r604800"),
        (timedelta(days=30), "r2592000"),
    ),
    price_per_result_usd=0.001,
)

INDEED = IndeedAdapter(
    source="indeed",
    default_actor_id="misceres/indeed-scraper",
    key_fields=("source", "keywords", "location", "remote", "posted_within_days"),
    link_filters=("min_salary",),
    posted_windows=(
        (timedelta(days=1), "1"),
        (timedelta(days=3), "3"),
        (timedelta(days=7), "7"),
        (timedelta(days=14), "14"),
    ),
    price_per_result_usd=0.0,
)

ADAPTERS: dict[str, ActorAdapter] = {adapter.source: adapter for adapter in (LINKEDIN, INDEED)}


def get_adapter(source: str) -> ActorAdapter:
    """Return the adapter of a source, or raise `KeyError` naming the known sources."""
    try:
        return ADAPTERS[source]
    except KeyError:
        raise KeyError(
            f"no actor adapter for source {source!r}: known are {sorted(ADAPTERS)}"
        ) from None
