"""The trigger service over real HTTP, against a real Dagster webserver and app database.

One webserver and one service start per module. Runs stay QUEUED because no daemon runs, and
a fixture cancels them after every test, so each test starts with no run in flight.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster_graphql import DagsterGraphQLClient

from jobs_pipeline.criteria.normalize import canonicalize
from jobs_pipeline.database import engine as engines
from jobs_pipeline_tests.factories import add_candidate, add_criteria, add_user
from jobs_pipeline_tests.trigger.servers import (
    DagsterWebserver,
    HttpResponse,
    TriggerService,
    base_env,
    free_port,
    start_dagster_webserver,
    start_trigger_service,
    stop_process,
)

SECRET = "trigger-test-secret-6f1c0b9e2d4a7358"
# The secret with only its last character changed.
SECRET_LAST_CHARACTER_CHANGED = SECRET[:-1] + ("9" if SECRET[-1] != "9" else "8")
CRON_PATH = "/api/cron/ingest-jobs"
CONCURRENT_REQUESTS = 6
TRIGGER_TAG = "jobs_pipeline/trigger"
CRITERIA_ID_TAG = "jobs_pipeline/criteria_id"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh_path(criteria_id: int | str) -> str:
    return f"/api/criteria/{criteria_id}/refresh"


def set_key(keywords: str, location: str | None = "Berlin") -> str:
    return canonicalize(
        keywords=keywords,
        location=location,
        remote="any",
        source="linkedin",
        posted_within_days=None,
    ).set_key


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trigger")


@pytest.fixture(scope="module")
def dagster_webserver(root: Path) -> Iterator[DagsterWebserver]:
    server = start_dagster_webserver(root)
    try:
        yield server
    finally:
        stop_process(server.process)
        engines.dispose_engines()


@pytest.fixture(scope="module")
def app_engine(dagster_webserver: DagsterWebserver) -> sa.Engine:
    """Return an engine on the migrated app database the webserver and services use."""
    return engines.get_engine(engines.normalize_url(dagster_webserver.app_database_url))


@pytest.fixture(scope="module")
def service_env(dagster_webserver: DagsterWebserver) -> dict[str, str]:
    return base_env(
        CRON_SECRET=SECRET,
        DAGSTER_GRAPHQL_URL=dagster_webserver.url,
        APP_DATABASE_URL=dagster_webserver.app_database_url,
    )


@pytest.fixture(scope="module")
def start_service(root: Path) -> Iterator[Callable[..., TriggerService]]:
    """Return a function that starts a service. Every service stops when the module ends."""
    started: list[TriggerService] = []

    def start(name: str, env: dict[str, str], arguments: list[str] | None = None):
        service = start_trigger_service(root, name, env, arguments)
        started.append(service)
        return service

    yield start
    for service in started:
        stop_process(service.process)


@pytest.fixture(scope="module")
def service(start_service, service_env: dict[str, str]) -> TriggerService:
    """The main service, with a rate limit high enough for every test in this module."""
    return start_service("service", service_env, ["--rate-limit", "1000", "--rate-window", "60"])


@pytest.fixture(autouse=True)
def no_runs_in_flight(dagster_webserver: DagsterWebserver) -> Iterator[None]:
    dagster_webserver.cancel_in_flight_runs()
    yield
    dagster_webserver.cancel_in_flight_runs()


@pytest.fixture(scope="module")
def known_criteria_id(app_engine: sa.Engine) -> int:
    """Return the id of an active, searchable criteria row of a recently active candidate."""
    return add_candidate(app_engine, "Platform engineer", now=datetime.now(UTC))[1]


@pytest.mark.parametrize(
    ("headers", "expected_error"),
    [
        pytest.param({}, "missing_token", id="no-header"),
        pytest.param(bearer("not-the-secret-0123456789"), "invalid_token", id="wrong-token"),
        pytest.param(
            bearer(SECRET_LAST_CHARACTER_CHANGED), "invalid_token", id="last-character-changed"
        ),
        pytest.param(bearer(SECRET[:-1]), "invalid_token", id="secret-without-last-character"),
        pytest.param(bearer(SECRET + "0"), "invalid_token", id="secret-with-extra-character"),
        pytest.param(bearer(SECRET.upper()), "invalid_token", id="secret-in-upper-case"),
        pytest.param({"Authorization": f"Basic {SECRET}"}, "missing_token", id="basic-scheme"),
        pytest.param({"Authorization": SECRET}, "missing_token", id="no-scheme"),
        pytest.param({"Authorization": "Bearer "}, "missing_token", id="empty-bearer"),
    ],
)
@pytest.mark.parametrize(
    ("method", "target"),
    [("POST", "cron"), ("GET", "cron"), ("POST", "known-criteria"), ("POST", "unknown-criteria")],
)
def test_unauthenticated_request_gets_401(
    service, dagster_webserver, known_criteria_id, headers, expected_error, method, target
):
    paths = {
        "cron": CRON_PATH,
        "known-criteria": refresh_path(known_criteria_id),
        # Authentication comes first, so a caller without the token learns nothing about ids.
        "unknown-criteria": refresh_path(987654),
    }
    runs_before = dagster_webserver.run_ids()

    response = service.send(method, paths[target], headers)

    assert response.status == 401
    assert response.body["error"] == expected_error
    assert "CRON_SECRET" in response.body["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert dagster_webserver.run_ids() == runs_before


# test_auth.py covers the other invalid secrets. These cases start the real command.
@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="unset"),
        pytest.param("", id="empty"),
        pytest.param("fifteen-chars-x", id="15-characters"),
    ],
)
def test_service_rejects_invalid_secret_at_start(root, dagster_webserver, service_env, secret):
    env = {name: value for name, value in service_env.items() if name != "CRON_SECRET"}
    if secret is not None:
        env["CRON_SECRET"] = secret
    runs_before = dagster_webserver.run_ids()

    # A service that started anyway would serve until the timeout, which fails the test.
    result = subprocess.run(
        [sys.executable, "-m", "jobs_pipeline.trigger", "--port", str(free_port())],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "CRON_SECRET" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr
    if secret and secret.strip():
        assert secret not in result.stderr + result.stdout
    assert dagster_webserver.run_ids() == runs_before


def test_cron_post_starts_one_queued_run(service, dagster_webserver):
    runs_before = dagster_webserver.run_ids()

    response = service.send("POST", CRON_PATH, bearer(SECRET))

    assert response.status == 202
    run_id = response.body["run_id"]
    assert response.body["job_name"] == "ingest_jobs"
    assert dagster_webserver.run_ids() - runs_before == {run_id}
    run = next(run for run in dagster_webserver.runs() if run["runId"] == run_id)
    assert run["jobName"] == "ingest_jobs"
    assert run["status"] == "QUEUED"
    assert run["tags"][TRIGGER_TAG] == "http-cron"
    # The job's own tag stays on the run, so the run queue still starts one at a time.
    assert run["tags"]["jobs_pipeline/ingest"] == "ingest_jobs"
    assert run["runConfig"] == {}

    repeat = service.send("POST", CRON_PATH, bearer(SECRET))

    assert repeat.status == 409
    assert repeat.body["error"] == "run_in_progress"
    assert repeat.body["run_id"] == run_id
    assert run_id in repeat.body["message"]
    assert dagster_webserver.run_ids() - runs_before == {run_id}


def test_cron_get_behaves_like_post(service, dagster_webserver):
    runs_before = dagster_webserver.run_ids()

    response = service.send("GET", CRON_PATH, bearer(SECRET))

    assert response.status == 202
    run_id = response.body["run_id"]
    assert dagster_webserver.run_ids() - runs_before == {run_id}
    run = next(run for run in dagster_webserver.runs() if run["runId"] == run_id)
    assert run["tags"][TRIGGER_TAG] == "http-cron"
    assert run["runConfig"] == {}

    repeat_get = service.send("GET", CRON_PATH, bearer(SECRET))
    repeat_post = service.send("POST", CRON_PATH, bearer(SECRET))

    assert repeat_get.status == 409
    assert repeat_get.body["run_id"] == run_id
    assert repeat_post.status == 409
    assert dagster_webserver.run_ids() - runs_before == {run_id}


# DagsterGraphQLClient 1.13 calls gql with arguments that gql 4 deprecates.
@pytest.mark.filterwarnings("ignore:Using variable_values:DeprecationWarning")
def test_cron_conflicts_with_run_started_elsewhere(service, dagster_webserver):
    """A run with the normal selection counts even when the schedule or launchpad started it."""
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_webserver.port)
    launchpad_run = client.submit_job_execution("ingest_jobs", run_config={})

    response = service.send("POST", CRON_PATH, bearer(SECRET))

    assert response.status == 409
    assert response.body["run_id"] == launchpad_run


def test_concurrent_requests_start_one_run(service, dagster_webserver):
    runs_before = dagster_webserver.run_ids()
    barrier = threading.Barrier(CONCURRENT_REQUESTS)

    def send_after_barrier(_: int) -> HttpResponse:
        barrier.wait(timeout=30)
        return service.send("POST", CRON_PATH, bearer(SECRET))

    with ThreadPoolExecutor(CONCURRENT_REQUESTS) as pool:
        responses = list(pool.map(send_after_barrier, range(CONCURRENT_REQUESTS)))

    statuses = sorted(response.status for response in responses)
    assert statuses == [202] + [409] * (CONCURRENT_REQUESTS - 1)
    run_ids = {response.body["run_id"] for response in responses}
    assert len(run_ids) == 1
    assert dagster_webserver.run_ids() - runs_before == run_ids


def test_criteria_refresh_starts_one_run(service, dagster_webserver, app_engine, now: datetime):
    _, criteria_id = add_candidate(app_engine, "Rust developer", now=now, location="Hamburg")
    expected_key = set_key("Rust developer", "Hamburg")
    runs_before = dagster_webserver.run_ids()

    response = service.send("POST", refresh_path(criteria_id), bearer(SECRET))

    assert response.status == 202
    run_id = response.body["run_id"]
    assert response.body["criteria_id"] == criteria_id
    assert response.body["set_key"] == expected_key
    assert dagster_webserver.run_ids() - runs_before == {run_id}
    run = next(run for run in dagster_webserver.runs() if run["runId"] == run_id)
    assert run["status"] == "QUEUED"
    assert run["tags"][TRIGGER_TAG] == "http-criteria"
    assert run["tags"][CRITERIA_ID_TAG] == str(criteria_id)
    assert run["runConfig"] == {
        "ops": {"criteria_sets": {"config": {"only_set_keys": [expected_key]}}}
    }

    repeat = service.send("POST", refresh_path(criteria_id), bearer(SECRET))

    assert repeat.status == 409
    assert repeat.body["run_id"] == run_id

    # Another candidate's criteria with the same canonical search share the set, so its
    # refresh is the same run.
    _, same_set_id = add_candidate(app_engine, "  rust DEVELOPER ", now=now, location="hamburg")
    same_set = service.send("POST", refresh_path(same_set_id), bearer(SECRET))

    assert same_set.status == 409
    assert same_set.body["run_id"] == run_id
    assert dagster_webserver.run_ids() - runs_before == {run_id}


def test_runs_of_other_scopes_do_not_conflict(service, dagster_webserver, app_engine, now):
    _, go_id = add_candidate(app_engine, "Go developer", now=now)
    _, kotlin_id = add_candidate(app_engine, "Kotlin developer", now=now)
    runs_before = dagster_webserver.run_ids()

    go_refresh = service.send("POST", refresh_path(go_id), bearer(SECRET))
    cron = service.send("POST", CRON_PATH, bearer(SECRET))
    kotlin_refresh = service.send("POST", refresh_path(kotlin_id), bearer(SECRET))

    assert go_refresh.status == 202
    assert cron.status == 202
    assert kotlin_refresh.status == 202
    new_runs = dagster_webserver.run_ids() - runs_before
    assert new_runs == {
        go_refresh.body["run_id"],
        cron.body["run_id"],
        kotlin_refresh.body["run_id"],
    }


@pytest.mark.parametrize(
    "criteria_id",
    ["987654", "0", "abc", "-1", "1.5", "%C2%B2", "9223372036854775808", "9" * 5000],
)
def test_unknown_criteria_gets_404(service, dagster_webserver, criteria_id):
    runs_before = dagster_webserver.run_ids()

    response = service.send("POST", refresh_path(criteria_id), bearer(SECRET))

    assert response.status == 404
    assert response.body["error"] == "criteria_not_found"
    assert "not found" in response.body["message"]
    assert dagster_webserver.run_ids() == runs_before


def test_criteria_not_searchable_gets_422(service, dagster_webserver, app_engine, now):
    user_id = add_user(app_engine, active_hours_ago=1, now=now)
    inactive_id = add_criteria(app_engine, user_id, "Java developer", now=now, is_active=False)
    empty_keywords_id = add_criteria(app_engine, user_id, " , ", now=now)
    runs_before = dagster_webserver.run_ids()

    inactive = service.send("POST", refresh_path(inactive_id), bearer(SECRET))
    empty_keywords = service.send("POST", refresh_path(empty_keywords_id), bearer(SECRET))

    assert inactive.status == 422
    assert inactive.body["error"] == "criteria_not_refreshable"
    assert "inactive" in inactive.body["message"]
    assert empty_keywords.status == 422
    assert "keywords are empty" in empty_keywords.body["message"]
    assert dagster_webserver.run_ids() == runs_before


def test_routing_errors_get_json(service, dagster_webserver):
    runs_before = dagster_webserver.run_ids()

    unknown_path = service.send("POST", "/api/unknown", bearer(SECRET))
    wrong_method = service.send("GET", refresh_path(1), bearer(SECRET))
    head = service.send("HEAD", CRON_PATH, bearer(SECRET))

    assert unknown_path.status == 404
    assert unknown_path.body["error"] == "not_found"
    assert CRON_PATH in unknown_path.body["message"]
    assert wrong_method.status == 405
    assert wrong_method.body["error"] == "method_not_allowed"
    assert "POST" in wrong_method.headers["allow"]
    # HEAD is served wherever GET is, but must not start a run.
    assert head.status == 405
    assert dagster_webserver.run_ids() == runs_before


def test_dagster_down_gets_503(start_service, service_env, dagster_webserver, known_criteria_id):
    # Nothing listens on a port that was just free, so every GraphQL request fails to connect.
    env = {**service_env, "DAGSTER_GRAPHQL_URL": f"http://127.0.0.1:{free_port()}"}
    offline = start_service("dagster-down", env)
    runs_before = dagster_webserver.run_ids()

    cron = offline.send("POST", CRON_PATH, bearer(SECRET))
    refresh = offline.send("POST", refresh_path(known_criteria_id), bearer(SECRET))
    wrong_token = offline.send("POST", CRON_PATH, bearer(SECRET_LAST_CHARACTER_CHANGED))

    for response in (cron, refresh):
        assert response.status == 503
        assert response.body["error"] == "dagster_unavailable"
        assert "DAGSTER_GRAPHQL_URL" in response.body["message"]
        assert response.headers["retry-after"] == "30"
    assert wrong_token.status == 401
    assert dagster_webserver.run_ids() == runs_before
    assert "Responding 503" in offline.log()


def test_unmigrated_database_gets_503(start_service, service_env, root, dagster_webserver):
    env = {**service_env, "APP_DATABASE_URL": f"sqlite:///{root / 'not-migrated.db'}"}
    unmigrated = start_service("database-not-migrated", env)
    runs_before = dagster_webserver.run_ids()

    response = unmigrated.send("POST", refresh_path(1), bearer(SECRET))

    assert response.status == 503
    assert response.body["error"] == "app_database_unavailable"
    assert "jobs-pipeline db upgrade" in response.body["message"]
    assert dagster_webserver.run_ids() == runs_before


def test_rate_limit_gets_429(start_service, service_env, dagster_webserver):
    limited = start_service(
        "rate-limited", service_env, ["--rate-limit", "3", "--rate-window", "3600"]
    )
    runs_before = dagster_webserver.run_ids()

    within_limit = [limited.send("POST", CRON_PATH) for _ in range(3)]
    over_limit = limited.send("POST", CRON_PATH, bearer(SECRET))
    # Without --proxy-headers the service ignores X-Forwarded-For, so it opens no new window.
    forwarded = limited.send("POST", CRON_PATH, {**bearer(SECRET), "X-Forwarded-For": "10.9.8.7"})
    other_address = limited.send("POST", CRON_PATH, source_address="127.0.0.2")

    assert [response.status for response in within_limit] == [401, 401, 401]
    assert over_limit.status == 429
    assert over_limit.body["error"] == "rate_limited"
    assert "3 requests per 3600 seconds" in over_limit.body["message"]
    assert 1 <= int(over_limit.headers["retry-after"]) <= 3600
    assert forwarded.status == 429
    assert other_address.status == 401
    assert dagster_webserver.run_ids() == runs_before
    # Only the first rejection in a row is logged.
    assert limited.log().count("Rate limit reached for client 127.0.0.1") == 1


def test_secret_absent_from_logs(start_service, service, dagster_webserver, root):
    accepted = service.send("POST", CRON_PATH, bearer(SECRET))
    conflict = service.send("POST", CRON_PATH, bearer(SECRET))
    last_character = service.send("POST", CRON_PATH, bearer(SECRET_LAST_CHARACTER_CHANGED))
    shortened = service.send("GET", CRON_PATH, bearer(SECRET[:-1]))
    assert [accepted.status, conflict.status, last_character.status, shortened.status] == [
        202,
        409,
        401,
        401,
    ]

    service_log = service.log()
    # These lines show that the log was captured.
    assert '"POST /api/cron/ingest-jobs HTTP/1.1" 202' in service_log
    assert '"GET /api/cron/ingest-jobs HTTP/1.1" 401' in service_log
    assert f"Submitted ingest_jobs run {accepted.body['run_id']}" in service_log
    assert "with 401: invalid_token" in service_log

    # Every token sent in this module except the upper-case one contains SECRET[:-1], so its
    # absence shows that none of them was logged.
    logs = {path.name: path.read_text(errors="replace") for path in root.glob("*.log")}
    assert "service.log" in logs
    assert "dagster-webserver.log" in logs
    for name, text in logs.items():
        assert SECRET[:-1] not in text, f"the secret appears in {name}"
        assert SECRET.upper() not in text, f"the upper-case secret appears in {name}"
