"""The external contract: names that operators, the web app and other tools rely on."""

import subprocess
import sys

import dagster as dg
import pytest

from jobs_pipeline import defs
from jobs_pipeline.database.models import Base

ASSET_NAMES = {"eligible_criteria", "criteria_sets", "scraped_job_batches", "user_job_links"}


def test_assets_named_as_contract():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == ASSET_NAMES


def test_ingest_job_selects_all_assets():
    job = defs.resolve_job_def("ingest_jobs")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == ASSET_NAMES


def test_asset_lineage():
    graph = defs.resolve_asset_graph()

    def parents(name):
        return {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("criteria_sets") == {"eligible_criteria"}
    assert parents("scraped_job_batches") == {"criteria_sets"}
    assert parents("user_job_links") == {"eligible_criteria", "scraped_job_batches"}


def test_schedule_defaults_every_four_hours_utc():
    schedule = defs.resolve_schedule_def("ingest_jobs_schedule")
    assert schedule.cron_schedule == "0 */4 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "ingest_jobs"


def test_sensor_targets_ingest_job():
    sensor = defs.resolve_sensor_def("new_criteria_sensor")
    assert sensor.job_name == "ingest_jobs"


def test_failure_sensor_defined():
    assert defs.resolve_sensor_def("ingest_failure_sensor").name == "ingest_failure_sensor"


def test_contract_tables_exist():
    tables = set(Base.metadata.tables)
    assert {
        "users",
        "job_criteria",
        "criteria_sets",
        "job_batches",
        "jobs",
        "user_jobs",
        "ingestion_runs",
    } <= tables


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("users", {"id", "last_active_at"}),
        (
            "job_criteria",
            {
                "id",
                "user_id",
                "is_active",
                "keywords",
                "location",
                "remote",
                "source",
                "created_at",
                "updated_at",
            },
        ),
        (
            "jobs",
            {
                "id",
                "source",
                "external_id",
                "title",
                "company",
                "location",
                "url",
                "posted_at",
                "description",
            },
        ),
        ("user_jobs", {"user_id", "job_id", "criteria_id", "created_at"}),
    ],
)
def test_web_app_columns_exist(table, columns):
    assert columns <= set(Base.metadata.tables[table].columns.keys())


@pytest.mark.parametrize(
    ("table", "columns"),
    [("jobs", {"source", "external_id"}), ("user_jobs", {"user_id", "job_id"})],
)
def test_unique_keys(table, columns):
    uniques = [
        {column.name for column in constraint.columns}
        for constraint in Base.metadata.tables[table].constraints
        if constraint.__class__.__name__ == "UniqueConstraint"
    ]
    assert columns in uniques


def _load_in_subprocess(env_overrides):
    import os

    env = {**os.environ, **env_overrides}
    return subprocess.run(
        [sys.executable, "-c", "import jobs_pipeline"], env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INGEST_CRON", "every four hours"),
        ("INGEST_TIMEZONE", "Mars/Olympus_Mons"),
        ("INGEST_MAX_SETS_PER_RUN", "ten"),
        ("INGEST_MAX_USD_PER_RUN", "-1"),
        ("APIFY_MAX_ITEMS", "0"),
    ],
)
def test_invalid_setting_fails_load_naming_variable(variable, value):
    result = _load_in_subprocess({variable: value})
    assert result.returncode != 0
    assert f"{variable}={value!r}" in result.stderr


def test_cron_and_timezone_from_environment():
    code = (
        "from jobs_pipeline import defs; s = defs.resolve_schedule_def('ingest_jobs_schedule');"
        "print(s.cron_schedule, s.execution_timezone)"
    )
    import os

    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "INGEST_CRON": "30 */6 * * *", "INGEST_TIMEZONE": "Europe/Berlin"},
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "30 */6 * * * Europe/Berlin"


def test_bare_dagster_postgres_url_rejected_quietly():
    result = _load_in_subprocess(
        {"DAGSTER_POSTGRES_URL": "postgresql://dagster:s3cret@127.0.0.1/d"}
    )
    assert result.returncode != 0
    assert "postgresql+psycopg2://" in result.stderr
    assert "s3cret" not in result.stderr


def test_policy_from_environment():
    code = (
        "from jobs_pipeline.resources import build_resources; p = build_resources()"
        "['refresh_policy']; print(p.hot_interval_hours, p.warm_interval_hours, "
        "p.hot_window_hours, p.pause_after_inactive_days)"
    )
    import os

    env = {
        **os.environ,
        "INGEST_HOT_INTERVAL_HOURS": "2",
        "INGEST_WARM_INTERVAL_HOURS": "8.5",
        "INGEST_HOT_WINDOW_HOURS": "12",
        "INGEST_PAUSE_AFTER_INACTIVE_DAYS": "3",
    }
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.stdout.split() == ["2.0", "8.5", "12", "3"]
