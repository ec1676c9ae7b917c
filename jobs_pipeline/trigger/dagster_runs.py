"""Submit `ingest_jobs` runs through the Dagster webserver's GraphQL API.

Runs go through `dagster_graphql.DagsterGraphQLClient`, Dagster's documented client for
external callers, so the service needs neither the Dagster instance's storage nor its
`DAGSTER_HOME`. The public client has no method that lists runs, so the check for an
equivalent run sends one `runsOrError` query through gql, the GraphQL library that
`DagsterGraphQLClient` itself uses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport

from jobs_pipeline.jobs import ingest_jobs
from jobs_pipeline.trigger.settings import DAGSTER_GRAPHQL_URL_ENV, DagsterEndpoint

TRIGGER_TAG = "jobs_pipeline/trigger"
CRITERIA_ID_TAG = "jobs_pipeline/criteria_id"
# Statuses of a run that is waiting in the queue or executing.
IN_FLIGHT_STATUSES = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
)
# Maximum seconds each GraphQL request waits. One submission sends up to three requests (run
# list, job lookup, launch), so a caller gets its 503 after at most about three times this.
DEFAULT_TIMEOUT_SECONDS = 10
# Criteria set keys are SHA-256 hex digests. The launchpad also accepts their first 16
# characters, so runs are compared on that prefix.
SET_KEY_PREFIX_LENGTH = 16
_SCOPE_LOCK_STRIPES = 64

IN_FLIGHT_RUNS_QUERY = gql(
    """
    query TriggerInFlightRuns($filter: RunsFilter) {
      runsOrError(filter: $filter) {
        __typename
        ... on Runs {
          results {
            runId
            status
            runConfig
          }
        }
        ... on InvalidPipelineRunsFilterError {
          message
        }
        ... on PythonError {
          message
        }
      }
    }
    """
)


class DagsterUnavailableError(RuntimeError):
    """The Dagster webserver could not be reached or did not respond in time."""


class DagsterRequestError(RuntimeError):
    """The Dagster webserver responded, but rejected or failed the request."""


@dataclass(frozen=True)
class RunScope:
    """The criteria sets an `ingest_jobs` run covers, read from its `criteria_sets` config.

    Attributes:
        set_keys: lower-case criteria set keys or key prefixes. Empty means the normal
            selection, as a scheduled run or the cron endpoint starts it.
        retry_only: whether the run re-scrapes only sets marked for retry.
    """

    set_keys: frozenset[str] = frozenset()
    retry_only: bool = False

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any] | None) -> RunScope:
        """Read the scope from a run's config, as the `criteria_sets` asset reads it."""
        ops = (run_config or {}).get("ops") or {}
        config = (ops.get("criteria_sets") or {}).get("config") or {}
        keys = frozenset(str(key).strip().lower() for key in config.get("only_set_keys") or [])
        return cls(set_keys=keys, retry_only=bool(config.get("retry_only", False)))

    def to_run_config(self) -> dict[str, Any]:
        """Return the run config that starts a run with this scope."""
        if not self.set_keys and not self.retry_only:
            return {}
        config: dict[str, Any] = {"only_set_keys": sorted(self.set_keys)}
        if self.retry_only:
            config["retry_only"] = True
        return {"ops": {"criteria_sets": {"config": config}}}

    def is_equivalent(self, other: RunScope) -> bool:
        """Return whether both scopes select the same criteria sets.

        Keys are compared on their first 16 characters, because the launchpad accepts that
        prefix in place of a full key.
        """
        return self.retry_only == other.retry_only and _prefixes(self.set_keys) == _prefixes(
            other.set_keys
        )

    def describe(self) -> str:
        """Return the scope in words, for logs and response messages."""
        if not self.set_keys:
            selection = "the normal selection of due criteria sets"
        else:
            selection = "criteria sets " + ", ".join(
                key[:SET_KEY_PREFIX_LENGTH] for key in sorted(self.set_keys)
            )
        return selection + (" (retry only)" if self.retry_only else "")


@dataclass(frozen=True)
class SubmittedRun:
    """Result of a submission.

    Attributes:
        run_id: id of the new run, or of the equivalent run already queued or running.
        created: False when an equivalent run was found and nothing was submitted.
    """

    run_id: str
    created: bool


class RunSubmitter:
    """Starts `ingest_jobs` runs unless an equivalent run is already queued or running.

    The check and the submission are atomic within this process: requests with equivalent
    scopes take the same lock, so two concurrent clicks start one run.

    NOTE: two service processes do not share these locks, so each can submit one run for the
    same scope at the same moment. Run one process; `python -m jobs_pipeline.trigger` does.
    """

    def __init__(
        self,
        endpoint: DagsterEndpoint,
        *,
        job_name: str = ingest_jobs.name,
        timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.endpoint = endpoint
        self.job_name = job_name
        self.timeout_seconds = timeout_seconds
        # Striped locks: equivalent scopes hash alike, and memory stays bounded.
        self._locks = [threading.Lock() for _ in range(_SCOPE_LOCK_STRIPES)]

    def submit_unless_in_flight(self, scope: RunScope, tags: Mapping[str, str]) -> SubmittedRun:
        """Submit a run with this scope and tags, unless an equivalent run is in flight.

        Raises:
            DagsterUnavailableError: if the webserver cannot be reached.
            DagsterRequestError: if the webserver rejects the query or the submission.
        """
        key = (_prefixes(scope.set_keys), scope.retry_only)
        with self._locks[hash(key) % _SCOPE_LOCK_STRIPES]:
            existing = self.find_in_flight_run(scope)
            if existing is not None:
                return SubmittedRun(run_id=existing, created=False)
            return SubmittedRun(run_id=self.submit(scope, tags), created=True)

    def find_in_flight_run(self, scope: RunScope) -> str | None:
        """Return the id of a queued or running run of the job with an equivalent scope.

        Equivalence is decided from each run's config, not its tags, so runs started by the
        schedule, the sensor or the launchpad count as well as runs from this service.

        Raises:
            DagsterUnavailableError: if the webserver cannot be reached.
            DagsterRequestError: if the webserver rejects the query.
        """
        variables = {
            "filter": {
                "pipelineName": self.job_name,
                "statuses": [status.value for status in IN_FLIGHT_STATUSES],
            }
        }
        try:
            with Client(transport=self._transport()) as session:
                data = session.execute(
                    GraphQLRequest(IN_FLIGHT_RUNS_QUERY, variable_values=variables)
                )
        except (TransportConnectionFailed, TransportServerError) as error:
            raise self._translate(error) from error
        except TransportQueryError as error:
            raise DagsterRequestError(
                f"Dagster at {self.endpoint.base_url} rejected the run query: {error}"
            ) from error

        result = data["runsOrError"]
        if result["__typename"] != "Runs":
            raise DagsterRequestError(
                f"Dagster at {self.endpoint.base_url} could not list runs "
                f"({result['__typename']}): {result.get('message', '')}"
            )
        for run in result["results"]:
            if RunScope.from_run_config(run["runConfig"]).is_equivalent(scope):
                return run["runId"]
        return None

    def submit(self, scope: RunScope, tags: Mapping[str, str]) -> str:
        """Submit a run of the job with this scope and tags and return its run id.

        Raises:
            DagsterUnavailableError: if the webserver cannot be reached.
            DagsterRequestError: if the webserver rejects the submission, for example because
                the code location failed to load or the run config is invalid.
        """
        client = DagsterGraphQLClient(
            self.endpoint.hostname,
            port_number=self.endpoint.port,
            use_https=self.endpoint.use_https,
            path_prefix=self.endpoint.path_prefix,
            timeout=self.timeout_seconds,
        )
        try:
            return client.submit_job_execution(
                self.job_name, run_config=scope.to_run_config(), tags=dict(tags)
            )
        except DagsterGraphQLClientError as error:
            raise self._translate(error) from error

    def _transport(self) -> RequestsHTTPTransport:
        return RequestsHTTPTransport(
            url=self.endpoint.graphql_url, use_json=True, timeout=self.timeout_seconds
        )

    def _translate(self, error: Exception) -> DagsterUnavailableError | DagsterRequestError:
        """Map a client error to DagsterUnavailableError or DagsterRequestError.

        No connection, a timeout or a gateway error (502, 503, 504) means unavailable.
        """
        for cause in _causes(error):
            if isinstance(cause, TransportConnectionFailed) or (
                isinstance(cause, TransportServerError) and cause.code in (502, 503, 504)
            ):
                return DagsterUnavailableError(
                    f"The Dagster webserver at {self.endpoint.base_url} cannot be reached "
                    f"({cause}). Start it, for example `dagster-webserver -h 127.0.0.1 -p 3000 "
                    f"-w workspace.yaml`, or set {DAGSTER_GRAPHQL_URL_ENV} to its address."
                )
        # DagsterGraphQLClientError's args are (error type, detail). Its str() contains the
        # whole GraphQL document, which is too long for a response.
        if isinstance(error, DagsterGraphQLClientError) and len(error.args) >= 2:
            detail = f"{error.args[0]}: {error.args[1]}"
        else:
            detail = str(error)
        return DagsterRequestError(
            f"Dagster at {self.endpoint.base_url} rejected the {self.job_name} submission: "
            f"{detail[:1000]}"
        )


def _prefixes(keys: frozenset[str]) -> frozenset[str]:
    return frozenset(key[:SET_KEY_PREFIX_LENGTH] for key in keys)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """Yield the error and the chain of exceptions it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
