"""Link creation: `link_batch` over a run's batches against one INSERT … SELECT over them all."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa

from benchmarks.postgres import checkpoint
from benchmarks.timing import stopwatch
from jobs_pipeline.apify.resource import ApifyResource
from jobs_pipeline.batches.scrape import scrape_set
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.criteria.selection import DueSet
from jobs_pipeline.links.store import link_batch
from jobs_pipeline.summaries import SelectedSet

BENCH_TOKEN = "apify_api_benchmark_token_0123456789"

# The same joins and filters as `link_batch`, for all batches in one statement.
FLOOR_STATEMENT = """
INSERT INTO user_jobs (user_id, job_id, criteria_id, created_at)
SELECT c.user_id, bi.job_id, c.id, %(now)s
FROM job_batch_items bi
JOIN job_batches b ON b.id = bi.batch_id
JOIN criteria_set_members m ON m.criteria_set_id = b.criteria_set_id
JOIN job_criteria c ON c.id = m.criteria_id
JOIN users u ON u.id = c.user_id
JOIN jobs j ON j.id = bi.job_id
WHERE bi.batch_id = ANY(%(batch_ids)s)
  AND c.is_active AND u.last_active_at >= %(cutoff)s
  AND (c.min_salary IS NULL OR j.salary_max IS NULL OR j.salary_max >= c.min_salary)
ON CONFLICT (user_id, job_id) DO NOTHING
"""


def scrape_selected(
    engine: sa.Engine,
    due: list[DueSet],
    *,
    apify_url: str,
    policy: RefreshPolicyResource,
    max_items: int,
) -> list[int]:
    """Scrape the first `max_sets_per_run` due sets through the pipeline and return batch ids."""
    apify = ApifyResource(token=BENCH_TOKEN, api_url=apify_url, max_items=max_items)
    log = logging.getLogger("benchmarks.scrape")
    batch_ids = []
    now = datetime.now(UTC)
    for item in due[: policy.max_sets_per_run]:
        state = item.state
        selected = SelectedSet(
            criteria_set_id=state.criteria_set_id,
            set_key=state.set_key,
            source=state.source,
            canonical=state.canonical,
            member_count=state.member_count,
            reason=item.reason,
            last_success_at=state.last_success_at,
            estimated_usd=apify.run_settings(state.source).estimated_usd,
            selected_at=now,
        )
        summary = scrape_set(
            selected,
            engine=engine,
            apify=apify,
            policy=policy,
            dagster_run_id="benchmark",
            log=log,
        )
        if not summary.stored:
            raise RuntimeError(f"scraping set {state.set_key[:16]} failed: {summary.error}")
        batch_ids.append(summary.batch_id)
    return batch_ids


def clear_links(engine: sa.Engine) -> None:
    """Delete every link and checkpoint, so each timed insert starts from the same state."""
    with engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE user_jobs")
    checkpoint(engine)


def run_pipeline(engine: sa.Engine, batch_ids: list[int], cutoff: datetime) -> tuple[float, int]:
    """Link every batch as `user_job_links` does and return seconds and links created."""
    created = 0
    with stopwatch() as elapsed:
        for batch_id in batch_ids:
            created += link_batch(engine, batch_id, activity_cutoff=cutoff, now=datetime.now(UTC))
    return elapsed[0], created


def run_floor(engine: sa.Engine, batch_ids: list[int], cutoff: datetime) -> tuple[float, int]:
    """Link every batch in one statement and return seconds and links created."""
    parameters = {"now": datetime.now(UTC), "batch_ids": batch_ids, "cutoff": cutoff}
    with stopwatch() as elapsed, engine.begin() as connection:
        created = connection.exec_driver_sql(FLOOR_STATEMENT, parameters).rowcount
    return elapsed[0], created
