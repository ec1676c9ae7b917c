"""Real servers for the trigger tests, all on 127.0.0.1: a Dagster webserver and the service.

The webserver runs with a temporary DAGSTER_HOME holding a copy of the project's dagster.yaml,
whose queued run coordinator leaves submitted runs QUEUED because no daemon runs.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Upper bounds for start-up and shutdown. In these tests a start took 3 to 15 s, depending on
# the load of the machine.
STARTUP_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 30
DUMMY_APIFY_TOKEN = "apify_api_trigger_test_dummy_0123"

RUNS_QUERY = """
query TestRuns {
  runsOrError {
    __typename
    ... on Runs {
      results { runId jobName status runConfig tags { key value } }
    }
  }
}
"""
REPOSITORIES_QUERY = """
query TestRepositories {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { jobs { name } } }
  }
}
"""
TERMINATE_RUNS_MUTATION = """
mutation TestTerminateRuns($runIds: [String!]!) {
  terminateRuns(runIds: $runIds) { __typename }
}
"""
IN_FLIGHT_STATUSES = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED"}


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers and decoded JSON body of one response."""

    status: int
    headers: dict[str, str]
    body: Any


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    """Return this process's environment without project settings, plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(
            ("APP_DATABASE", "APIFY_", "INGEST_", "DAGSTER_", "JOBS_PIPELINE_", "TRIGGER_")
        )
        and name not in ("CRON_SECRET", "FORWARDED_ALLOW_IPS")
    }
    env.update(DAGSTER_DISABLE_TELEMETRY="1", PYTHONUNBUFFERED="1", **extra)
    return env


def send(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    source_address: str = "127.0.0.1",
) -> HttpResponse:
    """Send one request to 127.0.0.1:port from `source_address` and return the response."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=60, source_address=(source_address, 0)
    )
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        content_type = response.getheader("content-type", "")
        # A HEAD response has JSON headers but no body.
        is_json = content_type.startswith("application/json") and raw
        body = json.loads(raw) if is_json else raw
        return HttpResponse(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=body,
        )
    finally:
        connection.close()


def stop_process(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, with its children, by its process group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


@dataclass
class DagsterWebserver:
    """A `dagster-webserver -m jobs_pipeline` process and the app database it loads with."""

    root: Path
    port: int
    process: subprocess.Popen
    log_path: Path
    app_database_url: str

    @property
    def url(self) -> str:
        """Return the base URL, the value of DAGSTER_GRAPHQL_URL for the service."""
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a GraphQL request and return its `data`. GraphQL errors raise AssertionError."""
        payload = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=payload,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            result = json.loads(response.read())
        if result.get("errors"):
            raise AssertionError(f"GraphQL errors: {result['errors']}")
        return result["data"]

    def runs(self) -> list[dict[str, Any]]:
        """Return every run of the instance, with tags as a dict."""
        result = self.graphql(RUNS_QUERY)["runsOrError"]
        assert result["__typename"] == "Runs", result
        return [
            {**run, "tags": {tag["key"]: tag["value"] for tag in run["tags"]}}
            for run in result["results"]
        ]

    def run_ids(self) -> set[str]:
        """Return the ids of every run of the instance."""
        return {run["runId"] for run in self.runs()}

    def cancel_in_flight_runs(self) -> None:
        """Cancel every queued or running run, so the next test starts with none."""
        ids = [run["runId"] for run in self.runs() if run["status"] in IN_FLIGHT_STATUSES]
        if ids:
            self.graphql(TERMINATE_RUNS_MUTATION, {"runIds": ids})
        remaining = [run for run in self.runs() if run["status"] in IN_FLIGHT_STATUSES]
        assert remaining == [], f"runs still in flight after cancelling: {remaining}"

    def has_ingest_jobs(self) -> bool:
        """Return whether the code location has loaded and offers ingest_jobs."""
        try:
            result = self.graphql(REPOSITORIES_QUERY)["repositoriesOrError"]
        except OSError:
            return False
        if result["__typename"] != "RepositoryConnection":
            return False
        return any(job["name"] == "ingest_jobs" for node in result["nodes"] for job in node["jobs"])


def start_dagster_webserver(root: Path) -> DagsterWebserver:
    """Migrate a SQLite app database under `root` and start a webserver on a free port.

    Raises:
        AssertionError: with the log tail, if the migration fails or the webserver does not
            offer ingest_jobs within STARTUP_TIMEOUT_SECONDS.
    """
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    app_database_url = f"sqlite:///{root / 'app.db'}"
    env = base_env(
        DAGSTER_HOME=str(dagster_home),
        APP_DATABASE_URL=app_database_url,
        APIFY_TOKEN=DUMMY_APIFY_TOKEN,
    )
    upgrade = subprocess.run(
        [str(BIN / "jobs-pipeline"), "db", "upgrade"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert upgrade.returncode == 0, upgrade.stderr

    port = free_port()
    log_path = root / "dagster-webserver.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
            + ["-m", "jobs_pipeline"],
            env=env,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = DagsterWebserver(root, port, process, log_path, app_database_url)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.has_ingest_jobs():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise AssertionError(f"dagster-webserver did not start:\n{_log_tail(log_path)}")
        time.sleep(0.5)
    return server


@dataclass
class TriggerService:
    """A `python -m jobs_pipeline.trigger` process and the file its output goes to."""

    port: int
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(repr=False)

    def send(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        *,
        source_address: str = "127.0.0.1",
    ) -> HttpResponse:
        """Send one request to the service."""
        return send(self.port, method, path, headers, source_address=source_address)

    def log(self) -> str:
        """Return everything the service has written to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")


def start_trigger_service(
    root: Path, name: str, env: dict[str, str], arguments: list[str] | None = None
) -> TriggerService:
    """Start the service on a free port and wait until it accepts connections.

    Readiness is a TCP connect, not a request, so waiting uses none of the rate limit.

    Raises:
        AssertionError: with the log, if the service exits or does not listen in time.
    """
    port = free_port()
    log_path = root / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs_pipeline.trigger", "--port", str(port)]
            + (arguments or []),
            env=env,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise AssertionError(f"the trigger service did not start:\n{_log_tail(log_path)}")
        time.sleep(0.2)
    return TriggerService(port, process, log_path, env)
