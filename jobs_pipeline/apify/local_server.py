"""Local HTTP server that implements the part of the Apify API v2 that the pipeline uses.

The real `apify_client.ApifyClient` talks to it over HTTP when it is created with
`api_url=server.url`. The client appends `/v2` itself. Endpoints (`{actorId}` is the actor id
or `user~name`, `acts` is accepted as an alias of `actors`):

* `POST /v2/actors/{actorId}/runs` starts a run with the JSON body as its input. The query
  parameters `memory`, `timeout`, `maxItems`, `build` and `waitForFinish` are honoured.
* `GET /v2/actors/{actorId}` returns a minimal actor object.
* `GET /v2/actor-runs/{runId}` (optionally `?waitForFinish=N`, at most 60 seconds) and
  `POST /v2/actor-runs/{runId}/abort`. The sub-paths `/dataset`, `/dataset/items` and `/log`
  work too, and all of these also work under `/v2/actors/{actorId}/runs/last`.
* `GET /v2/logs/{runId}`, `GET /v2/datasets/{datasetId}` and
  `GET /v2/datasets/{datasetId}/items`, which sets the five `X-Apify-Pagination-*` headers.
* Test controls outside `/v2`: `GET|POST|DELETE /_admin/faults`, `GET /_admin/runs` and
  `GET /_admin/requests`. They never require the token.

Each run lasts `latency_seconds`, pushing its items to its dataset in proportion to the
elapsed time, and then ends SUCCEEDED. A fault rule, or a run timeout (the `timeout` query
parameter) shorter than the latency, makes it end otherwise. Run state is computed from the
clock whenever a request reads it, so no thread runs per run. Items come from
`jobs_pipeline.apify.sample_data`.

Fault rules change what run creation returns. See `LocalApifyServer.add_fault` for the modes.
Run `python -m jobs_pipeline.apify.local_server --help` for the command-line interface.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hmac
import ipaddress
import json
import logging
import math
import os
import re
import secrets
import signal
import socket
import string
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from jobs_pipeline.apify import sample_data

logger = logging.getLogger(__name__)

HTTP_FAULT_MODES = ("http_429", "http_500", "http_500_echo_token")
"""Fault modes that make run creation return an HTTP error without starting a run."""

OUTCOME_FAULT_MODES = ("hang", "failed", "aborted", "timed_out", "empty")
"""Fault modes that change how a run ends. At most one applies to a run."""

ITEM_FAULT_MODES = ("malformed_items", "oversized_items", "duplicate_items")
"""Fault modes that change the items a run pushes. Several can apply to one run."""

PAGE_FAULT_MODES = ("slow_pages",)
"""Fault modes that delay each dataset items request of the run's dataset."""

FAULT_MODES = HTTP_FAULT_MODES + OUTCOME_FAULT_MODES + ITEM_FAULT_MODES + PAGE_FAULT_MODES

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})

MAX_WAIT_FOR_FINISH_SECONDS = 60
"""Cap on `waitForFinish`. apify-client 3.4.0 documents 60 seconds as the API maximum."""

DEFAULT_MEMORY_MBYTES = 1024
DEFAULT_RUN_TIMEOUT_SECONDS = 3600
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
"""Largest request body, after decompression, that the server accepts."""

NO_LIMIT_PAGINATION_LIMIT = 999_999_999_999
"""`X-Apify-Pagination-Limit` for an items request without a limit.

The value is the one that a comment in apify-client 3.4.0 `DatasetClient.list_items` gives.
"""

LOCAL_USER_ID = "LocalApifyUser001"

_ID_ALPHABET = string.ascii_letters + string.digits


class ApiError(Exception):
    """Error response, sent as `{"error": {"type": ..., "message": ...}}`.

    Attributes:
        status: HTTP status code of the response.
        error_type: Apify error type, for example "record-not-found".
        message: Human-readable message for the response body.
        headers: Extra response headers.
    """

    def __init__(
        self,
        status: HTTPStatus,
        error_type: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}

    def to_json(self) -> dict[str, Any]:
        """Return the JSON response body of the error."""
        return {"error": {"type": self.error_type, "message": self.message}}


@dataclass
class FaultRule:
    """Rule that makes matching run-creation requests fail or produce bad runs.

    Attributes:
        mode: One of `FAULT_MODES`.
        match: Substring that the run input, serialised with
            `json.dumps(run_input, ensure_ascii=False, sort_keys=True)`, must contain. None
            matches every run input.
        times: Remaining number of matching run-creation requests that the rule applies to,
            or None for no limit.
        delay_seconds: Delay before each dataset items response, for `slow_pages` only.
    """

    mode: str
    match: str | None = None
    times: int | None = None
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in FAULT_MODES:
            raise ValueError(
                f"Unknown fault mode {self.mode!r}. Use one of: {', '.join(FAULT_MODES)}."
            )
        if self.match is not None and not isinstance(self.match, str):
            raise ValueError(f"Fault match must be a string or None, got {self.match!r}.")
        if self.times is not None and (
            isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 1
        ):
            raise ValueError(
                f"Fault times must be a whole number of 1 or more, got {self.times!r}."
            )
        if isinstance(self.delay_seconds, bool) or not isinstance(self.delay_seconds, int | float):
            raise ValueError(f"Fault delay_seconds must be a number, got {self.delay_seconds!r}.")
        if self.mode == "slow_pages" and not self.delay_seconds > 0:
            raise ValueError("Fault mode slow_pages needs delay_seconds greater than 0.")
        if self.mode != "slow_pages" and self.delay_seconds != 0:
            raise ValueError(f"delay_seconds applies only to slow_pages, not to {self.mode}.")

    def matches(self, input_text: str) -> bool:
        """Return whether the rule has uses left and its match is part of `input_text`."""
        has_uses_left = self.times is None or self.times > 0
        return has_uses_left and (self.match is None or self.match in input_text)

    def to_json(self) -> dict[str, Any]:
        """Return the rule as a JSON object with the constructor's field names."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RunSummary:
    """Snapshot of a run that the server started, for test assertions.

    Attributes:
        run_id: Run id, as in `GET /v2/actor-runs/{runId}`.
        actor_id: Actor id from the request path, for example "bebity~linkedin-jobs-scraper".
        run_input: Parsed JSON run input.
        status: Run status at the time of the snapshot.
        dataset_id: Id of the run's default dataset.
        item_count: Number of items in the dataset at the time of the snapshot.
        fault_modes: Modes of the fault rules that applied to the run.
        started_at: Start time in ISO 8601 with milliseconds and a "Z" suffix.
        finished_at: End time in the same format, or None while the run has not ended.
        usage_total_usd: Charge so far, the item count times the price per item.
        compute_units: Compute units used so far (1 CU is 1 GB of memory for 1 hour).
    """

    run_id: str
    actor_id: str
    run_input: Any
    status: str
    dataset_id: str
    item_count: int
    fault_modes: tuple[str, ...]
    started_at: str
    finished_at: str | None
    usage_total_usd: float
    compute_units: float

    def to_json(self) -> dict[str, Any]:
        """Return the snapshot as a JSON object with the field names above."""
        data = dataclasses.asdict(self)
        data["fault_modes"] = list(self.fault_modes)
        return data


@dataclass
class _Actor:
    name: str
    act_id: str
    build_id: str
    created_at: datetime


@dataclass
class _Dataset:
    id: str
    created_at: datetime
    modified_at: datetime
    accessed_at: datetime
    items: list[dict[str, Any]] = field(default_factory=list)
    read_count: int = 0


@dataclass(frozen=True)
class _RunOptions:
    build: str
    memory_mbytes: int
    timeout_seconds: int
    max_items: int | None


@dataclass(frozen=True)
class _RunPlan:
    """Planned behaviour of a run, fixed when the run is created.

    `duration_seconds` is None for a run that never ends by itself. The run pushes the first
    `final_item_count` of `items` and then ends with `final_status`.
    """

    items: list[dict[str, Any]]
    final_item_count: int
    final_status: str
    final_message: str
    duration_seconds: float | None
    fault_modes: tuple[str, ...]
    page_delay_seconds: float


@dataclass
class _Run:
    id: str
    actor: _Actor
    actor_reference: str
    run_input: Any
    input_body_length: int
    options: _RunOptions
    plan: _RunPlan
    user_agent: str
    started_monotonic: float
    started_at: datetime
    dataset: _Dataset
    key_value_store_id: str
    request_queue_id: str
    status: str = "RUNNING"
    status_message: str = "Starting the job search"
    finished_monotonic: float | None = None


def _new_id() -> str:
    """Return a random 17-character id in the style of Apify ids.

    Random rather than seeded, so that a restarted server never reuses an id that a
    pipeline database may already hold.
    """
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _RunStore:
    """Thread-safe store of actors, runs and datasets that advances runs by the clock."""

    def __init__(self, *, price_per_item_usd: float, console_base_url: Callable[[], str]) -> None:
        self._condition = threading.Condition()
        self._price_per_item_usd = price_per_item_usd
        self._console_base_url = console_base_url
        self._actors_by_name: dict[str, _Actor] = {}
        self._actors_by_id: dict[str, _Actor] = {}
        self._runs: dict[str, _Run] = {}
        self._runs_in_start_order: list[_Run] = []
        self._datasets: dict[str, _Run] = {}
        self._stopping = False

    def stop_waiting(self) -> None:
        """Wake every request that waits for a run, so that the server can stop."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()

    def resolve_actor(self, reference: str, *, create: bool) -> _Actor | None:
        """Return the actor for an actor id or `user~name`, or None if it is unknown.

        With `create`, an unknown reference registers a new actor under that name.
        """
        name = reference.replace("/", "~")
        with self._condition:
            actor = self._actors_by_id.get(reference) or self._actors_by_name.get(name)
            if actor is None and create:
                actor = _Actor(
                    name=name,
                    act_id=_new_id(),
                    build_id=_new_id(),
                    created_at=datetime.now(UTC),
                )
                self._actors_by_name[name] = actor
                self._actors_by_id[actor.act_id] = actor
            return actor

    def create_run(
        self,
        actor: _Actor,
        *,
        actor_reference: str,
        run_input: Any,
        input_body_length: int,
        options: _RunOptions,
        plan: _RunPlan,
        user_agent: str,
    ) -> _Run:
        """Register a new run with an empty dataset and return it."""
        now = datetime.now(UTC)
        dataset = _Dataset(id=_new_id(), created_at=now, modified_at=now, accessed_at=now)
        run = _Run(
            id=_new_id(),
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
            key_value_store_id=_new_id(),
            request_queue_id=_new_id(),
        )
        with self._condition:
            self._runs[run.id] = run
            self._runs_in_start_order.append(run)
            self._datasets[dataset.id] = run
            self._advance(run, time.monotonic())
        return run

    def get_run(self, run_id: str) -> _Run | None:
        """Return the run with this id, or None."""
        with self._condition:
            return self._runs.get(run_id)

    def last_run(self, actor: _Actor, status: str | None) -> _Run | None:
        """Return the most recently started run of the actor, optionally with this status."""
        now = time.monotonic()
        with self._condition:
            for run in reversed(self._runs_in_start_order):
                self._advance(run, now)
                if run.actor is actor and (status is None or run.status == status):
                    return run
        return None

    def run_of_dataset(self, dataset_id: str) -> _Run | None:
        """Return the run whose default dataset has this id, or None."""
        with self._condition:
            return self._datasets.get(dataset_id)

    def count_runs(self, actor: _Actor) -> int:
        """Return how many runs of the actor the server started."""
        with self._condition:
            return sum(1 for run in self._runs_in_start_order if run.actor is actor)

    def wait_for_run(self, run: _Run, wait_seconds: float) -> None:
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

    def abort_run(self, run: _Run) -> None:
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

    def run_json(self, run: _Run) -> dict[str, Any]:
        """Return the Run object of the Apify API for the run's current state."""
        with self._condition:
            now = time.monotonic()
            self._advance(run, now)
            return self._run_json_locked(run, now)

    def summaries(self) -> list[RunSummary]:
        """Return a snapshot of every run, in start order."""
        now = time.monotonic()
        with self._condition:
            snapshots = []
            for run in self._runs_in_start_order:
                self._advance(run, now)
                finished_at = self._finished_at(run)
                snapshots.append(
                    RunSummary(
                        run_id=run.id,
                        actor_id=run.actor_reference,
                        run_input=run.run_input,
                        status=run.status,
                        dataset_id=run.dataset.id,
                        item_count=len(run.dataset.items),
                        fault_modes=run.plan.fault_modes,
                        started_at=_format_time(run.started_at),
                        finished_at=_format_time(finished_at) if finished_at else None,
                        usage_total_usd=self._usage_total_usd(run),
                        compute_units=self._compute_units(run, now),
                    )
                )
            return snapshots

    def dataset_json(self, run: _Run) -> dict[str, Any]:
        """Return the Dataset object of the Apify API for the run's default dataset."""
        with self._condition:
            self._advance(run, time.monotonic())
            dataset = run.dataset
            dataset.accessed_at = datetime.now(UTC)
            return {
                "id": dataset.id,
                "name": None,
                "userId": LOCAL_USER_ID,
                "createdAt": _format_time(dataset.created_at),
                "modifiedAt": _format_time(dataset.modified_at),
                "accessedAt": _format_time(dataset.accessed_at),
                "itemCount": len(dataset.items),
                "cleanItemCount": sum(1 for item in dataset.items if item),
                "actId": run.actor.act_id,
                "actRunId": run.id,
                "consoleUrl": f"{self._console_base_url()}/console/storage/datasets/{dataset.id}",
                "stats": {
                    "readCount": dataset.read_count,
                    "writeCount": len(dataset.items),
                },
            }

    def dataset_items(self, run: _Run) -> list[dict[str, Any]]:
        """Return a copy of the list of items that the run has pushed so far."""
        with self._condition:
            self._advance(run, time.monotonic())
            run.dataset.read_count += 1
            run.dataset.accessed_at = datetime.now(UTC)
            return list(run.dataset.items)

    def log_text(self, run: _Run) -> str:
        """Return the run log, with one line per event that starts with an ISO 8601 time."""
        with self._condition:
            self._advance(run, time.monotonic())
            lines = [
                f"{_format_time(run.started_at)} ACTOR: Starting build {run.actor.build_id}.",
                f"{_format_time(run.started_at)} INFO  Job search started, "
                f"{run.plan.final_item_count} postings expected.",
            ]
            finished_at = self._finished_at(run)
            if finished_at is not None:
                lines.append(f"{_format_time(finished_at)} INFO  {run.status_message}")
            return "\n".join(lines) + "\n"

    def _advance(self, run: _Run, now: float) -> None:
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

    def _push_items(self, run: _Run, target_count: int) -> None:
        items = run.dataset.items
        if len(items) < target_count:
            items.extend(run.plan.items[len(items) : target_count])
            run.dataset.modified_at = datetime.now(UTC)

    def _finished_at(self, run: _Run) -> datetime | None:
        if run.finished_monotonic is None:
            return None
        return run.started_at + timedelta(seconds=run.finished_monotonic - run.started_monotonic)

    def _compute_units(self, run: _Run, now: float) -> float:
        end = run.finished_monotonic if run.finished_monotonic is not None else now
        hours = (end - run.started_monotonic) / 3600
        return run.options.memory_mbytes / 1024 * hours

    def _usage_total_usd(self, run: _Run) -> float:
        return round(len(run.dataset.items) * self._price_per_item_usd, 10)

    def _pricing_info(self, started_at: datetime) -> dict[str, Any]:
        return {
            "pricingModel": "PRICE_PER_DATASET_ITEM",
            "unitName": "result",
            "pricePerUnitUsd": self._price_per_item_usd,
            "apifyMarginPercentage": 0.2,
            "createdAt": _format_time(started_at),
            "startedAt": _format_time(started_at),
        }

    def _run_json_locked(self, run: _Run, now: float) -> dict[str, Any]:
        finished_at = self._finished_at(run)
        end = run.finished_monotonic if run.finished_monotonic is not None else now
        duration_seconds = max(end - run.started_monotonic, 0.0)
        compute_units = self._compute_units(run, now)
        exit_codes = {"SUCCEEDED": 0, "FAILED": 1}
        return {
            "id": run.id,
            "actId": run.actor.act_id,
            "userId": LOCAL_USER_ID,
            "actorTaskId": None,
            "startedAt": _format_time(run.started_at),
            "finishedAt": _format_time(finished_at) if finished_at else None,
            "status": run.status,
            "statusMessage": run.status_message,
            "isStatusMessageTerminal": run.status in TERMINAL_STATUSES,
            "meta": {"origin": "API", "clientIp": "127.0.0.1", "userAgent": run.user_agent},
            "stats": {
                "inputBodyLen": run.input_body_length,
                "migrationCount": 0,
                "rebootCount": 0,
                "restartCount": 0,
                "resurrectCount": 0,
                "durationMillis": round(duration_seconds * 1000),
                "runTimeSecs": round(duration_seconds, 3),
                "computeUnits": compute_units,
            },
            "options": {
                "build": run.options.build,
                "timeoutSecs": run.options.timeout_seconds,
                "memoryMbytes": run.options.memory_mbytes,
                "diskMbytes": 2 * run.options.memory_mbytes,
                "maxItems": run.options.max_items,
            },
            "buildId": run.actor.build_id,
            "buildNumber": "0.0.1",
            "exitCode": exit_codes.get(run.status),
            "defaultKeyValueStoreId": run.key_value_store_id,
            "defaultDatasetId": run.dataset.id,
            "defaultRequestQueueId": run.request_queue_id,
            "usage": {
                "ACTOR_COMPUTE_UNITS": compute_units,
                "DATASET_READS": run.dataset.read_count,
                "DATASET_WRITES": len(run.dataset.items),
            },
            "usageTotalUsd": self._usage_total_usd(run),
            "pricingInfo": self._pricing_info(run.started_at),
        }

    def actor_json(self, actor: _Actor) -> dict[str, Any]:
        """Return a minimal Actor object of the Apify API."""
        username, _, name = actor.name.partition("~")
        return {
            "id": actor.act_id,
            "userId": LOCAL_USER_ID,
            "name": name or username,
            "username": username if name else "local",
            "title": actor.name,
            "isPublic": True,
            "createdAt": _format_time(actor.created_at),
            "modifiedAt": _format_time(actor.created_at),
            "stats": {"totalRuns": self.count_runs(actor)},
            "versions": [],
            "defaultRunOptions": {
                "build": "latest",
                "timeoutSecs": DEFAULT_RUN_TIMEOUT_SECONDS,
                "memoryMbytes": DEFAULT_MEMORY_MBYTES,
            },
            "pricingInfos": [self._pricing_info(actor.created_at)],
        }


class _FaultRules:
    """Thread-safe list of fault rules, consumed by run-creation requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> int:
        with self._lock:
            removed = len(self._rules)
            self._rules.clear()
            return removed

    def snapshot(self) -> list[FaultRule]:
        with self._lock:
            return [copy.copy(rule) for rule in self._rules]

    def take_http_fault(self, input_text: str) -> FaultRule | None:
        """Use up and return the first matching HTTP error rule, or None."""
        with self._lock:
            for rule in self._rules:
                if rule.mode in HTTP_FAULT_MODES and rule.matches(input_text):
                    return self._use(rule)
        return None

    def take_run_faults(self, input_text: str) -> list[FaultRule]:
        """Use up and return the rules that shape a new run.

        That is the first matching outcome rule, every matching item rule and the first
        matching `slow_pages` rule, in the order they were added.
        """
        selected_rules: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.mode in HTTP_FAULT_MODES or not rule.matches(input_text):
                    continue
                if rule.mode in ITEM_FAULT_MODES or all(
                    _fault_group(rule.mode) != _fault_group(selected.mode)
                    for selected in selected_rules
                ):
                    selected_rules.append(self._use(rule))
        return selected_rules

    @staticmethod
    def _use(rule: FaultRule) -> FaultRule:
        if rule.times is not None:
            rule.times -= 1
        # copy.copy, because dataclasses.replace would validate again and reject times=0.
        return copy.copy(rule)


def _fault_group(mode: str) -> str:
    if mode in OUTCOME_FAULT_MODES:
        return "outcome"
    if mode in ITEM_FAULT_MODES:
        return "items"
    if mode in PAGE_FAULT_MODES:
        return "pages"
    return "http"


@dataclass(frozen=True)
class _Response:
    status: HTTPStatus
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _json_response(status: HTTPStatus, payload: Any, **headers: str) -> _Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _Response(status=status, body=body, headers=dict(headers))


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler_name: str


def _build_routes() -> tuple[_Route, ...]:
    actor = r"/v2/(?:acts|actors)/(?P<actor_id>[^/]+)"
    run_prefixes = (
        (r"/v2/actor-runs/(?P<run_id>[^/]+)", "/v2/actor-runs/{runId}"),
        (actor + r"/runs/last", "/v2/actors/{actorId}/runs/last"),
    )
    specs: list[tuple[str, str, str, str]] = [
        ("POST", actor + r"/runs", "/v2/actors/{actorId}/runs", "_start_run"),
        ("GET", actor, "/v2/actors/{actorId}", "_get_actor"),
        ("GET", r"/v2/logs/(?P<run_id>[^/]+)", "/v2/logs/{runId}", "_get_run_log"),
        ("GET", r"/v2/datasets/(?P<dataset_id>[^/]+)", "/v2/datasets/{datasetId}", "_get_dataset"),
        (
            "GET",
            r"/v2/datasets/(?P<dataset_id>[^/]+)/items",
            "/v2/datasets/{datasetId}/items",
            "_list_dataset_items",
        ),
        ("GET", r"/_admin/faults", "/_admin/faults", "_list_faults"),
        ("POST", r"/_admin/faults", "/_admin/faults", "_add_faults"),
        ("DELETE", r"/_admin/faults", "/_admin/faults", "_clear_faults"),
        ("GET", r"/_admin/runs", "/_admin/runs", "_list_runs"),
        ("GET", r"/_admin/requests", "/_admin/requests", "_list_request_counts"),
    ]
    for pattern, name in run_prefixes:
        specs += [
            ("GET", pattern, name, "_get_run"),
            ("POST", pattern + r"/abort", name + "/abort", "_abort_run"),
            ("GET", pattern + r"/dataset", name + "/dataset", "_get_dataset"),
            ("GET", pattern + r"/dataset/items", name + "/dataset/items", "_list_dataset_items"),
            ("GET", pattern + r"/log", name + "/log", "_get_run_log"),
        ]
    return tuple(
        _Route(method, re.compile(pattern), f"{method} {name}", handler_name)
        for method, pattern, name, handler_name in specs
    )


_ROUTES = _build_routes()


def _query_int(
    query: dict[str, str], name: str, *, minimum: int = 0, maximum: int | None = None
) -> int | None:
    """Return an integer query parameter, or None when it is absent or empty."""
    text = query.get(name, "")
    if text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "invalid-request",
            f"Query parameter {name} must be a whole number, got {text!r}.",
        ) from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "invalid-request",
            f"Query parameter {name} must be at least {minimum}{upper}, got {value}.",
        )
    return value


def _query_bool(query: dict[str, str], name: str) -> bool:
    text = query.get(name, "").lower()
    if text in ("", "0", "false"):
        return False
    if text in ("1", "true"):
        return True
    raise ApiError(
        HTTPStatus.BAD_REQUEST,
        "invalid-request",
        f"Query parameter {name} must be true, false, 1 or 0, got {query[name]!r}.",
    )


def _query_list(query: dict[str, str], name: str) -> list[str]:
    return [part.strip() for part in query.get(name, "").split(",") if part.strip()]


def _decode_body(raw: bytes, content_encoding: str) -> bytes:
    """Undo a gzip or deflate `Content-Encoding`.

    apify-client 3.4.0 gzips request bodies of 1024 bytes and more by default.
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported-content-encoding",
            f"Content-Encoding {content_encoding!r} is not supported. Use gzip, deflate or none.",
        )
    # wbits 47 accepts both gzip and zlib framing.
    decompressor = zlib.decompressobj(wbits=47)
    try:
        decoded = decompressor.decompress(raw, MAX_REQUEST_BODY_BYTES + 1)
    except zlib.error as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "invalid-request",
            f"Request body is not valid {encoding} data: {error}.",
        ) from None
    if len(decoded) > MAX_REQUEST_BODY_BYTES or decompressor.unconsumed_tail:
        raise ApiError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "request-too-large",
            f"Decompressed request body is larger than {MAX_REQUEST_BODY_BYTES} bytes.",
        )
    if not decompressor.eof:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "invalid-request",
            f"Request body ends inside the {encoding} data.",
        )
    return decoded


def _parse_json_body(body: bytes, *, error_type: str, body_label: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, error_type, f"{body_label} is not valid UTF-8 JSON: {error}."
        ) from None


class _HttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks open connections and requests in progress."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: LocalApifyServer) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._requests_in_progress = 0
        self._requests_changed = threading.Condition()
        super().__init__(address, _RequestHandler)

    def request_started(self) -> None:
        with self._requests_changed:
            self._requests_in_progress += 1

    def request_finished(self) -> None:
        with self._requests_changed:
            self._requests_in_progress -= 1
            self._requests_changed.notify_all()

    def wait_until_idle(self, timeout: float) -> int:
        """Wait until no request is in progress, and return how many still are."""
        with self._requests_changed:
            self._requests_changed.wait_for(lambda: self._requests_in_progress == 0, timeout)
            return self._requests_in_progress

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client connection, including idle keep-alive ones."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                # The peer may have closed it in the meantime.
                pass


class _RequestHandler(BaseHTTPRequestHandler):
    """Handler for the requests on one HTTP/1.1 connection."""

    server: _HttpServer
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 60

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The query string is left out because it may carry a token.
        path = urlsplit(self.path).path
        logger.debug("%s %s -> %s", self.command, path, code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - base class name
        logger.debug("HTTP protocol error: " + format, *args)

    @property
    def _app(self) -> LocalApifyServer:
        return self.server.app

    def _dispatch(self) -> None:
        self.server.request_started()
        try:
            self._handle_request()
        finally:
            self.server.request_finished()

    def _handle_request(self) -> None:
        parsed = urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        query = {
            key: values[-1]
            for key, values in parse_qs(parsed.query, keep_blank_values=True).items()
        }
        route, path_params, allowed_methods = self._match_route(path)
        self._app._count_request(route.name if route else f"{self.command} (unknown route)")

        try:
            body = self._read_body()
            if route is None:
                if allowed_methods:
                    raise ApiError(
                        HTTPStatus.METHOD_NOT_ALLOWED,
                        "method-not-allowed",
                        f"{self.command} is not allowed on {path}. "
                        f"Use {', '.join(sorted(allowed_methods))}.",
                        headers={"Allow": ", ".join(sorted(allowed_methods))},
                    )
                raise ApiError(
                    HTTPStatus.NOT_FOUND,
                    "page-not-found",
                    f"No endpoint {self.command} {path} exists on the local Apify server.",
                )
            if path.startswith("/v2/"):
                self._check_token()
            handler: Callable[[dict[str, str], dict[str, str], bytes], _Response] = getattr(
                self, route.handler_name
            )
            response = handler(path_params, query, body)
        except ApiError as error:
            # The message stays out of the log because http_500_echo_token puts the
            # Authorization header into it.
            logger.info(
                "%s %s failed with %d %s", self.command, path, error.status, error.error_type
            )
            response = _json_response(error.status, error.to_json(), **error.headers)
        except Exception:
            logger.exception("Request %s %s failed", self.command, path)
            error = ApiError(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "internal-server-error",
                "The local Apify server failed to handle the request. See its log.",
            )
            response = _json_response(error.status, error.to_json())
        self._send(response)

    def _match_route(self, path: str) -> tuple[_Route | None, dict[str, str], set[str]]:
        allowed_methods: set[str] = set()
        for route in _ROUTES:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == self.command:
                params = {key: unquote(value) for key, value in found.groupdict().items()}
                return route, params, allowed_methods
            allowed_methods.add(route.method)
        return None, {}, allowed_methods

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "invalid-request",
                f"Content-Length must be a number, got {length_text!r}.",
            ) from None
        if length > MAX_REQUEST_BODY_BYTES or length < 0:
            # The body stays unread, so the connection cannot carry another request.
            self.close_connection = True
            raise ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "request-too-large",
                f"Request body of {length} bytes is larger than {MAX_REQUEST_BODY_BYTES} bytes.",
            )
        return self.rfile.read(length)

    def _read_chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self.close_connection = True
                raise ApiError(
                    HTTPStatus.BAD_REQUEST, "invalid-request", "Chunked request body is malformed."
                ) from None
            if size == 0:
                # Skip optional trailer lines up to the empty line that ends the body.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BODY_BYTES:
                self.close_connection = True
                raise ApiError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    "request-too-large",
                    f"Request body is larger than {MAX_REQUEST_BODY_BYTES} bytes.",
                )
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _check_token(self) -> None:
        expected_token = self._app._expected_token
        if expected_token is None:
            return
        header = self.headers.get("Authorization")
        if header is None:
            raise ApiError(
                HTTPStatus.UNAUTHORIZED,
                "token-not-provided",
                "No API token was sent. Send it in the header 'Authorization: Bearer <token>'.",
            )
        expected = f"Bearer {expected_token}".encode()
        if not hmac.compare_digest(header.encode("utf-8", "replace"), expected):
            raise ApiError(
                HTTPStatus.UNAUTHORIZED,
                "invalid-token",
                "The API token in the Authorization header is not valid for this server.",
            )

    def _send(self, response: _Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError) as error:
            # Clients that time out close the connection before the response is ready.
            logger.debug("Client closed the connection before the response was sent: %s", error)
            self.close_connection = True

    def _resolve_run(self, params: dict[str, str], query: dict[str, str]) -> _Run:
        store = self._app._store
        if "run_id" in params:
            run = store.get_run(params["run_id"])
            if run is None:
                raise ApiError(
                    HTTPStatus.NOT_FOUND,
                    "record-not-found",
                    f"Actor run {params['run_id']!r} was not found.",
                )
            return run
        actor = self._resolve_actor(params["actor_id"])
        status = query.get("status") or None
        run = store.last_run(actor, status)
        if run is None:
            with_status = f" with status {status}" if status else ""
            raise ApiError(
                HTTPStatus.NOT_FOUND,
                "record-not-found",
                f"Actor {params['actor_id']!r} has no run{with_status}.",
            )
        return run

    def _resolve_actor(self, reference: str) -> _Actor:
        # Any user~name is accepted as an existing actor, so that tests need no set-up.
        # A bare id must come from an earlier run.
        is_name = "~" in reference or "/" in reference
        actor = self._app._store.resolve_actor(reference, create=is_name)
        if actor is None:
            raise ApiError(
                HTTPStatus.NOT_FOUND, "record-not-found", f"Actor {reference!r} was not found."
            )
        return actor

    def _start_run(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        decoded = _decode_body(body, self.headers.get("Content-Encoding", ""))
        run_input = self._parse_run_input(decoded)
        input_text = json.dumps(run_input, ensure_ascii=False, sort_keys=True)

        memory = _query_int(query, "memory", minimum=128, maximum=32768)
        if memory is not None and memory & (memory - 1):
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "invalid-request",
                f"Query parameter memory must be a power of 2 megabytes, got {memory}.",
            )
        timeout_seconds = _query_int(query, "timeout")
        options = _RunOptions(
            build=query.get("build") or "latest",
            memory_mbytes=memory or DEFAULT_MEMORY_MBYTES,
            timeout_seconds=(
                DEFAULT_RUN_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
            ),
            max_items=_query_int(query, "maxItems"),
        )
        wait_seconds = _query_int(query, "waitForFinish") or 0

        http_fault = self._app._faults.take_http_fault(input_text)
        if http_fault is not None:
            raise self._http_fault_error(http_fault)

        run = self._app._create_run(
            actor_reference=params["actor_id"],
            run_input=run_input,
            input_text=input_text,
            input_body_length=len(decoded),
            options=options,
            user_agent=self.headers.get("User-Agent", ""),
        )
        store = self._app._store
        store.wait_for_run(run, min(wait_seconds, MAX_WAIT_FOR_FINISH_SECONDS))
        return _json_response(HTTPStatus.CREATED, {"data": store.run_json(run)})

    def _parse_run_input(self, body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        media_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media_type and media_type != "application/json" and not media_type.endswith("+json"):
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "invalid-content-type-header",
                f"The local server accepts only JSON run input, got Content-Type {media_type!r}.",
            )
        run_input = _parse_json_body(
            body, error_type="run-input-body-not-valid-json", body_label="Run input"
        )
        if not isinstance(run_input, dict):
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "input-json-not-object",
                f"Run input must be a JSON object, got {type(run_input).__name__}.",
            )
        return run_input

    def _http_fault_error(self, rule: FaultRule) -> ApiError:
        logger.info("Fault rule %s rejected a run-creation request", rule.mode)
        if rule.mode == "http_429":
            return ApiError(
                HTTPStatus.TOO_MANY_REQUESTS,
                "rate-limit-exceeded",
                "You have exceeded the rate limit. Wait a moment before you retry.",
            )
        if rule.mode == "http_500_echo_token":
            # This mode echoes the header on purpose, so that tests can prove that the pipeline
            # never stores or logs an API error message unchanged.
            authorization = self.headers.get("Authorization", "")
            message = f"Internal error while handling request (Authorization: {authorization})"
            return ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal-server-error", message)
        return ApiError(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "internal-server-error",
            "Internal server error. Retry the request later.",
        )

    def _get_actor(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        actor = self._resolve_actor(params["actor_id"])
        return _json_response(HTTPStatus.OK, {"data": self._app._store.actor_json(actor)})

    def _get_run(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        run = self._resolve_run(params, query)
        wait_seconds = _query_int(query, "waitForFinish") or 0
        store = self._app._store
        store.wait_for_run(run, min(wait_seconds, MAX_WAIT_FOR_FINISH_SECONDS))
        return _json_response(HTTPStatus.OK, {"data": store.run_json(run)})

    def _abort_run(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        run = self._resolve_run(params, query)
        store = self._app._store
        store.abort_run(run)
        return _json_response(HTTPStatus.OK, {"data": store.run_json(run)})

    def _get_run_log(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        run = self._resolve_run(params, query)
        text = self._app._store.log_text(run)
        return _Response(HTTPStatus.OK, text.encode("utf-8"), "text/plain; charset=utf-8")

    def _run_for_dataset(self, params: dict[str, str], query: dict[str, str]) -> _Run:
        if "dataset_id" not in params:
            return self._resolve_run(params, query)
        run = self._app._store.run_of_dataset(params["dataset_id"])
        if run is None:
            raise ApiError(
                HTTPStatus.NOT_FOUND,
                "record-not-found",
                f"Dataset {params['dataset_id']!r} was not found.",
            )
        return run

    def _get_dataset(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        run = self._run_for_dataset(params, query)
        return _json_response(HTTPStatus.OK, {"data": self._app._store.dataset_json(run)})

    def _list_dataset_items(
        self, params: dict[str, str], query: dict[str, str], body: bytes
    ) -> _Response:
        run = self._run_for_dataset(params, query)
        for name in ("unwind", "flatten", "view", "signature"):
            if query.get(name):
                raise ApiError(
                    HTTPStatus.BAD_REQUEST,
                    "invalid-request",
                    f"Query parameter {name} is not supported by the local Apify server.",
                )
        item_format = query.get("format", "json").lower()
        if item_format != "json":
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "invalid-request",
                f"Only format=json is supported by the local Apify server, got {item_format!r}.",
            )
        offset = _query_int(query, "offset") or 0
        limit = _query_int(query, "limit") or None
        desc = _query_bool(query, "desc")
        clean = _query_bool(query, "clean")
        skip_empty = clean or _query_bool(query, "skipEmpty")
        skip_hidden = clean or _query_bool(query, "skipHidden")
        fields = _query_list(query, "fields")
        omit = set(_query_list(query, "omit"))

        if run.plan.page_delay_seconds > 0:
            self._app._stop_event.wait(run.plan.page_delay_seconds)

        items = self._app._store.dataset_items(run)
        total = len(items)
        if desc:
            items.reverse()
        end = total if limit is None else offset + limit
        page = items[offset:end]
        scanned = len(page)
        if skip_empty:
            page = [item for item in page if item]
        page = [
            _shape_item(item, fields=fields, omit=omit, skip_hidden=skip_hidden) for item in page
        ]
        headers = {
            "X-Apify-Pagination-Total": str(total),
            "X-Apify-Pagination-Offset": str(offset),
            "X-Apify-Pagination-Count": str(scanned),
            "X-Apify-Pagination-Limit": str(
                limit if limit is not None else NO_LIMIT_PAGINATION_LIMIT
            ),
            "X-Apify-Pagination-Desc": "true" if desc else "false",
        }
        return _json_response(HTTPStatus.OK, page, **headers)

    def _list_faults(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        rules = [rule.to_json() for rule in self._app.faults]
        return _json_response(HTTPStatus.OK, {"data": rules})

    def _add_faults(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        decoded = _decode_body(body, self.headers.get("Content-Encoding", ""))
        payload = _parse_json_body(decoded, error_type="invalid-request", body_label="Request body")
        specs = payload if isinstance(payload, list) else [payload]
        rules: list[FaultRule] = []
        allowed_keys = {"mode", "match", "times", "delay_seconds"}
        for spec in specs:
            if not isinstance(spec, dict) or "mode" not in spec:
                raise ApiError(
                    HTTPStatus.BAD_REQUEST,
                    "invalid-request",
                    'Each fault must be a JSON object with at least a "mode" key.',
                )
            unknown = sorted(set(spec) - allowed_keys)
            if unknown:
                raise ApiError(
                    HTTPStatus.BAD_REQUEST,
                    "invalid-request",
                    f"Unknown fault keys {unknown}. Allowed: {sorted(allowed_keys)}.",
                )
            try:
                rules.append(FaultRule(**spec))
            except (TypeError, ValueError) as error:
                raise ApiError(HTTPStatus.BAD_REQUEST, "invalid-request", str(error)) from None
        # Rules are added only once all of them are valid, so a bad list changes nothing.
        for rule in rules:
            self._app._add_fault_rule(rule)
        return _json_response(HTTPStatus.CREATED, {"data": [rule.to_json() for rule in rules]})

    def _clear_faults(
        self, params: dict[str, str], query: dict[str, str], body: bytes
    ) -> _Response:
        removed = self._app._faults.clear()
        logger.info("Removed %d fault rules", removed)
        return _json_response(HTTPStatus.OK, {"data": {"removedCount": removed}})

    def _list_runs(self, params: dict[str, str], query: dict[str, str], body: bytes) -> _Response:
        runs = [summary.to_json() for summary in self._app.runs]
        return _json_response(HTTPStatus.OK, {"data": runs})

    def _list_request_counts(
        self, params: dict[str, str], query: dict[str, str], body: bytes
    ) -> _Response:
        return _json_response(HTTPStatus.OK, {"data": self._app.request_counts})


def _shape_item(
    item: dict[str, Any], *, fields: list[str], omit: set[str], skip_hidden: bool
) -> dict[str, Any]:
    """Apply the `fields`, `omit` and `skipHidden` options of the items endpoint to one item."""
    if fields:
        shaped = {name: item[name] for name in fields if name in item}
    else:
        shaped = dict(item)
    for name in omit:
        shaped.pop(name, None)
    if skip_hidden:
        shaped = {name: value for name, value in shaped.items() if not name.startswith("#")}
    return shaped


class LocalApifyServer:
    """Apify-compatible HTTP server on 127.0.0.1 for tests and local pipeline runs.

    Use it as a context manager, or call `start` and `stop`:

        with LocalApifyServer(latency_seconds=0.2) as server:
            client = ApifyClient("token", api_url=server.url)

    All methods and properties are thread-safe.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        items_per_run: int = 25,
        latency_seconds: float = 0.0,
        price_per_item_usd: float = 0.001,
        expected_token: str | None = None,
        seed: int = 0,
    ) -> None:
        """Configure the server. Nothing listens until `start` is called.

        Args:
            host: IPv4 loopback address to bind. Other addresses raise ValueError.
            port: TCP port, or 0 for a free port chosen by the operating system.
            items_per_run: Maximum number of items per run. A run pushes the smallest of this,
                the input's item limit (`rows` or `maxItems`) and the `maxItems` query parameter.
            latency_seconds: Time that each run stays RUNNING before it ends.
            price_per_item_usd: Charge per pushed item, which `usageTotalUsd` reports.
            expected_token: If set, every `/v2` request must send
                `Authorization: Bearer <expected_token>` or gets 401.
            seed: Seed for the sample postings. Another seed gives other postings.

        Raises:
            ValueError: An argument is out of range.
        """
        try:
            is_loopback = ipaddress.IPv4Address(host).is_loopback
        except ValueError:
            is_loopback = False
        if not is_loopback:
            raise ValueError(
                f"host must be an IPv4 loopback address such as 127.0.0.1, got {host!r}."
            )
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port}.")
        if price_per_item_usd < 0:
            raise ValueError(f"price_per_item_usd must be 0 or more, got {price_per_item_usd}.")

        self._host = host
        self._requested_port = port
        self.items_per_run = items_per_run
        self.latency_seconds = latency_seconds
        self._expected_token = expected_token
        self._seed = seed
        self._store = _RunStore(
            price_per_item_usd=price_per_item_usd, console_base_url=lambda: self.url
        )
        self._faults = _FaultRules()
        self._request_counts: Counter[str] = Counter()
        self._request_counts_lock = threading.Lock()
        self._stop_event = threading.Event()
        self._http_server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def items_per_run(self) -> int:
        """Maximum number of items per run, applied to runs started after a change."""
        return self._items_per_run

    @items_per_run.setter
    def items_per_run(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"items_per_run must be a whole number of 0 or more, got {value!r}.")
        self._items_per_run = value

    @property
    def latency_seconds(self) -> float:
        """Run duration in seconds, applied to runs started after a change."""
        return self._latency_seconds

    @latency_seconds.setter
    def latency_seconds(self, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"latency_seconds must be 0 or more, got {value!r}.")
        self._latency_seconds = float(value)

    @property
    def url(self) -> str:
        """Base URL to pass as `api_url` to ApifyClient, for example "http://127.0.0.1:8765".

        Raises:
            RuntimeError: The server has not been started.
        """
        if self._http_server is None:
            raise RuntimeError("The server has no URL until start() is called.")
        port = self._http_server.server_address[1]
        return f"http://{self._host}:{port}"

    @property
    def runs(self) -> list[RunSummary]:
        """Snapshot of every run started so far, oldest first."""
        return self._store.summaries()

    @property
    def request_counts(self) -> dict[str, int]:
        """Number of requests received per endpoint, for example "GET /v2/actor-runs/{runId}".

        Requests to unknown paths count under "<METHOD> (unknown route)".
        """
        with self._request_counts_lock:
            return dict(self._request_counts)

    @property
    def faults(self) -> list[FaultRule]:
        """Copies of the fault rules, with `times` showing the uses left."""
        return self._faults.snapshot()

    def start(self) -> Self:
        """Bind the port and serve requests in a background thread.

        Returns:
            The server itself, so that `server = LocalApifyServer().start()` works.

        Raises:
            RuntimeError: The server was started before.
        """
        if self._http_server is not None or self._stop_event.is_set():
            raise RuntimeError("A LocalApifyServer can be started only once.")
        self._http_server = _HttpServer((self._host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._http_server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="local-apify-server",
            daemon=True,
        )
        self._thread.start()
        logger.info("Local Apify server listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, and close open connections once requests in progress have responses.

        Requests that wait for a run or for a `slow_pages` delay are woken and get the current
        state. Requests still running after 5 seconds lose their connection. Calling `stop`
        again, or before `start`, does nothing.
        """
        if self._stop_event.is_set():
            return
        self._stop_event.set()
        self._store.stop_waiting()
        if self._http_server is None or self._thread is None:
            return
        self._http_server.shutdown()
        unfinished = self._http_server.wait_until_idle(timeout=5)
        if unfinished:
            logger.warning("Closing the connections of %d unfinished requests", unfinished)
        self._http_server.close_connections()
        self._http_server.server_close()
        self._thread.join()
        logger.info("Local Apify server on %s stopped", self.url)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def add_fault(
        self,
        mode: str,
        *,
        match: str | None = None,
        times: int | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        """Add a fault rule for run-creation requests, after the existing rules.

        Every run-creation request whose run input matches a rule uses up one of its `times`.
        The first matching HTTP error rule rejects the request, and then no other rule is
        used up. Otherwise the run gets the first matching outcome rule, every matching item
        rule and the first matching `slow_pages` rule. `POST /_admin/faults` with a JSON
        object or list of objects with the same keys does the same over HTTP.

        Modes:
            http_429, http_500: run creation returns this status and starts no run.
            http_500_echo_token: run creation returns 500 with the request's Authorization
                header in the error message.
            hang: the run stays RUNNING with no items until it is aborted. Its compute units
                keep growing.
            failed: the run ends FAILED with an empty dataset.
            aborted, timed_out: the run ends ABORTED or TIMED-OUT with half its items.
            empty: the run ends SUCCEEDED with no items.
            malformed_items, oversized_items, duplicate_items: see the `make_items_*`
                functions in `jobs_pipeline.apify.sample_data`.
            slow_pages: each items request for the run's dataset waits `delay_seconds`.

        Args:
            mode: One of `FAULT_MODES`.
            match: Substring of `json.dumps(run_input, ensure_ascii=False, sort_keys=True)`
                that selects the runs, or None for every run.
            times: Number of matching run-creation requests to apply to, or None for all.
            delay_seconds: Delay per items request, required for `slow_pages` only.

        Raises:
            ValueError: The mode is unknown or an argument does not fit the mode.
        """
        self._add_fault_rule(
            FaultRule(mode=mode, match=match, times=times, delay_seconds=delay_seconds)
        )

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        removed = self._faults.clear()
        logger.info("Removed %d fault rules", removed)

    def _add_fault_rule(self, rule: FaultRule) -> None:
        self._faults.add(rule)
        logger.info("Added fault rule %s (match=%r, times=%s)", rule.mode, rule.match, rule.times)

    def _count_request(self, endpoint: str) -> None:
        with self._request_counts_lock:
            self._request_counts[endpoint] += 1

    def _create_run(
        self,
        *,
        actor_reference: str,
        run_input: dict[str, Any],
        input_text: str,
        input_body_length: int,
        options: _RunOptions,
        user_agent: str,
    ) -> _Run:
        """Generate the run's items, apply the fault rules and register the run.

        Raises:
            ApiError: The run input is invalid for the actor (400).
        """
        actor = self._store.resolve_actor(actor_reference, create=True)
        assert actor is not None
        try:
            search = sample_data.parse_search_request(actor.name, run_input)
        except sample_data.InvalidRunInputError as error:
            raise ApiError(HTTPStatus.BAD_REQUEST, "invalid-input", str(error)) from None

        limits = [self.items_per_run, search.max_items, options.max_items]
        count = min(limit for limit in limits if limit is not None)
        rules = self._faults.take_run_faults(input_text)
        plan = self._plan_run(search, count, options, rules, datetime.now(UTC).date())
        run = self._store.create_run(
            actor,
            actor_reference=actor_reference,
            run_input=run_input,
            input_body_length=input_body_length,
            options=options,
            plan=plan,
            user_agent=user_agent,
        )
        logger.info(
            "Started run %s of actor %s with %d items planned, faults: %s",
            run.id,
            actor.name,
            plan.final_item_count,
            ", ".join(plan.fault_modes) or "none",
        )
        return run

    def _plan_run(
        self,
        search: sample_data.SearchRequest,
        count: int,
        options: _RunOptions,
        rules: Sequence[FaultRule],
        reference_date: date,
    ) -> _RunPlan:
        items = sample_data.generate_postings(
            search, count, seed=self._seed, reference_date=reference_date
        )
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
        duration: float | None = self.latency_seconds
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

        page_delay = next(
            (rule.delay_seconds for rule in rules if rule.mode in PAGE_FAULT_MODES), 0.0
        )
        return _RunPlan(
            items=items,
            final_item_count=final_count,
            final_status=final_status,
            final_message=final_message,
            duration_seconds=duration,
            fault_modes=tuple(rule.mode for rule in rules),
            page_delay_seconds=page_delay,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a local Apify API until Ctrl-C or SIGTERM, after printing its URL once."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs_pipeline.apify.local_server",
        description="Serve an Apify-compatible API with sample job postings on 127.0.0.1.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="TCP port to listen on. The default 0 picks a free port.",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="Seconds that each run stays RUNNING before it ends (default 0).",
    )
    parser.add_argument(
        "--items-per-run", type=int, default=25, help="Maximum items per run (default 25)."
    )
    parser.add_argument(
        "--price-per-item-usd",
        type=float,
        default=0.001,
        help="Charge in USD per pushed item (default 0.001).",
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed for the sample postings.")
    parser.add_argument(
        "--expected-token-env",
        metavar="NAME",
        help="Name of an environment variable with the API token that requests must send. "
        "The token is read from the environment so that it never shows in the process list.",
    )
    parser.add_argument(
        "--log-level", default="INFO", help="Logging level, for example DEBUG (default INFO)."
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    expected_token = None
    if args.expected_token_env:
        expected_token = os.environ.get(args.expected_token_env)
        if not expected_token:
            parser.error(f"environment variable {args.expected_token_env} is not set or empty")

    try:
        server = LocalApifyServer(
            port=args.port,
            items_per_run=args.items_per_run,
            latency_seconds=args.latency,
            price_per_item_usd=args.price_per_item_usd,
            expected_token=expected_token,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(str(error))

    stop_requested = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    with server:
        # The URL on stdout is the interface for callers that start the server as a process.
        print(server.url, flush=True)  # noqa: T201
        try:
            while not stop_requested.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
