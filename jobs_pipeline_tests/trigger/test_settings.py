"""DAGSTER_GRAPHQL_URL parsing and the scope comparison behind the 409 response."""

from __future__ import annotations

import pytest

from jobs_pipeline.settings import SettingsError
from jobs_pipeline.trigger.dagster_runs import RunScope
from jobs_pipeline.trigger.settings import DagsterEndpoint, parse_dagster_url

KEY_A = "a" * 64
KEY_B = "b" * 64


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:3000", DagsterEndpoint("127.0.0.1", 3000, False, "")),
        ("http://127.0.0.1:3000/", DagsterEndpoint("127.0.0.1", 3000, False, "")),
        ("http://127.0.0.1:3000/graphql", DagsterEndpoint("127.0.0.1", 3000, False, "")),
        ("https://dagster.internal", DagsterEndpoint("dagster.internal", None, True, "")),
        (
            "https://dagster.internal/ops/dagster/graphql",
            DagsterEndpoint("dagster.internal", None, True, "/ops/dagster"),
        ),
    ],
)
def test_parse_dagster_url(value, expected):
    endpoint = parse_dagster_url(value)

    assert endpoint == expected
    assert endpoint.graphql_url.endswith("/graphql")


@pytest.mark.parametrize(
    "value",
    [
        "127.0.0.1:3000",
        "ftp://127.0.0.1",
        "http://",
        "http://127.0.0.1:notaport",
        "http://user:password@127.0.0.1:3000",
        "http://127.0.0.1:3000/?x=1",
    ],
)
def test_parse_dagster_url_rejects(value):
    with pytest.raises(SettingsError, match="DAGSTER_GRAPHQL_URL"):
        parse_dagster_url(value)


def test_endpoint_urls():
    endpoint = DagsterEndpoint("dagster.internal", 8443, True, "/prefix")

    assert endpoint.base_url == "https://dagster.internal:8443/prefix"
    assert endpoint.graphql_url == "https://dagster.internal:8443/prefix/graphql"


@pytest.mark.parametrize(
    ("run_config", "expected"),
    [
        (None, RunScope()),
        ({}, RunScope()),
        ({"ops": {"criteria_sets": {"config": {"only_set_keys": []}}}}, RunScope()),
        (
            {"ops": {"criteria_sets": {"config": {"only_set_keys": [f" {KEY_A.upper()} "]}}}},
            RunScope(frozenset({KEY_A})),
        ),
        (
            {"ops": {"criteria_sets": {"config": {"retry_only": True}}}},
            RunScope(retry_only=True),
        ),
    ],
)
def test_scope_from_run_config(run_config, expected):
    assert RunScope.from_run_config(run_config) == expected


def test_scope_round_trips_run_config():
    scope = RunScope(frozenset({KEY_B, KEY_A}))

    assert scope.to_run_config() == {
        "ops": {"criteria_sets": {"config": {"only_set_keys": [KEY_A, KEY_B]}}}
    }
    assert RunScope.from_run_config(scope.to_run_config()) == scope
    assert RunScope().to_run_config() == {}


@pytest.mark.parametrize(
    ("first", "second", "equivalent"),
    [
        (RunScope(), RunScope(), True),
        (RunScope(frozenset({KEY_A})), RunScope(frozenset({KEY_A})), True),
        (RunScope(frozenset({KEY_A})), RunScope(frozenset({KEY_A[:16]})), True),
        (RunScope(frozenset({KEY_A})), RunScope(), False),
        (RunScope(frozenset({KEY_A})), RunScope(frozenset({KEY_B})), False),
        (RunScope(frozenset({KEY_A})), RunScope(frozenset({KEY_A, KEY_B})), False),
        (RunScope(), RunScope(retry_only=True), False),
    ],
)
def test_scope_equivalence(first, second, equivalent):
    assert first.is_equivalent(second) is equivalent
    assert second.is_equivalent(first) is equivalent
