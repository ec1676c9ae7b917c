"""Command-line interface: `python -m jobs_pipeline.apify.local_server --help`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from jobs_pipeline.apify.local_server.server import LocalApifyServer


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
