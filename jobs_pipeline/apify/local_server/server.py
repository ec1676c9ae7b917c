"""`LocalApifyServer`, the public entry point: configuration, lifecycle, fault rules and runs."""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections import Counter
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from jobs_pipeline.apify import sample_data
from jobs_pipeline.apify.local_server.faults import FaultRule, FaultRules
from jobs_pipeline.apify.local_server.handler import HttpServer
from jobs_pipeline.apify.local_server.planning import plan_run
from jobs_pipeline.apify.local_server.protocol import ApiError
from jobs_pipeline.apify.local_server.runs import Run, RunOptions, RunSummary
from jobs_pipeline.apify.local_server.store import RunStore

logger = logging.getLogger(__name__)


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
        self._store = RunStore(
            price_per_item_usd=price_per_item_usd, console_base_url=lambda: self.url
        )
        self._faults = FaultRules()
        self._request_counts: Counter[str] = Counter()
        self._request_counts_lock = threading.Lock()
        self._stop_event = threading.Event()
        self._http_server: HttpServer | None = None
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
        self._http_server = HttpServer((self._host, self._requested_port), self)
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
        options: RunOptions,
        user_agent: str,
    ) -> Run:
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
        plan = plan_run(
            search,
            count,
            options,
            rules,
            datetime.now(UTC).date(),
            latency_seconds=self.latency_seconds,
            seed=self._seed,
        )
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
