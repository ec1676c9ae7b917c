"""Records of the actors, runs and datasets that the local Apify server keeps in memory."""

from __future__ import annotations

import dataclasses
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})

DEFAULT_MEMORY_MBYTES = 1024
DEFAULT_RUN_TIMEOUT_SECONDS = 3600

LOCAL_USER_ID = "LocalApifyUser001"

_ID_ALPHABET = string.ascii_letters + string.digits


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
class Actor:
    name: str
    act_id: str
    build_id: str
    created_at: datetime


@dataclass
class Dataset:
    id: str
    created_at: datetime
    modified_at: datetime
    accessed_at: datetime
    items: list[dict[str, Any]] = field(default_factory=list)
    read_count: int = 0


@dataclass(frozen=True)
class RunOptions:
    build: str
    memory_mbytes: int
    timeout_seconds: int
    max_items: int | None


@dataclass(frozen=True)
class RunPlan:
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
class Run:
    id: str
    actor: Actor
    actor_reference: str
    run_input: Any
    input_body_length: int
    options: RunOptions
    plan: RunPlan
    user_agent: str
    started_monotonic: float
    started_at: datetime
    dataset: Dataset
    key_value_store_id: str
    request_queue_id: str
    status: str = "RUNNING"
    status_message: str = "Starting the job search"
    finished_monotonic: float | None = None


def new_id() -> str:
    """Return a random 17-character id in the style of Apify ids.

    Random rather than seeded, so that a restarted server never reuses an id that a
    pipeline database may already hold.
    """
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
