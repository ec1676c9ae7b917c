"""Thread-safe in-memory store of the local Apify server's actors, runs and datasets.

A run's state is computed from the clock whenever a request reads it, so no thread runs per run.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jobs_pipeline.apify.local_server import api_objects
from jobs_pipeline.apify.local_server.runs import (
    TERMINAL_STATUSES,
    Actor,
    Dataset,
    Run,
    RunOptions,
    RunPlan,
    RunSummary,
    format_time,
    new_id,
)

logger = logging.getLogger(__name__)


class RunStore:
    """Thread-safe store of actors, runs and datasets that advances runs by the clock."""

    def __init__(self, *, price_per_item_usd: float, console_base_url: Callable[[], str]) -> None:
        self._condition = threading.Condition()
        self._price_per_item_usd = price_per_item_usd
        self._console_base_url = console_base_url
        self._actors_by_name: dict[str, Actor] = {}
        self._actors_by_id: dict[str, Actor] = {}
        self._runs: dict[str, Run] = {}
        self._runs_in_start_order: list[Run] = []
        self._datasets: dict[str, Run] = {}
        self._stopping = False

    def stop_waiting(self) -> None:
        """Wake every request that waits for a run, so that the server can stop."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()

    def resolve_actor(self, reference: str, *, create: bool) -> Actor | None:
        """Return the actor for an actor id or `user~name`, or None if it is unknown.

        With `create`, an unknown reference registers a new actor under that name.
        """
        name = reference.replace("/", "~")
        with self._condition:
            actor = self._actors_by_id.get(reference) or self._actors_by_name.get(name)
            if actor is None and create:
                actor = Actor(
                    name=name,
                    act_id=new_id(),
                    build_id=new_id(),
                    created_at=datetime.now(UTC),
                )
                self._actors_by_name[name] = actor
                self._actors_by_id[actor.act_id] = actor
            return actor

    def create_run(
        self,
        actor: Actor,
        *,
        actor_reference: str,
        run_input: Any,
        input_body_length: int,
        options: RunOptions,
        plan: RunPlan,
        user_agent: str,
    ) -> Run:
        """Register a new run with an empty dataset and return it."""
        now = datetime.now(UTC)
        dataset = Dataset(id=new_id(), created_at=now, modified_at=now, accessed_at=now)
        run = Run(
            id=new_id(),
            actor=actor,
            actor_reference=actor_reference,
            run_input=run_input,
            input_body_length=input_body_length,
            options=options,
            plan=plan,
            user_agent=user_agent,
            started_monotonic=time.monotonic(),
            started_at=now,
            dataset=dataset,
            key_value_store_id=new_id(),
            request_queue_id=new_id(),
        )
        with self._condition:
            self._runs[run.id] = run
            self._runs_in_start_order.append(run)
            self._datasets[dataset.id] = run
            self._advance(run, time.monotonic())
        return run

    def get_run(self, run_id: str) -> Run | None:
        """Return the run with this id, or None."""
        with self._condition:
            return self._runs.get(run_id)

    def last_run(self, actor: Actor, status: str | None) -> Run | None:
        """Return the most recently started run of the actor, optionally with this status."""
        now = time.monotonic()
        with self._condition:
            for run in reversed(self._runs_in_start_order):
                self._advance(run, now)
                if run.actor is actor and (status is None or run.status == status):
                    return run
        return None

    def run_of_dataset(self, dataset_id: str) -> Run | None:
        """Return the run whose default dataset has this id, or None."""
        with self._condition:
            return self._datasets.get(dataset_id)

    def count_runs(self, actor: Actor) -> int:
        """Return how many runs of the actor the server started."""
        with self._condition:
            return sum(1 for run in self._runs_in_start_order if run.actor is actor)

    def wait_for_run(self, run: Run, wait_seconds: float) -> None:
        """Block until the run ends, `wait_seconds` pass or the server stops."""
        deadline = time.monotonic() + wait_seconds
        with self._condition:
            while True:
                now = time.monotonic()
                self._advance(run, now)
                if run.status in TERMINAL_STATUSES or now >= deadline or self._stopping:
                    return
                timeout = deadline - now
                if run.plan.duration_seconds is not None:
                    ends_in = run.started_monotonic + run.plan.duration_seconds - now
                    timeout = min(timeout, max(ends_in, 0.001))
                self._condition.wait(timeout)

    def abort_run(self, run: Run) -> None:
        """End a run that has not ended yet with status ABORTED, keeping its pushed items.

        NOTE: A run that has already ended is returned unchanged. Whether the real API
        rejects such an abort instead was not checked.
        """
        with self._condition:
            now = time.monotonic()
            self._advance(run, now)
            if run.status in TERMINAL_STATUSES:
                return
            run.status = "ABORTED"
            run.status_message = "The run was aborted through the API."
            run.finished_monotonic = now
            self._condition.notify_all()
            logger.info("Aborted run %s of actor %s", run.id, run.actor.name)

    def run_json(self, run: Run) -> dict[str, Any]:
        """Return the Run object of the Apify API for the run's current state."""
        with self._condition:
            now = time.monotonic()
            self._advance(run, now)
            return api_objects.run_json(run, now, price_per_item_usd=self._price_per_item_usd)

    def summaries(self) -> list[RunSummary]:
        """Return a snapshot of every run, in start order."""
        now = time.monotonic()
        with self._condition:
            snapshots = []
            for run in self._runs_in_start_order:
                self._advance(run, now)
                finished_at = api_objects.run_finished_at(run)
                snapshots.append(
                    RunSummary(
                        run_id=run.id,
                        actor_id=run.actor_reference,
                        run_input=run.run_input,
                        status=run.status,
                        dataset_id=run.dataset.id,
                        item_count=len(run.dataset.items),
                        fault_modes=run.plan.fault_modes,
                        started_at=format_time(run.started_at),
                        finished_at=format_time(finished_at) if finished_at else None,
                        usage_total_usd=api_objects.run_usage_total_usd(
                            run, self._price_per_item_usd
                        ),
                        compute_units=api_objects.run_compute_units(run, now),
                    )
                )
            return snapshots

    def dataset_json(self, run: Run) -> dict[str, Any]:
        """Return the Dataset object of the Apify API for the run's default dataset."""
        with self._condition:
            self._advance(run, time.monotonic())
            run.dataset.accessed_at = datetime.now(UTC)
            return api_objects.dataset_json(run, console_base_url=self._console_base_url())

    def dataset_items(self, run: Run) -> list[dict[str, Any]]:
        """Return a copy of the list of items that the run has pushed so far."""
        with self._condition:
            self._advance(run, time.monotonic())
            run.dataset.read_count += 1
            run.dataset.accessed_at = datetime.now(UTC)
            return list(run.dataset.items)

    def log_text(self, run: Run) -> str:
        """Return the run log, with one line per event that starts with an ISO 8601 time."""
        with self._condition:
            self._advance(run, time.monotonic())
            lines = [
                f"{format_time(run.started_at)} ACTOR: Starting build {run.actor.build_id}.",
                f"{format_time(run.started_at)} INFO  Job search started, "
                f"{run.plan.final_item_count} postings expected.",
            ]
            finished_at = api_objects.run_finished_at(run)
            if finished_at is not None:
                lines.append(f"{format_time(finished_at)} INFO  {run.status_message}")
            return "\n".join(lines) + "\n"

    def _advance(self, run: Run, now: float) -> None:
        """Bring a run up to date with the clock. The caller holds the condition's lock."""
        if run.status in TERMINAL_STATUSES:
            return
        plan = run.plan
        if plan.duration_seconds is None:
            run.status_message = "Waiting for the job board to respond"
            return

        elapsed = now - run.started_monotonic
        if elapsed >= plan.duration_seconds:
            self._push_items(run, plan.final_item_count)
            run.status = plan.final_status
            run.status_message = plan.final_message
            run.finished_monotonic = run.started_monotonic + plan.duration_seconds
            self._condition.notify_all()
            return

        pushed = math.floor(plan.final_item_count * elapsed / plan.duration_seconds)
        self._push_items(run, pushed)
        run.status_message = f"Saved {pushed} of {plan.final_item_count} job postings"

    def _push_items(self, run: Run, target_count: int) -> None:
        items = run.dataset.items
        if len(items) < target_count:
            items.extend(run.plan.items[len(items) : target_count])
            run.dataset.modified_at = datetime.now(UTC)

    def actor_json(self, actor: Actor) -> dict[str, Any]:
        """Return a minimal Actor object of the Apify API."""
        return api_objects.actor_json(
            actor,
            total_runs=self.count_runs(actor),
            price_per_item_usd=self._price_per_item_usd,
        )
