"""The Starlette application: routes, and the mapping of errors to JSON responses.

Endpoints are plain functions, which Starlette runs in its thread pool, because the database
and GraphQL clients they call block.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jobs_pipeline.trigger.auth import AuthenticationError, authenticate
from jobs_pipeline.trigger.criteria import (
    AppDatabaseUnavailableError,
    CriteriaLookup,
    CriteriaNotFoundError,
    CriteriaNotRefreshableError,
    parse_criteria_id,
)
from jobs_pipeline.trigger.dagster_runs import (
    CRITERIA_ID_TAG,
    TRIGGER_TAG,
    DagsterRequestError,
    DagsterUnavailableError,
    RunScope,
    RunSubmitter,
)
from jobs_pipeline.trigger.rate_limit import RateLimitMiddleware, SlidingWindowRateLimiter
from jobs_pipeline.trigger.responses import error_response
from jobs_pipeline.trigger.settings import TriggerSettings

logger = logging.getLogger(__name__)

CRON_PATH = "/api/cron/ingest-jobs"
CRITERIA_REFRESH_PATH = "/api/criteria/{criteria_id}/refresh"
CRON_TRIGGER = "http-cron"
CRITERIA_TRIGGER = "http-criteria"
ENDPOINTS_HINT = (
    f"use POST (or GET) {CRON_PATH}, or POST {CRITERIA_REFRESH_PATH} with a numeric criteria id"
)


def create_app(
    settings: TriggerSettings,
    *,
    submitter: RunSubmitter | None = None,
    criteria_lookup: CriteriaLookup | None = None,
) -> Starlette:
    """Build the trigger application.

    Args:
        settings: the validated service settings.
        submitter: the run submitter, or None to build one for `settings.dagster`.
        criteria_lookup: the criteria reader, or None to build one for
            `settings.database_url`.
    """
    limiter = SlidingWindowRateLimiter(settings.rate_limit, settings.rate_window_seconds)
    app = Starlette(
        routes=[
            # Serverless cron services (Vercel Cron Jobs among them) call with GET.
            Route(CRON_PATH, trigger_ingest, methods=["GET", "POST"]),
            Route(CRITERIA_REFRESH_PATH, refresh_criteria, methods=["POST"]),
        ],
        middleware=[Middleware(RateLimitMiddleware, limiter=limiter)],
        exception_handlers={
            AuthenticationError: _unauthorized,
            CriteriaNotFoundError: _criteria_not_found,
            CriteriaNotRefreshableError: _criteria_not_refreshable,
            AppDatabaseUnavailableError: _database_unavailable,
            DagsterUnavailableError: _dagster_unavailable,
            DagsterRequestError: _dagster_rejected,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    app.state.cron_secret = settings.cron_secret
    app.state.submitter = submitter or RunSubmitter(settings.dagster)
    app.state.criteria_lookup = criteria_lookup or CriteriaLookup(settings.database_url)
    return app


def trigger_ingest(request: Request) -> JSONResponse:
    """Start an `ingest_jobs` run with the normal selection (the schedule's run)."""
    # Starlette serves HEAD wherever GET is allowed, but a HEAD request must not start a run.
    if request.method == "HEAD":
        raise HTTPException(405, headers={"Allow": "GET, POST"})
    authenticate(request.headers.get("authorization"), request.app.state.cron_secret)
    return _start_run(request, RunScope(), {TRIGGER_TAG: CRON_TRIGGER})


def refresh_criteria(request: Request) -> JSONResponse:
    """Start an `ingest_jobs` run restricted to the criteria set of one criteria row."""
    authenticate(request.headers.get("authorization"), request.app.state.cron_secret)
    criteria_id = parse_criteria_id(request.path_params["criteria_id"])
    lookup: CriteriaLookup = request.app.state.criteria_lookup
    set_key = lookup.set_key(criteria_id)
    tags = {TRIGGER_TAG: CRITERIA_TRIGGER, CRITERIA_ID_TAG: str(criteria_id)}
    return _start_run(
        request,
        RunScope(set_keys=frozenset({set_key})),
        tags,
        criteria_id=criteria_id,
        set_key=set_key,
    )


def _start_run(
    request: Request, scope: RunScope, tags: dict[str, str], **fields: object
) -> JSONResponse:
    submitter: RunSubmitter = request.app.state.submitter
    result = submitter.submit_unless_in_flight(scope, tags)
    client = _client_address(request)
    if not result.created:
        logger.info(
            "Not starting %s for client %s: run %s with %s is already queued or running",
            submitter.job_name,
            client,
            result.run_id,
            scope.describe(),
        )
        return error_response(
            409,
            "run_in_progress",
            f"An {submitter.job_name} run for {scope.describe()} is already queued or running "
            f"(run {result.run_id}), so no second run was started. Wait for that run to "
            "finish before calling again.",
            run_id=result.run_id,
            **fields,
        )

    logger.info(
        "Submitted %s run %s for %s (trigger %s, client %s)",
        submitter.job_name,
        result.run_id,
        scope.describe(),
        tags[TRIGGER_TAG],
        client,
    )
    body = {
        "run_id": result.run_id,
        "job_name": submitter.job_name,
        "message": f"Submitted {submitter.job_name} run {result.run_id} for "
        f"{scope.describe()}. Follow it in the Dagster UI under Runs.",
        **fields,
    }
    return JSONResponse(body, status_code=202)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _unauthorized(request: Request, error: AuthenticationError) -> Response:
    # Never log the header: a wrong token is often the right one with a typo.
    logger.warning(
        "Rejected %s %s from client %s with 401: %s",
        request.method,
        request.url.path,
        _client_address(request),
        error.code,
    )
    challenge = "Bearer" if error.code == "missing_token" else 'Bearer error="invalid_token"'
    return error_response(401, error.code, error.message, headers={"WWW-Authenticate": challenge})


def _criteria_not_found(request: Request, error: CriteriaNotFoundError) -> Response:
    logger.info("Responding 404 to client %s: %s", _client_address(request), error)
    return error_response(404, "criteria_not_found", str(error))


def _criteria_not_refreshable(request: Request, error: CriteriaNotRefreshableError) -> Response:
    logger.info("Responding 422 to client %s: %s", _client_address(request), error)
    return error_response(422, "criteria_not_refreshable", str(error))


def _database_unavailable(request: Request, error: AppDatabaseUnavailableError) -> Response:
    # The lookup logged the database error itself, with the criteria id.
    return error_response(
        503, "app_database_unavailable", f"{error} Retry later.", headers={"Retry-After": "30"}
    )


def _dagster_unavailable(request: Request, error: DagsterUnavailableError) -> Response:
    logger.error("Responding 503 to %s %s: %s", request.method, request.url.path, error)
    return error_response(
        503,
        "dagster_unavailable",
        f"{error} A run may or may not have been started: check the Dagster UI for a queued "
        "run before retrying.",
        headers={"Retry-After": "30"},
    )


def _dagster_rejected(request: Request, error: DagsterRequestError) -> Response:
    logger.error("Responding 502 to %s %s: %s", request.method, request.url.path, error)
    return error_response(
        502,
        "dagster_request_failed",
        f"{error} No run was started. Check the Dagster webserver's log and that it loads "
        "the jobs_pipeline code location.",
    )


def _http_error(request: Request, error: HTTPException) -> Response:
    # Routing errors (unknown path, wrong method) get JSON bodies like every other error.
    if error.status_code == 404:
        return error_response(
            404, "not_found", f"No endpoint at {request.url.path}: {ENDPOINTS_HINT}."
        )
    if error.status_code == 405:
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.url.path}: {ENDPOINTS_HINT}.",
            headers=error.headers,
        )
    return error_response(error.status_code, "http_error", str(error.detail), headers=error.headers)


def _internal_error(request: Request, error: Exception) -> Response:
    # Starlette re-raises the error after this response, and uvicorn logs its traceback.
    return error_response(
        500,
        "internal_error",
        "The trigger service failed unexpectedly, and its log has the traceback. Check the "
        "Dagster UI for a new run before retrying.",
    )
