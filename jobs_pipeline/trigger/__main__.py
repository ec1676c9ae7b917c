"""The `python -m jobs_pipeline.trigger` command: serve the trigger endpoints with uvicorn."""

from __future__ import annotations

import argparse
import copy
import logging
import sys
from typing import Any

import uvicorn
import uvicorn.config

from jobs_pipeline.database.engine import safe_url
from jobs_pipeline.settings import SettingsError
from jobs_pipeline.trigger.app import create_app
from jobs_pipeline.trigger.settings import (
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_WINDOW_SECONDS,
    RATE_LIMIT_ENV,
    RATE_WINDOW_ENV,
    load_settings,
)

PROG = "jobs-pipeline-trigger"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

logger = logging.getLogger("jobs_pipeline.trigger")


def positive_int(value: str) -> int:
    """Parse a command-line value as a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is invalid: use a whole number of at least 1")
    return number


def uvicorn_log_config() -> dict[str, Any]:
    """Return uvicorn's default logging configuration with a timestamp on every line."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = "%(asctime)s " + formatter["fmt"]
    return config


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve authenticated HTTP endpoints that start ingest_jobs runs through "
        "the Dagster webserver at DAGSTER_GRAPHQL_URL. Requires CRON_SECRET.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"Address to bind (default {DEFAULT_HOST}, reachable from this machine only).",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})."
    )
    parser.add_argument(
        "--rate-limit",
        type=positive_int,
        default=None,
        help="Maximum requests per client address within one window "
        f"(default: {RATE_LIMIT_ENV}, else {DEFAULT_RATE_LIMIT}).",
    )
    parser.add_argument(
        "--rate-window",
        type=positive_int,
        default=None,
        help="Length of the rate-limit window in seconds "
        f"(default: {RATE_WINDOW_ENV}, else {DEFAULT_RATE_WINDOW_SECONDS}).",
    )
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="Take the client address from X-Forwarded-For when the request comes from an "
        "address in FORWARDED_ALLOW_IPS (default 127.0.0.1 and ::1). Use it behind a reverse "
        "proxy, so the rate limit counts each client instead of the proxy.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Start the service and return its exit status once uvicorn stops."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(
            rate_limit=arguments.rate_limit, rate_window_seconds=arguments.rate_window
        )
    except SettingsError as error:
        parser.exit(2, f"{PROG}: {error}\n")

    app = create_app(settings)
    logger.info(
        "Starting the trigger service on %s:%d for the Dagster webserver at %s, app database "
        "%s, rate limit %d requests per %d s per client address",
        arguments.host,
        arguments.port,
        settings.dagster.base_url,
        safe_url(settings.database_url),
        settings.rate_limit,
        settings.rate_window_seconds,
    )
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default. That is off without
    # --proxy-headers, because a local caller could otherwise send any address and get a fresh
    # rate-limit window each time.
    uvicorn.run(
        app,
        host=arguments.host,
        port=arguments.port,
        proxy_headers=arguments.proxy_headers,
        log_config=uvicorn_log_config(),
    )
    # uvicorn logs the shutdown itself. After SIGINT or SIGTERM it re-raises the signal, so
    # this line is reached only when uvicorn stops for another reason.
    return 0


if __name__ == "__main__":
    sys.exit(main())
