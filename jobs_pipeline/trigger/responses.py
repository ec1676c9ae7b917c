"""JSON error bodies shared by the routes and the middleware."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **fields: object,
) -> JSONResponse:
    """Build an error response with the body `{"error": code, "message": message, ...}`.

    Args:
        status_code: HTTP status code.
        code: short machine-readable reason, such as `invalid_token`.
        message: what went wrong and what the caller should do next.
        headers: extra response headers, such as `Retry-After`.
        **fields: extra body fields, such as the id of a conflicting run.
    """
    body = {"error": code, "message": message, **fields}
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))
