"""Run, Dataset and Actor objects of the Apify API, and the costs that a run reports.

A run costs its pushed item count times the price per item. Its compute units are its memory
in GB times its duration in hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from jobs_pipeline.apify.local_server.runs import (
    DEFAULT_MEMORY_MBYTES,
    DEFAULT_RUN_TIMEOUT_SECONDS,
    LOCAL_USER_ID,
    TERMINAL_STATUSES,
    Actor,
    Run,
    format_time,
)


def run_finished_at(run: Run) -> datetime | None:
    if run.finished_monotonic is None:
        return None
    return run.started_at + timedelta(seconds=run.finished_monotonic - run.started_monotonic)


def run_compute_units(run: Run, now: float) -> float:
    end = run.finished_monotonic if run.finished_monotonic is not None else now
    hours = (end - run.started_monotonic) / 3600
    return run.options.memory_mbytes / 1024 * hours


def run_usage_total_usd(run: Run, price_per_item_usd: float) -> float:
    return round(len(run.dataset.items) * price_per_item_usd, 10)


def pricing_info(price_per_item_usd: float, started_at: datetime) -> dict[str, Any]:
    return {
        "pricingModel": "PRICE_PER_DATASET_ITEM",
        "unitName": "result",
        "pricePerUnitUsd": price_per_item_usd,
        "apifyMarginPercentage": 0.2,
        "createdAt": format_time(started_at),
        "startedAt": format_time(started_at),
    }


def run_json(run: Run, now: float, *, price_per_item_usd: float) -> dict[str, Any]:
    """Return the Run object for the run's state at `now`, a `time.monotonic()` value.

    The caller holds the run store's lock, so that the run does not change meanwhile.
    """
    finished_at = run_finished_at(run)
    end = run.finished_monotonic if run.finished_monotonic is not None else now
    duration_seconds = max(end - run.started_monotonic, 0.0)
    compute_units = run_compute_units(run, now)
    exit_codes = {"SUCCEEDED": 0, "FAILED": 1}
    return {
        "id": run.id,
        "actId": run.actor.act_id,
        "userId": LOCAL_USER_ID,
        "actorTaskId": None,
        "startedAt": format_time(run.started_at),
        "finishedAt": format_time(finished_at) if finished_at else None,
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
        "usageTotalUsd": run_usage_total_usd(run, price_per_item_usd),
        "pricingInfo": pricing_info(price_per_item_usd, run.started_at),
    }


def dataset_json(run: Run, *, console_base_url: str) -> dict[str, Any]:
    """Return the Dataset object for the run's default dataset.

    The caller holds the run store's lock, so that the dataset does not change meanwhile.
    """
    dataset = run.dataset
    return {
        "id": dataset.id,
        "name": None,
        "userId": LOCAL_USER_ID,
        "createdAt": format_time(dataset.created_at),
        "modifiedAt": format_time(dataset.modified_at),
        "accessedAt": format_time(dataset.accessed_at),
        "itemCount": len(dataset.items),
        "cleanItemCount": sum(1 for item in dataset.items if item),
        "actId": run.actor.act_id,
        "actRunId": run.id,
        "consoleUrl": f"{console_base_url}/console/storage/datasets/{dataset.id}",
        "stats": {
            "readCount": dataset.read_count,
            "writeCount": len(dataset.items),
        },
    }


def actor_json(actor: Actor, *, total_runs: int, price_per_item_usd: float) -> dict[str, Any]:
    """Return a minimal Actor object."""
    username, _, name = actor.name.partition("~")
    return {
        "id": actor.act_id,
        "userId": LOCAL_USER_ID,
        "name": name or username,
        "username": username if name else "local",
        "title": actor.name,
        "isPublic": True,
        "createdAt": format_time(actor.created_at),
        "modifiedAt": format_time(actor.created_at),
        "stats": {"totalRuns": total_runs},
        "versions": [],
        "defaultRunOptions": {
            "build": "latest",
            "timeoutSecs": DEFAULT_RUN_TIMEOUT_SECONDS,
            "memoryMbytes": DEFAULT_MEMORY_MBYTES,
        },
        "pricingInfos": [pricing_info(price_per_item_usd, actor.created_at)],
    }
