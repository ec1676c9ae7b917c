"""Error and response types of the local Apify server, and parsers of its requests."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
"""Largest request body, after decompression, that the server accepts."""


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


@dataclass(frozen=True)
class Response:
    status: HTTPStatus
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: HTTPStatus, payload: Any, **headers: str) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status=status, body=body, headers=dict(headers))


def query_int(
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


def query_bool(query: dict[str, str], name: str) -> bool:
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


def query_list(query: dict[str, str], name: str) -> list[str]:
    return [part.strip() for part in query.get(name, "").split(",") if part.strip()]


def decode_body(raw: bytes, content_encoding: str) -> bytes:
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


def parse_json_body(body: bytes, *, error_type: str, body_label: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, error_type, f"{body_label} is not valid UTF-8 JSON: {error}."
        ) from None
