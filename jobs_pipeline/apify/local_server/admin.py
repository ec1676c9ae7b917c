"""Handlers of the local Apify server's `/_admin` endpoints, which tests use as controls."""

from __future__ import annotations

import logging
from email.message import Message
from http import HTTPStatus
from typing import TYPE_CHECKING

from jobs_pipeline.apify.local_server.faults import FaultRule
from jobs_pipeline.apify.local_server.protocol import (
    ApiError,
    Response,
    decode_body,
    json_response,
    parse_json_body,
)

if TYPE_CHECKING:
    from jobs_pipeline.apify.local_server.server import LocalApifyServer

logger = logging.getLogger(__name__)


class AdminEndpoints:
    """Handlers of the `/_admin` endpoints, mixed into `RequestHandler`.

    They never require the API token. Each handler takes the path parameters, the query
    parameters and the request body, and returns the response.
    """

    # Provided by BaseHTTPRequestHandler (headers) and by RequestHandler (_app).
    headers: Message
    _app: LocalApifyServer

    def _list_faults(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        rules = [rule.to_json() for rule in self._app.faults]
        return json_response(HTTPStatus.OK, {"data": rules})

    def _add_faults(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        decoded = decode_body(body, self.headers.get("Content-Encoding", ""))
        payload = parse_json_body(decoded, error_type="invalid-request", body_label="Request body")
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
        return json_response(HTTPStatus.CREATED, {"data": [rule.to_json() for rule in rules]})

    def _clear_faults(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        removed = self._app._faults.clear()
        logger.info("Removed %d fault rules", removed)
        return json_response(HTTPStatus.OK, {"data": {"removedCount": removed}})

    def _list_runs(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Response:
        runs = [summary.to_json() for summary in self._app.runs]
        return json_response(HTTPStatus.OK, {"data": runs})

    def _list_request_counts(
        self, params: dict[str, str], query: dict[str, str], body: bytes
    ) -> Response:
        return json_response(HTTPStatus.OK, {"data": self._app.request_counts})
