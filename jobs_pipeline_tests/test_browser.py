"""The Dagster UI in headless Chromium after one `ingest_jobs` run: the asset graph, the
schedule, the run's facts and the metadata of `user_job_links`.

Screenshots of the four pages are written to `data/screenshots/`, which git ignores.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobs_pipeline.database import engine as engines
from jobs_pipeline.database.models import IngestionRun
from jobs_pipeline_tests.conftest import IN_CI
from jobs_pipeline_tests.factories import add_candidate
from jobs_pipeline_tests.headless_chromium import HeadlessChromium
from jobs_pipeline_tests.test_command_line import BIN, PROJECT_ROOT, clean_env, run_command

SCREENSHOT_DIR = PROJECT_ROOT / "data" / "screenshots"
SCREENSHOT_NAMES = ("asset-graph", "schedule", "run-facts", "user-job-links")
ASSETS = ("eligible_criteria", "criteria_sets", "scraped_job_batches", "user_job_links")
TOKEN = "apify_api_browser_test_token_0123"
WEBSERVER_START_TIMEOUT_SECONDS = 120
PAGE_TIMEOUT_SECONDS = 60
# With Chromium 156 a blank 1600x1000 page is a PNG of about 7 KB and the four loaded pages are
# 80-200 KB. Loading states are as large as loaded pages, so the waits before each screenshot,
# not this size, keep spinners and skeletons out of the pictures.
MIN_SCREENSHOT_BYTES = 30_000

GRAPH_NODE_TEXTS = "[...document.querySelectorAll('foreignObject')].map(node => node.textContent)"
SCHEDULE_RUNNING_SWITCH = (
    "[...document.querySelectorAll('tr')]"
    ".find(row => row.children[0]?.innerText.trim() === 'Running')"
    "?.querySelector('input[type=checkbox]')?.checked ?? null"
)


def find_chromium() -> str:
    """Return the path of the system Chromium. Fails in CI and skips elsewhere without it."""
    path = shutil.which("chromium")
    if path is not None:
        return path
    message = "chromium not found on PATH. Install Debian's package: apt-get install chromium"
    if IN_CI:
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_ingest_jobs(tmp_path: Path, env: dict[str, str], database_url: str, now) -> IngestionRun:
    """Run `ingest_jobs` once for two candidates in separate criteria sets.

    Returns the run's `ingestion_runs` row.
    """
    upgrade = run_command([str(BIN / "jobs-pipeline"), "db", "upgrade"], env, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    engine = engines.get_engine(engines.normalize_url(database_url))
    add_candidate(engine, "Python developer", now=now)
    add_candidate(engine, "Data engineer", now=now, location="Zürich")

    result = run_command(
        [str(BIN / "dagster"), "job", "execute", "-m", "jobs_pipeline", "-j", "ingest_jobs"],
        env,
        tmp_path,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    with Session(engine) as session:
        return session.scalars(sa.select(IngestionRun)).one()


@contextlib.contextmanager
def running_webserver(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """Run `dagster-webserver` on the code location and yield its base URL once it responds.

    Stops the webserver and its code server (one process group) on exit.
    """
    port = free_port()
    log_path = cwd / "webserver.log"
    command = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "-m", "jobs_pipeline"],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_webserver(process, port, log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_webserver(process: subprocess.Popen, port: int, log_path: Path) -> None:
    """Poll `/server_info` until it returns 200. Fails when the webserver exits or times out."""
    deadline = time.monotonic() + WEBSERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"dagster-webserver exited with code {process.returncode}:\n"
                f"{log_path.read_text()[-3000:]}"
            )
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/server_info")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.5)
    pytest.fail(
        f"dagster-webserver timed out: no response on port {port} within "
        f"{WEBSERVER_START_TIMEOUT_SECONDS} s:\n{log_path.read_text()[-3000:]}"
    )


def png_size(path: Path) -> tuple[int, int]:
    """Return (width, height) from the PNG header. Raises ValueError for a file of another type."""
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">II", header[16:24])


def rows_by_key(rows: list[list[str]]) -> dict[str, str]:
    """Map the first cell of each table row to its last cell."""
    return {row[0]: row[-1] for row in rows if row}


def test_ui_shows_assets_schedule_and_run_facts(tmp_path, apify_server, now):
    chromium = find_chromium()
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    env = clean_env(
        tmp_path,
        APP_DATABASE_URL=database_url,
        APIFY_TOKEN=TOKEN,
        APIFY_API_URL=apify_server.url,
    )
    run = run_ingest_jobs(tmp_path, env, database_url, now)
    assert run.status == "succeeded"
    assert run.sets_succeeded == 2
    assert run.sets_failed == 0
    assert run.links_created > 0

    # Until this file exists in DAGSTER_HOME, Dagster opens a community sign-up dialog over
    # every page served on 127.0.0.1 (dagster._core.nux). Its "Skip" button writes the file.
    nux_folder = Path(env["DAGSTER_HOME"]) / ".nux"
    nux_folder.mkdir()
    (nux_folder / "nux.yaml").write_text("seen: 1\n")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    screenshots = {name: SCREENSHOT_DIR / f"{name}.png" for name in SCREENSHOT_NAMES}
    for path in screenshots.values():
        path.unlink(missing_ok=True)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()

    with (
        running_webserver(env, tmp_path) as base_url,
        HeadlessChromium(chromium, profile, tmp_path / "chromium.log") as browser,
    ):
        # The asset graph: one node per asset, each with its latest materialization.
        browser.navigate(f"{base_url}/asset-groups")
        browser.wait_for(
            GRAPH_NODE_TEXTS,
            lambda texts: len(texts) == len(ASSETS) and all("Materialized" in t for t in texts),
            PAGE_TIMEOUT_SECONDS,
            f"{len(ASSETS)} materialized asset nodes in the graph",
        )
        browser.wait_until_settled(PAGE_TIMEOUT_SECONDS)
        browser.screenshot(screenshots["asset-graph"])
        nodes = browser.evaluate(GRAPH_NODE_TEXTS)
        for asset in ASSETS:
            assert any(node.startswith(asset) for node in nodes), (asset, nodes)

        # The schedule's page. `-m jobs_pipeline` names the code location `jobs_pipeline`.
        browser.navigate(f"{base_url}/locations/jobs_pipeline/schedules/ingest_jobs_schedule")
        browser.wait_for_text(["ingest_jobs_schedule", "Execution timezone"], PAGE_TIMEOUT_SECONDS)
        browser.wait_until_settled(PAGE_TIMEOUT_SECONDS)
        browser.screenshot(screenshots["schedule"])
        schedule = rows_by_key(browser.table_rows("tr"))
        assert schedule["Target"] == "ingest_jobs"
        assert "(0 */4 * * *)" in schedule["Schedule"]
        assert schedule["Execution timezone"] == "UTC"
        assert browser.evaluate(SCHEDULE_RUNNING_SWITCH) is True

        # The run's facts: its observation on user_job_links, opened in full in a dialog.
        browser.navigate(f"{base_url}/runs/{run.dagster_run_id}?logs=type%3AASSET_OBSERVATION")
        run_page = browser.wait_for_text(
            ["Success", "ASSET_OBSERVATION", "View full message"], PAGE_TIMEOUT_SECONDS
        )
        assert run.dagster_run_id[:8] in run_page
        assert browser.click_text("View full message")
        browser.wait_for_text(["links_created", "summary"], PAGE_TIMEOUT_SECONDS, "[role=dialog]")
        browser.wait_until_settled(PAGE_TIMEOUT_SECONDS)
        browser.screenshot(screenshots["run-facts"])
        facts = rows_by_key(browser.table_rows("[role=dialog] tr"))
        assert facts["asset_key"].startswith("user_job_links")
        assert facts["status"] == run.status
        assert facts["links_created"] == str(run.links_created)
        assert facts["jobs_received"] == str(run.jobs_received)
        assert facts["jobs_new"] == str(run.jobs_new)
        assert facts["sets_succeeded"] == str(run.sets_succeeded)
        assert facts["sets_failed"] == str(run.sets_failed)
        assert facts["summary"] == "[Show Markdown]"

        # The asset's page: the metadata of its latest materialization.
        browser.navigate(f"{base_url}/assets/user_job_links")
        browser.wait_for_text(
            ["Latest check results", "Metadata", "sets_linked"], PAGE_TIMEOUT_SECONDS
        )
        browser.wait_until_settled(PAGE_TIMEOUT_SECONDS)
        browser.screenshot(screenshots["user-job-links"])
        metadata = rows_by_key(browser.table_rows("tr"))
        assert metadata["links_created"] == str(run.links_created)
        assert metadata["sets_linked"] == str(run.sets_succeeded)
        assert metadata["errors"] == "0"

    for name, path in screenshots.items():
        assert path.exists(), name
        assert png_size(path) == (1600, 1000), name
        assert path.stat().st_size > MIN_SCREENSHOT_BYTES, (name, path.stat().st_size)
