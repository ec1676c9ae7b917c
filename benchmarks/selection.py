"""Selection and deduplication: the pipeline's keying and set selection against one GROUP BY.

The pipeline keys criteria in Python, because a set key is computed from the criteria's
Unicode NFKC, case-folded form. The floor groups by `lower(trim(keywords))`, location,
remote mode and source in SQL, which is equivalent only because the generated workload is
canonical apart from letter case and surrounding spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from benchmarks.timing import stopwatch
from jobs_pipeline.criteria.eligibility import count_eligible, key_eligible_criteria
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.criteria.selection import DueSet, due_sets, load_set_states

FLOOR_QUERY = """
SELECT lower(trim(c.keywords)) AS keywords, c.location, c.remote, c.source,
       count(*) AS member_count, max(u.last_active_at) AS last_member_active_at
FROM job_criteria c
JOIN users u ON u.id = c.user_id
WHERE c.is_active AND u.last_active_at >= %(cutoff)s
GROUP BY 1, 2, 3, 4
ORDER BY member_count DESC, 1, 2, 3, 4
"""


@dataclass(frozen=True)
class PipelineSelection:
    """Timings in seconds of the four steps and what they returned."""

    key_seconds: float
    count_seconds: float
    load_seconds: float
    due_seconds: float
    criteria_keyed: int
    criteria_eligible: int
    sets_eligible: int
    due: list[DueSet]

    @property
    def total_seconds(self) -> float:
        """Return the time of all four steps."""
        return self.key_seconds + self.count_seconds + self.load_seconds + self.due_seconds


def run_pipeline(engine: sa.Engine, policy: RefreshPolicyResource, now: datetime):
    """Run what `eligible_criteria` and `criteria_sets` do to the database, step by step."""
    cutoff = now - timedelta(days=policy.pause_after_inactive_days)
    with stopwatch() as key_time:
        keyed, rejected = key_eligible_criteria(engine, activity_cutoff=cutoff, now=now)
    with stopwatch() as count_time:
        criteria_count, set_count = count_eligible(engine, cutoff)
    with stopwatch() as load_time:
        states = load_set_states(engine, cutoff)
    with stopwatch() as due_time:
        due = due_sets(states, policy, now)
    if rejected:
        raise RuntimeError(f"the generated workload has {len(rejected)} unsearchable criteria")
    return PipelineSelection(
        key_time[0], count_time[0], load_time[0], due_time[0], keyed, criteria_count, set_count, due
    )


def run_floor(engine: sa.Engine, cutoff: datetime) -> tuple[float, list[tuple]]:
    """Run the GROUP BY floor and return its time in seconds and its rows."""
    with stopwatch() as elapsed, engine.connect() as connection:
        rows = connection.exec_driver_sql(FLOOR_QUERY, {"cutoff": cutoff}).all()
    return elapsed[0], rows


def check_same_sets(pipeline: PipelineSelection, floor_rows: list[tuple]) -> None:
    """Raise unless the floor found the same number of sets with the same member counts."""
    pipeline_counts = sorted((item.state.member_count for item in pipeline.due), reverse=True)
    floor_counts = [row.member_count for row in floor_rows]
    if len(floor_rows) != pipeline.sets_eligible or pipeline_counts != floor_counts:
        raise RuntimeError(
            f"the floor query found {len(floor_rows)} sets but the pipeline "
            f"{pipeline.sets_eligible}: the workload is not canonical as the floor assumes"
        )
