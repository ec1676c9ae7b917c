"""Planning of a new run of the local Apify server: its items, final status and duration."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from jobs_pipeline.apify import sample_data
from jobs_pipeline.apify.local_server.faults import (
    OUTCOME_FAULT_MODES,
    PAGE_FAULT_MODES,
    FaultRule,
)
from jobs_pipeline.apify.local_server.runs import RunOptions, RunPlan


def plan_run(
    search: sample_data.SearchRequest,
    count: int,
    options: RunOptions,
    rules: Sequence[FaultRule],
    reference_date: date,
    *,
    latency_seconds: float,
    seed: int,
) -> RunPlan:
    """Generate a run's items and decide how many the run pushes, how it ends and when.

    Args:
        search: Parsed run input of the actor.
        count: Number of postings to generate.
        options: Run options. A nonzero `timeout_seconds` shorter than the run's duration
            ends the run TIMED-OUT.
        rules: Fault rules that apply to the run, in the order they were added.
        reference_date: The "today" that posting dates and ages are computed from.
        latency_seconds: Run duration when no fault rule or timeout changes it.
        seed: Seed for the sample postings.
    """
    items = sample_data.generate_postings(search, count, seed=seed, reference_date=reference_date)
    for rule in rules:
        if rule.mode == "malformed_items":
            items = sample_data.make_items_malformed(items, search.family)
        elif rule.mode == "oversized_items":
            items = sample_data.make_items_oversized(items, search.family)
        elif rule.mode == "duplicate_items":
            items = sample_data.make_items_duplicated(
                items, search.family, reference_date=reference_date
            )

    outcome = next((rule.mode for rule in rules if rule.mode in OUTCOME_FAULT_MODES), None)
    duration: float | None = latency_seconds
    final_status = "SUCCEEDED"
    final_count = len(items)
    final_message = f"Finished: {final_count} job postings saved to the dataset."
    if outcome == "hang":
        duration = None
    elif outcome == "failed":
        final_status, final_count = "FAILED", 0
        final_message = "The job board blocked every request, so no postings were saved."
    elif outcome == "aborted":
        final_status, final_count = "ABORTED", len(items) // 2
        final_message = "The run was aborted by its owner."
    elif outcome == "timed_out":
        final_status, final_count = "TIMED-OUT", len(items) // 2
        final_message = f"The run timed out with {final_count} job postings saved."
    elif outcome == "empty":
        items, final_count = [], 0
        final_message = "Finished: the search returned no job postings."

    # The platform stops a run at its timeout, so a slower run than the timeout allows
    # ends TIMED-OUT with the items pushed until then. A timeout of 0 means no timeout,
    # and a hanging run ignores the timeout.
    timeout = options.timeout_seconds
    if duration is not None and timeout > 0 and duration > timeout:
        final_count = math.floor(final_count * timeout / duration)
        duration = float(timeout)
        final_status = "TIMED-OUT"
        final_message = f"The run timed out with {final_count} job postings saved."

    page_delay = next((rule.delay_seconds for rule in rules if rule.mode in PAGE_FAULT_MODES), 0.0)
    return RunPlan(
        items=items,
        final_item_count=final_count,
        final_status=final_status,
        final_message=final_message,
        duration_seconds=duration,
        fault_modes=tuple(rule.mode for rule in rules),
        page_delay_seconds=page_delay,
    )
