"""The commands an operator types: `jobs-pipeline db upgrade` and `dagster job execute`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa

from jobs_pipeline.database import engine as engines
from jobs_pipeline.database.models import CriteriaSet, Job
from jobs_pipeline_tests.conftest import POSTGRES_ADMIN_DSN
from jobs_pipeline_tests.factories import add_candidate

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN = "apify_api_cli_test_token_abcdef0123"


def run_command(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Return an environment with a temporary Dagster home and none of the project settings."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("APP_DATABASE", "APIFY_", "INGEST_", "DAGSTER_", "JOBS_PIPELINE_"))
    }
    env.update(DAGSTER_HOME=str(dagster_home), DAGSTER_DISABLE_TELEMETRY="1", **extra)
    return env


def counts(url: str) -> dict[str, int]:
    engine = engines.get_engine(engines.normalize_url(url))
    with engine.connect() as connection:
        return {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("jobs", "user_jobs", "ingestion_runs")
        }


def open_connections(url: str) -> int | None:
    """Return the number of PostgreSQL sessions on the URL's database (None for SQLite)."""
    parsed = engines.normalize_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    admin = psycopg2.connect(POSTGRES_ADMIN_DSN)
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (parsed.database,)
            )
            return cursor.fetchone()[0]
    finally:
        admin.close()


def test_job_execute_on_configured_database(tmp_path, database_url, apify_server, now):
    env = clean_env(
        tmp_path,
        APP_DATABASE_URL=database_url,
        APIFY_TOKEN=TOKEN,
        APIFY_API_URL=apify_server.url,
    )
    upgrade = run_command([str(BIN / "jobs-pipeline"), "db", "upgrade"], env, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    engine = engines.get_engine(engines.normalize_url(database_url))
    add_candidate(engine, "Python developer", now=now)
    add_candidate(engine, "Data engineer", now=now, location="Zürich")
    baseline = open_connections(database_url)

    result = run_command(
        [str(BIN / "dagster"), "job", "execute", "-m", "jobs_pipeline", "-j", "ingest_jobs"],
        env,
        tmp_path,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert open_connections(database_url) == baseline
    rows = counts(database_url)
    assert rows["jobs"] > 0
    assert rows["user_jobs"] > 0
    assert rows["ingestion_runs"] == 1
    assert "Ingestion run finished" in result.stderr + result.stdout
    assert TOKEN not in result.stderr + result.stdout
    assert len(apify_server.runs) == 2


def test_job_execute_demo_on_embedded_defaults(tmp_path):
    env = clean_env(tmp_path, JOBS_PIPELINE_DATA_DIR=str(tmp_path / "data"))

    result = run_command(
        [str(BIN / "dagster"), "job", "execute", "-m", "jobs_pipeline", "-j", "ingest_jobs"],
        env,
        tmp_path,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stderr + result.stdout
    assert "DEMO MODE" in output
    rows = counts(f"sqlite:///{tmp_path / 'data' / 'app.db'}")
    assert rows["jobs"] > 0
    assert rows["user_jobs"] > 0

    report = run_command([str(BIN / "jobs-pipeline"), "report"], env, tmp_path)
    assert report.returncode == 0, report.stderr
    assert "| user_jobs " in report.stdout


def test_job_stops_when_schema_behind(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    env = clean_env(
        tmp_path, APP_DATABASE_URL=url, APIFY_TOKEN=TOKEN, APIFY_API_URL="http://127.0.0.1:9"
    )

    result = run_command(
        [str(BIN / "dagster"), "job", "execute", "-m", "jobs_pipeline", "-j", "ingest_jobs"],
        env,
        tmp_path,
    )

    assert result.returncode != 0
    assert "jobs-pipeline db upgrade" in result.stderr + result.stdout


def test_demo_refused_on_configured_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    env = clean_env(tmp_path, APP_DATABASE_URL=url)
    assert run_command([str(BIN / "jobs-pipeline"), "db", "upgrade"], env, tmp_path).returncode == 0

    result = run_command(
        [str(BIN / "dagster"), "job", "execute", "-m", "jobs_pipeline", "-j", "ingest_jobs"],
        env,
        tmp_path,
    )

    assert result.returncode != 0
    assert "APP_DATABASE_URL is set but APIFY_TOKEN is not" in result.stderr + result.stdout


@pytest.mark.parametrize("url", ["not a url", "postgresql://user:hunter2@127.0.0.1:9/db"])
def test_upgrade_rejects_bad_url_without_password(tmp_path, url):
    env = clean_env(tmp_path, APP_DATABASE_URL=url)

    result = run_command([str(BIN / "jobs-pipeline"), "db", "upgrade"], env, tmp_path)

    assert result.returncode != 0
    assert "hunter2" not in result.stderr + result.stdout


def test_killed_run_resumes_without_new_actor_run(tmp_path, database_url, apify_server, now):
    env = clean_env(
        tmp_path,
        APP_DATABASE_URL=database_url,
        APIFY_TOKEN=TOKEN,
        APIFY_API_URL=apify_server.url,
    )
    assert run_command([str(BIN / "jobs-pipeline"), "db", "upgrade"], env, tmp_path).returncode == 0
    engine = engines.get_engine(engines.normalize_url(database_url))
    add_candidate(engine, "Python developer", now=now)
    # Slow dataset pages hold the step between the finished actor run and the stored batch.
    apify_server.add_fault("slow_pages", delay_seconds=8)
    command = [str(BIN / "dagster"), "job", "execute", "-m", "jobs_pipeline", "-j", "ingest_jobs"]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            reading = any("/items" in name for name in apify_server.request_counts)
            if reading and apify_server.runs and apify_server.runs[0].status == "SUCCEEDED":
                break
            time.sleep(0.1)
        else:
            pytest.fail("the actor run never finished while the job was reading its dataset")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with engine.connect() as connection:
        pending = connection.execute(sa.select(CriteriaSet.pending_apify_run_id)).scalar_one()
        assert connection.execute(sa.select(sa.func.count()).select_from(Job)).scalar_one() == 0
    assert pending == apify_server.runs[0].run_id

    apify_server.clear_faults()
    # The killed run cannot release its lease; let it expire as it would after lease_minutes.
    with engine.begin() as connection:
        connection.execute(sa.update(CriteriaSet).values(lease_expires_at=now))
    result = run_command(command, env, tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert len(apify_server.runs) == 1
    assert counts(database_url)["jobs"] == apify_server.runs[0].item_count
    assert "resuming Apify run" in result.stderr + result.stdout
    with engine.connect() as connection:
        assert connection.execute(sa.select(CriteriaSet.pending_apify_run_id)).scalar_one() is None


def test_concurrent_executions_keep_their_own_facts(tmp_path, database_url, apify_server, now):
    env = clean_env(
        tmp_path, APP_DATABASE_URL=database_url, APIFY_TOKEN=TOKEN, APIFY_API_URL=apify_server.url
    )
    assert run_command([str(BIN / "jobs-pipeline"), "db", "upgrade"], env, tmp_path).returncode == 0
    engine = engines.get_engine(engines.normalize_url(database_url))
    for keywords in ("Python", "Go", "Rust", "Java", "Kotlin", "Scala"):
        add_candidate(engine, f"{keywords} developer", now=now)
    # Create the local instance's storage first: two processes creating it at once collide
    # inside Dagster's own SQLite storage, which a real deployment never starts empty.
    warm_up = "import dagster as dg; dg.DagsterInstance.get().get_runs(limit=1)"
    assert run_command([sys.executable, "-c", warm_up], env, tmp_path).returncode == 0
    # Slow actor runs keep both executions busy at the same time.
    apify_server.latency_seconds = 2.0
    command = [str(BIN / "dagster"), "job", "execute", "-m", "jobs_pipeline", "-j", "ingest_jobs"]
    processes = [
        subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = [process.communicate(timeout=600)[1] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], "\n".join(
        line for error in errors for line in error.splitlines() if "Error" in line
    )[-3000:]
    with engine.connect() as connection:
        facts = connection.execute(
            sa.text("SELECT sets_succeeded, links_created FROM ingestion_runs")
        ).all()
        links = connection.execute(sa.text("SELECT count(*) FROM user_jobs")).scalar_one()
    assert len(apify_server.runs) == 6
    assert sum(row.sets_succeeded for row in facts) == 6
    assert sum(row.links_created for row in facts) == links
