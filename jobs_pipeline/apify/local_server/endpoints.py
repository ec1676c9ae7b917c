"""Handlers of the local Apify server's `/v2` endpoints for actors, runs, logs and datasets."""

from __future__ import annotations

import json
import logging
from email.message import Message
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from jobs_pipeline.apify.local_server.faults import FaultRule
from jobs_pipeline.apify.local_server.protocol import (
    ApiError,
    Response,
    decode_body,
    json_response,
    parse_json_body,
    query_bool,
    query_int,
    query_list,
)
from jobs_pipeline.apify.local_server.runs import (
    DEFAULT_MEMORY_MBYTES,
    DEFAULT_RUN_TIMEOUT_SECONDS,
    Actor,
    Run,
    RunOptions,
)

if TYPE_CHECKING:
    from jobs_pipeline.apify.local_server.server import LocalApifyServer

logger = logging.getLogger(__name__)

MAX_WAIT_FOR_FINISH_SECONDS = 60
"""Cap on `waitForFinish`. apify-client 3.4.0 documents 60 seconds as the API maximum."""

NO_LIMIT_PAGINATION_LIMIT = 999_999_999_999
"""`X-Apify-Pagination-Limit` for an items request without a limit.

The value is the one that a comment in apify-client 3.4.0 `DatasetClient.list_items` gives.
"""


class ApiEndpoints:
    """Handlers of the `/v2` endpoints, mixed into `RequestHandler`.

    Each handler takes the path parameters, the query parameters and the request body, and
    returns the response. `routes.ROUTES` maps the endpoints to the handlers' names.
    """

    # Provided by BaseHTTPRequestHandler (headers) and by RequestHandler (_app).
    headers: Message
    _app: LocalApifyServer

    def _resolve_run(self, params: dict[str, str], query: dict[str, str]) -> Run:
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

    def _resolve_actor(self, reference: str) -> Actor:
        # Any user~name is accepted as an existing actor, so that tests need no set-up.
        # A bare id must come from an earlier run.
        is_name = "~" in reference or "/" in reference
        actor = self._app._store.resolve_actor(reference, create=is_name)
        if actor is None:
            raise ApiError(
                HTTPStatus.NOT_FOUND, "record-not-found", f"Actor {reference!r} was not found."
            )
        return actor

    def _start_run(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        decoded = decode_body(body, self.headers.get("Content-Encoding", ""))
        run_input = self._parse_run_input(decoded)
        input_text = json.dumps(run_input, ensure_ascii=False, sort_keys=True)

        memory = query_int(query, "memory", minimum=128, maximum=32768)
        if memory is not None and memory & (memory - 1):
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "invalid-request",
                f"Query parameter memory must be a power of 2 megabytes, got {memory}.",
            )
        timeout_seconds = query_int(query, "timeout")
        options = RunOptions(
            build=query.get("build") or "latest",
            memory_mbytes=memory or DEFAULT_MEMORY_MBYTES,
            timeout_seconds=(
                DEFAULT_RUN_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
            ),
            max_items=query_int(query, "maxItems"),
        )
        wait_seconds = query_int(query, "waitForFinish") or 0

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
        return json_response(HTTPStatus.CREATED, {"data": store.run_json(run)})

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
        run_input = parse_json_body(
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

    def _get_actor(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        actor = self._resolve_actor(params["actor_id"])
        return json_response(HTTPStatus.OK, {"data": self._app._store.actor_json(actor)})

    def _get_run(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        run = self._resolve_run(params, query)
        wait_seconds = query_int(query, "waitForFinish") or 0
        store = self._app._store
        store.wait_for_run(run, min(wait_seconds, MAX_WAIT_FOR_FINISH_SECONDS))
        return json_response(HTTPStatus.OK, {"data": store.run_json(run)})

    def _abort_run(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        run = self._resolve_run(params, query)
        store = self._app._store
        store.abort_run(run)
        return json_response(HTTPStatus.OK, {"data": store.run_json(run)})

    def _get_run_log(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        run = self._resolve_run(params, query)
        text = self._app._store.log_text(run)
        return Response(HTTPStatus.OK, text.encode("utf-8"), "text/plain; charset=utf-8")

    def _run_for_dataset(self, params: dict[str, str], query: dict[str, str]) -> Run:
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

    def _get_dataset(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        run = self._run_for_dataset(params, query)
        return json_response(HTTPStatus.OK, {"data": self._app._store.dataset_json(run)})

    def _list_dataset_items(
        self, params: dict[str, str], query: dict[str, str], body: bytes
    ) -> Response:
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
        offset = query_int(query, "offset") or 0
        limit = query_int(query, "limit") or None
        desc = query_bool(query, "desc")
        clean = query_bool(query, "clean")
        skip_empty = clean or query_bool(query, "skipEmpty")
        skip_hidden = clean or query_bool(query, "skipHidden")
        fields = query_list(query, "fields")
        omit = set(query_list(query, "omit"))

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
        return json_response(HTTPStatus.OK, page, **headers)


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
