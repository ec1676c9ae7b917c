"""Tests of the local Apify server, driven over HTTP by the real apify-client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apify_client import ApifyClient

# The response models are not exported by apify_client, so the tests use the private module.
from apify_client._models import ActorResource, DatasetResource, Run
from apify_client.errors import (
    InvalidRequestError,
    RateLimitError,
    ServerError,
    UnauthorizedError,
)

from jobs_pipeline.apify import sample_data
from jobs_pipeline.apify.local_server import FaultRule, LocalApifyServer

LINKEDIN_ACTOR = "bebity/linkedin-jobs-scraper"
INDEED_ACTOR = "misceres/indeed-scraper"
TOKEN = "test-token-3f9a"
PYTHON_BERLIN = {"title": "python developer", "location": "Berlin", "rows": 10}
LINKEDIN_KEYS = {
    "id",
    "title",
    "companyName",
    "location",
    "jobUrl",
    "publishedAt",
    "postedTime",
    "salary",
    "description",
    "descriptionHtml",
    "contractType",
    "experienceLevel",
    "workType",
    "sector",
    "applicationsCount",
}
INDEED_KEYS = {
    "id",
    "positionName",
    "company",
    "location",
    "url",
    "externalApplyLink",
    "postedAt",
    "salary",
    "jobType",
    "description",
    "descriptionHTML",
    "rating",
    "scrapedAt",
}
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[LocalApifyServer]:
    with LocalApifyServer(expected_token=TOKEN) as local_server:
        yield local_server


def make_client(
    server: LocalApifyServer, *, token: str | None = TOKEN, **kwargs: Any
) -> ApifyClient:
    kwargs.setdefault("max_retries", 2)
    kwargs.setdefault("min_delay_between_retries", timedelta(milliseconds=10))
    return ApifyClient(token, api_url=server.url, **kwargs)


def run_to_end(client: ApifyClient, actor_id: str, run_input: dict[str, Any]) -> Run:
    started = client.actor(actor_id).start(run_input=run_input)
    finished = client.run(started.id).wait_for_finish(wait_duration=timedelta(seconds=10))
    assert finished is not None
    return finished


def dataset_items(client: ApifyClient, run: Run) -> list[dict[str, Any]]:
    return list(client.dataset(run.default_dataset_id).iterate_items())


def collect_within(items: Iterator[dict[str, Any]], *, seconds: float) -> list[dict[str, Any]]:
    """Collect `items` in a thread, failing if that takes longer than `seconds`.

    A wrong pagination header can make iterate_items request empty pages forever.
    """
    collected: list[dict[str, Any]] = []
    worker = threading.Thread(target=collected.extend, args=(items,), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"iterating the items took longer than {seconds} s"
    return collected


def http_request(
    server: LocalApifyServer,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """Send a request without apify-client and return status, headers and decoded body."""
    all_headers = {"Authorization": f"Bearer {TOKEN}", **(headers or {})}
    request = urllib.request.Request(
        server.url + path, data=body, method=method, headers=all_headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw, status, response_headers = response.read(), response.status, response.headers
    except urllib.error.HTTPError as error:
        raw, status, response_headers = error.read(), error.code, error.headers
    content_type = response_headers.get("Content-Type", "")
    payload = json.loads(raw) if content_type.startswith("application/json") else raw.decode()
    return status, dict(response_headers), payload


def test_run_lifecycle_and_items(server: LocalApifyServer) -> None:
    server.latency_seconds = 0.3
    client = make_client(server)

    started = client.actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN, memory_mbytes=2048)
    assert started.status == "RUNNING"
    assert started.finished_at is None

    finished = client.run(started.id).wait_for_finish(wait_duration=timedelta(seconds=5))
    assert finished is not None
    assert finished.status == "SUCCEEDED"
    assert finished.default_dataset_id == started.default_dataset_id
    assert finished.options.memory_mbytes == 2048
    assert finished.usage_total_usd == pytest.approx(10 * 0.001)
    # 2 GB for 0.3 s is 2 * 0.3 / 3600 compute units.
    assert finished.stats.compute_units == pytest.approx(2 * 0.3 / 3600, rel=0.05)

    items = dataset_items(client, finished)
    assert len(items) == 10
    assert client.dataset(finished.default_dataset_id).get().item_count == 10
    assert "python developer" in items[0]["title"].lower()
    for item in items:
        assert "python" in item["title"].lower() or "developer" in item["title"].lower()
        assert "berlin" in item["location"].lower()


def test_responses_validate_against_client_models(server: LocalApifyServer) -> None:
    run = run_to_end(make_client(server), LINKEDIN_ACTOR, PYTHON_BERLIN)

    _, _, run_body = http_request(server, "GET", f"/v2/actor-runs/{run.id}")
    validated = Run.model_validate(run_body["data"])
    assert validated.status == "SUCCEEDED"
    assert run_body["data"]["pricingInfo"]["pricingModel"] == "PRICE_PER_DATASET_ITEM"
    assert run_body["data"]["usage"]["DATASET_WRITES"] == 10
    assert run_body["data"]["meta"]["origin"] == "API"
    assert set(run_body["data"]["options"]) >= {
        "build",
        "timeoutSecs",
        "memoryMbytes",
        "diskMbytes",
    }

    _, _, dataset_body = http_request(server, "GET", f"/v2/datasets/{run.default_dataset_id}")
    assert DatasetResource.model_validate(dataset_body["data"]).item_count == 10

    _, _, actor_body = http_request(server, "GET", "/v2/actors/bebity~linkedin-jobs-scraper")
    assert ActorResource.model_validate(actor_body["data"]).id == run.act_id


def test_wait_for_finish_parameter_blocks(server: LocalApifyServer) -> None:
    server.latency_seconds = 0.5
    run = make_client(server).actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)

    _, _, immediate = http_request(server, "GET", f"/v2/actor-runs/{run.id}?waitForFinish=0")
    assert immediate["data"]["status"] == "RUNNING"

    began = time.monotonic()
    _, _, waited = http_request(server, "GET", f"/v2/actor-runs/{run.id}?waitForFinish=5")
    elapsed = time.monotonic() - began
    assert waited["data"]["status"] == "SUCCEEDED"
    assert elapsed >= 0.3
    assert elapsed < 2


def test_start_waits_for_run_end(server: LocalApifyServer) -> None:
    server.latency_seconds = 0.2
    started = (
        make_client(server).actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN, wait_for_finish=5)
    )
    assert started.status == "SUCCEEDED"


def test_same_input_returns_same_postings(server: LocalApifyServer) -> None:
    client = make_client(server)
    first = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN))
    second = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN))
    assert first == second

    with LocalApifyServer(seed=1) as other_seed_server:
        other_client = make_client(other_seed_server)
        other = dataset_items(other_client, run_to_end(other_client, LINKEDIN_ACTOR, PYTHON_BERLIN))
    assert {item["id"] for item in other}.isdisjoint(item["id"] for item in first)


def test_keyword_searches_share_postings(server: LocalApifyServer) -> None:
    client = make_client(server)
    python = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN))
    senior_input = {"title": "senior python engineer", "location": "berlin", "rows": 10}
    senior = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, senior_input))
    analyst_input = {"title": "data analyst", "location": "Berlin", "rows": 10}
    analyst = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, analyst_input))

    python_by_id = {item["id"]: item for item in python}
    shared = [item for item in senior if item["id"] in python_by_id]
    assert shared
    for item in shared:
        assert item == python_by_id[item["id"]]
    assert python_by_id.keys().isdisjoint(item["id"] for item in analyst)


def test_smaller_run_is_prefix(server: LocalApifyServer) -> None:
    client = make_client(server)
    small = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, {**PYTHON_BERLIN, "rows": 4}))
    large = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN))
    assert large[:4] == small


def test_narrow_date_filter_returns_subset(server: LocalApifyServer) -> None:
    client = make_client(server)
    wide_input = {**PYTHON_BERLIN, "rows": 40}
    wide = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, wide_input))
    narrow_input = {**wide_input, "publishedAt": "r86400"}
    narrow = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, narrow_input))
    assert 0 < len(narrow) < len(wide)
    assert {item["id"] for item in narrow} <= {item["id"] for item in wide}


def test_linkedin_item_shape(server: LocalApifyServer) -> None:
    client = make_client(server)
    items = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN))
    for item in items:
        assert set(item) == LINKEDIN_KEYS
        assert item["jobUrl"] == f"https://www.linkedin.com/jobs/view/{item['id']}"
        date.fromisoformat(item["publishedAt"])
        assert re.fullmatch(r"\d+ (hour|day|week|month)s? ago", item["postedTime"])
        assert item["workType"] in {"On-site", "Remote", "Hybrid"}
        assert "<li>" in item["descriptionHtml"]


def test_indeed_item_shape(server: LocalApifyServer) -> None:
    client = make_client(server)
    run_input = {"position": "Data Engineer", "location": "Zürich", "country": "CH", "maxItems": 7}
    items = dataset_items(client, run_to_end(client, INDEED_ACTOR, run_input))
    assert len(items) == 7
    for item in items:
        assert set(item) == INDEED_KEYS
        assert item["url"] == f"https://ch.indeed.com/viewjob?jk={item['id']}"
        assert isinstance(item["jobType"], list)
        assert re.fullmatch(r"Just posted|\d+ days? ago|30\+ days ago", item["postedAt"])
        assert "zürich" in item["location"].lower()
        assert "data" in item["positionName"].lower() or "engineer" in item["positionName"].lower()


def test_items_have_multilingual_text() -> None:
    search = sample_data.parse_search_request(LINKEDIN_ACTOR, {"title": "Backend Developer"})
    items = sample_data.generate_postings(search, 200, reference_date=date(2025, 6, 2))
    companies = {item["companyName"] for item in items}
    assert "Zürich Analytics AG" in companies
    assert "東京データ株式会社" in companies
    assert any("🚀" in item["title"] for item in items)
    assert any(re.search(r"[\u3040-\u30ff]", item["description"]) for item in items)


def test_item_count_is_smallest_limit(server: LocalApifyServer) -> None:
    server.items_per_run = 6
    client = make_client(server)
    actor = client.actor(LINKEDIN_ACTOR)

    capped_by_server = run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN)
    capped_by_input = run_to_end(client, LINKEDIN_ACTOR, {**PYTHON_BERLIN, "rows": 3})
    capped_by_query = actor.start(run_input=PYTHON_BERLIN, max_items=2, wait_for_finish=5)
    no_limit_input = run_to_end(client, LINKEDIN_ACTOR, {"title": "python developer"})

    assert len(dataset_items(client, capped_by_server)) == 6
    assert len(dataset_items(client, capped_by_input)) == 3
    assert len(dataset_items(client, capped_by_query)) == 2
    assert len(dataset_items(client, no_limit_input)) == 6


def test_search_filters_shape_items(server: LocalApifyServer) -> None:
    client = make_client(server)
    # The server dates postings by the UTC day on which the run starts.
    reference_date = datetime.now(UTC).date()
    linkedin_input = {**PYTHON_BERLIN, "workType": "2", "publishedAt": "r604800"}
    remote_recent = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, linkedin_input))
    indeed_input = {"position": "qa engineer", "maxItems": 10, "fromDays": 3, "remote": True}
    indeed_recent = dataset_items(client, run_to_end(client, INDEED_ACTOR, indeed_input))

    for item in remote_recent:
        assert item["workType"] == "Remote"
        assert (reference_date - date.fromisoformat(item["publishedAt"])).days <= 6
    for item in indeed_recent:
        assert item["location"].startswith("Remote in ")
        assert item["postedAt"] in {"Just posted", "1 day ago", "2 days ago"}


def test_invalid_run_input_is_rejected(server: LocalApifyServer) -> None:
    client = make_client(server)
    with pytest.raises(InvalidRequestError, match='"rows"') as rejected:
        client.actor(LINKEDIN_ACTOR).start(run_input={"title": "python", "rows": "ten"})
    assert rejected.value.type == "invalid-input"

    status, _, body = http_request(
        server,
        "POST",
        "/v2/actors/bebity~linkedin-jobs-scraper/runs",
        body=b'{"title": ',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert body["error"]["type"] == "run-input-body-not-valid-json"

    status, _, body = http_request(
        server,
        "POST",
        "/v2/actors/bebity~linkedin-jobs-scraper/runs",
        body=b'["python"]',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert body["error"]["type"] == "input-json-not-object"
    assert server.runs == []


def test_compressed_large_input_is_decoded(server: LocalApifyServer) -> None:
    # apify-client gzips request bodies of 1024 bytes and more.
    run_input = {**PYTHON_BERLIN, "notes": "Ü" * 2000}
    run_to_end(make_client(server), LINKEDIN_ACTOR, run_input)
    assert server.runs[0].run_input == run_input


def test_pagination_crosses_1000_item_pages() -> None:
    with LocalApifyServer(items_per_run=2500) as big_server:
        client = make_client(big_server, token=None)
        run = run_to_end(client, LINKEDIN_ACTOR, {"title": "python developer", "rows": 2500})
        dataset = client.dataset(run.default_dataset_id)

        items = collect_within(dataset.iterate_items(), seconds=10)
        page = dataset.list_items(offset=999, limit=2)
        counts = big_server.request_counts

    assert len(items) == 2500
    assert len({item["id"] for item in items}) == 2500
    assert [item["id"] for item in page.items] == [items[999]["id"], items[1000]["id"]]
    assert page.total == 2500
    assert page.offset == 999
    assert page.count == 2
    assert page.limit == 2
    assert page.desc is False
    # iterate_items reads pages of 1000, 1000 and 500 items and then one empty page that ends
    # the iteration. The list_items call makes the fifth request.
    assert counts["GET /v2/datasets/{datasetId}/items"] == 5


def test_items_endpoint_options(server: LocalApifyServer) -> None:
    client = make_client(server)
    run = run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN)
    dataset = client.dataset(run.default_dataset_id)
    items = dataset.list_items().items

    newest_first = dataset.list_items(desc=True, limit=2)
    assert newest_first.items == [items[9], items[8]]
    assert newest_first.desc is True
    assert dataset.list_items(fields=["id", "title"]).items[0] == {
        "id": items[0]["id"],
        "title": items[0]["title"],
    }
    assert "description" not in dataset.list_items(omit=["description"]).items[0]

    status, headers, _ = http_request(server, "GET", f"/v2/datasets/{run.default_dataset_id}/items")
    assert status == 200
    assert headers["X-Apify-Pagination-Limit"] == "999999999999"


def test_abort_ends_hanging_run(server: LocalApifyServer) -> None:
    server.add_fault("hang")
    client = make_client(server)
    started = client.actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)

    waited = client.run(started.id).wait_for_finish(wait_duration=timedelta(seconds=0.5))
    assert waited is not None
    assert waited.status == "RUNNING"
    still_running = client.run(started.id).get()
    assert still_running is not None
    assert still_running.stats.compute_units > waited.stats.compute_units

    aborted = client.run(started.id).abort()
    assert aborted.status == "ABORTED"
    assert aborted.finished_at is not None
    time.sleep(0.1)
    after = client.run(started.id).get()
    assert after is not None
    assert after.status == "ABORTED"
    assert after.stats.compute_units == aborted.stats.compute_units
    assert server.runs[0].status == "ABORTED"
    assert server.runs[0].item_count == 0


def test_http_429_recovers_after_retries(server: LocalApifyServer) -> None:
    server.add_fault("http_429", times=2)
    run = make_client(server, max_retries=2).actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)

    assert run.status == "SUCCEEDED"
    assert server.request_counts["POST /v2/actors/{actorId}/runs"] == 3
    assert len(server.runs) == 1
    assert server.faults[0].times == 0


def test_endless_http_429_exhausts_retries(server: LocalApifyServer) -> None:
    server.add_fault("http_429")
    with pytest.raises(RateLimitError):
        make_client(server, max_retries=1).actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)
    assert server.request_counts["POST /v2/actors/{actorId}/runs"] == 2
    assert server.runs == []


def test_http_500_is_retried(server: LocalApifyServer) -> None:
    server.add_fault("http_500", times=1)
    run = make_client(server).actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)
    assert run.status == "SUCCEEDED"
    assert server.request_counts["POST /v2/actors/{actorId}/runs"] == 2


def test_http_500_echo_token_returns_header(server: LocalApifyServer) -> None:
    server.add_fault("http_500_echo_token")
    with pytest.raises(ServerError) as failure:
        make_client(server, max_retries=0).actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)
    assert f"Bearer {TOKEN}" in str(failure.value)
    assert server.runs == []


@pytest.mark.parametrize(
    ("mode", "status", "item_count"),
    [
        ("failed", "FAILED", 0),
        ("aborted", "ABORTED", 5),
        ("timed_out", "TIMED-OUT", 5),
        ("empty", "SUCCEEDED", 0),
    ],
)
def test_outcome_fault_sets_status_and_items(
    server: LocalApifyServer, mode: str, status: str, item_count: int
) -> None:
    server.add_fault(mode)
    client = make_client(server)
    run = run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN)
    assert run.status == status
    assert len(dataset_items(client, run)) == item_count
    assert run.usage_total_usd == pytest.approx(item_count * 0.001)
    assert server.runs[0].fault_modes == (mode,)


def test_fault_match_and_times_select_runs(server: LocalApifyServer) -> None:
    server.add_fault("failed", match="data engineer", times=1)
    client = make_client(server)
    data_input = {"title": "data engineer", "rows": 3}

    other = run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN)
    first_match = run_to_end(client, LINKEDIN_ACTOR, data_input)
    second_match = run_to_end(client, LINKEDIN_ACTOR, data_input)

    assert other.status == "SUCCEEDED"
    assert first_match.status == "FAILED"
    assert second_match.status == "SUCCEEDED"


def test_malformed_items_fault(server: LocalApifyServer) -> None:
    server.add_fault("malformed_items")
    client = make_client(server)
    run = run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN)
    items = dataset_items(client, run)

    assert len(items) == 10
    assert "title" not in items[1]
    assert "id" not in items[3]
    assert "jobUrl" not in items[3]
    assert not isinstance(items[5]["title"], str)
    assert items[5]["location"] is None
    assert items[7] == {}
    assert client.dataset(run.default_dataset_id).get().clean_item_count == 9
    assert len(client.dataset(run.default_dataset_id).list_items(clean=True).items) == 9


def test_oversized_items_fault(server: LocalApifyServer) -> None:
    server.add_fault("oversized_items")
    client = make_client(server)
    items = dataset_items(client, run_to_end(client, INDEED_ACTOR, {"position": "sre"}))

    assert len(items[0]["description"]) >= 5 * 1024 * 1024
    assert len(items[1]["url"]) == 10_240
    assert items[1]["url"].startswith(f"https://www.indeed.com/viewjob?jk={items[1]['id']}")


def test_duplicate_items_fault(server: LocalApifyServer) -> None:
    server.add_fault("duplicate_items")
    client = make_client(server)
    items = dataset_items(client, run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN))
    original, copies = items[0], items[-3:]

    assert len(items) == 10
    assert [item["id"] for item in copies] == [original["id"]] * 3
    assert len({item["jobUrl"] for item in [original, *copies]}) == 4
    assert len({item["publishedAt"] for item in [original, *copies]}) == 4
    for item in copies:
        assert item["jobUrl"].startswith(original["jobUrl"] + "?trackingId=")
        assert "&refId=" in item["jobUrl"]
        assert "&utm_source=" in item["jobUrl"]


def test_slow_pages_delays_matching_dataset(server: LocalApifyServer) -> None:
    server.add_fault("slow_pages", match="slow", delay_seconds=0.4)
    client = make_client(server)
    slow = run_to_end(client, LINKEDIN_ACTOR, {"title": "slow search", "rows": 2})
    fast = run_to_end(client, LINKEDIN_ACTOR, {"title": "fast search", "rows": 2})

    began = time.monotonic()
    client.dataset(slow.default_dataset_id).list_items()
    slow_seconds = time.monotonic() - began
    began = time.monotonic()
    client.dataset(fast.default_dataset_id).list_items()
    fast_seconds = time.monotonic() - began

    assert slow_seconds >= 0.4
    assert fast_seconds < 0.3


def test_run_timeout_ends_slow_run(server: LocalApifyServer) -> None:
    server.latency_seconds = 1.5
    client = make_client(server)
    started = client.actor(LINKEDIN_ACTOR).start(
        run_input=PYTHON_BERLIN, run_timeout=timedelta(seconds=1)
    )
    finished = client.run(started.id).wait_for_finish(wait_duration=timedelta(seconds=5))
    assert finished is not None
    assert finished.status == "TIMED-OUT"
    assert finished.stats.run_time_secs == pytest.approx(1.0)
    # 10 items take 1.5 s, so 1 s pushes floor(10 / 1.5) of them.
    assert len(dataset_items(client, finished)) == 6


def test_wrong_or_missing_token_gets_401(server: LocalApifyServer) -> None:
    with pytest.raises(UnauthorizedError) as wrong:
        make_client(server, token="wrong").actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)
    assert wrong.value.status_code == 401
    assert wrong.value.type == "invalid-token"

    with pytest.raises(UnauthorizedError) as missing:
        make_client(server, token=None).actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)
    assert missing.value.type == "token-not-provided"
    assert server.runs == []

    status, _, _ = http_request(server, "GET", "/_admin/runs", headers={"Authorization": ""})
    assert status == 200


def test_admin_faults_endpoints(server: LocalApifyServer) -> None:
    rules = [{"mode": "failed", "match": "qa"}, {"mode": "http_429", "times": 1}]
    status, _, added = http_request(
        server, "POST", "/_admin/faults", body=json.dumps(rules).encode()
    )
    assert status == 201
    assert [rule["mode"] for rule in added["data"]] == ["failed", "http_429"]
    assert server.faults == [
        FaultRule(mode="failed", match="qa"),
        FaultRule(mode="http_429", times=1),
    ]

    run = run_to_end(make_client(server), LINKEDIN_ACTOR, {"title": "qa tester", "rows": 2})
    assert run.status == "FAILED"

    status, _, listed = http_request(server, "GET", "/_admin/faults")
    assert listed["data"][1]["times"] == 0

    status, _, cleared = http_request(server, "DELETE", "/_admin/faults")
    assert status == 200
    assert cleared["data"] == {"removedCount": 2}
    assert server.faults == []

    status, _, rejected = http_request(
        server, "POST", "/_admin/faults", body=b'{"mode": "explode"}'
    )
    assert status == 400
    assert "explode" in rejected["error"]["message"]
    assert server.faults == []


def test_admin_runs_and_request_counts(server: LocalApifyServer) -> None:
    run = run_to_end(make_client(server), LINKEDIN_ACTOR, PYTHON_BERLIN)

    _, _, runs = http_request(server, "GET", "/_admin/runs")
    assert len(runs["data"]) == 1
    recorded = runs["data"][0]
    assert recorded["run_id"] == run.id
    assert recorded["actor_id"] == "bebity~linkedin-jobs-scraper"
    assert recorded["run_input"] == PYTHON_BERLIN
    assert recorded["status"] == "SUCCEEDED"
    assert recorded["dataset_id"] == run.default_dataset_id
    assert recorded["item_count"] == 10

    _, _, counts = http_request(server, "GET", "/_admin/requests")
    assert counts["data"]["POST /v2/actors/{actorId}/runs"] == 1
    assert counts["data"]["GET /_admin/runs"] == 1


def test_unknown_resources_get_404(server: LocalApifyServer) -> None:
    client = make_client(server)
    assert client.run("NoSuchRun00000000").get() is None
    assert client.dataset("NoSuchDataset0000").get() is None

    status, _, body = http_request(server, "GET", "/v2/actor-runs/NoSuchRun00000000")
    assert status == 404
    assert body["error"]["type"] == "record-not-found"
    status, _, body = http_request(server, "GET", "/v2/no-such-endpoint")
    assert status == 404
    assert body["error"]["type"] == "page-not-found"
    status, headers, _ = http_request(server, "PUT", "/v2/actor-runs/NoSuchRun00000000")
    assert status == 405
    assert headers["Allow"] == "GET"


def test_actor_last_run_and_log(server: LocalApifyServer) -> None:
    client = make_client(server)
    run = run_to_end(client, LINKEDIN_ACTOR, PYTHON_BERLIN)
    actor = client.actor(LINKEDIN_ACTOR)

    actor_info = actor.get()
    assert actor_info is not None
    assert actor_info.name == "linkedin-jobs-scraper"
    assert actor_info.username == "bebity"
    last = actor.last_run(status="SUCCEEDED").get()
    assert last is not None
    assert last.id == run.id
    assert len(actor.last_run().dataset().list_items().items) == 10
    log = client.run(run.id).log().get()
    assert log is not None
    assert "10 job postings saved" in log


def test_client_timeout_duplicates_run(server: LocalApifyServer) -> None:
    # apify-client 3.4.0 retries a POST whose response timed out, so a start request that
    # waits for the run longer than the client timeout starts the run twice.
    server.latency_seconds = 0.5
    client = make_client(server, timeout_medium=timedelta(seconds=0.2))
    client.actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN, wait_for_finish=2)
    assert len(server.runs) >= 2


def test_stop_answers_waiting_requests() -> None:
    local_server = LocalApifyServer().start()
    local_server.add_fault("hang")
    run = make_client(local_server, token=None).actor(LINKEDIN_ACTOR).start(run_input={})
    responses: list[tuple[int, dict[str, str], Any]] = []
    path = f"/v2/actor-runs/{run.id}?waitForFinish=30"
    waiter = threading.Thread(
        target=lambda: responses.append(http_request(local_server, "GET", path))
    )
    waiter.start()
    time.sleep(0.2)

    began = time.monotonic()
    local_server.stop()
    waiter.join(timeout=5)
    assert time.monotonic() - began < 2
    assert not waiter.is_alive()
    assert len(responses) == 1
    status, _, body = responses[0]
    assert status == 200
    assert body["data"]["status"] == "RUNNING"


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="loopback"):
        LocalApifyServer(host="0.0.0.0")
    with pytest.raises(ValueError, match="items_per_run"):
        LocalApifyServer(items_per_run=-1)
    with pytest.raises(ValueError, match="slow_pages"):
        LocalApifyServer().add_fault("slow_pages")
    with pytest.raises(ValueError, match="Unknown fault mode"):
        LocalApifyServer().add_fault("explode")


def test_command_line_serves_url() -> None:
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs_pipeline.apify.local_server", "--items-per-run", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
        cwd=REPOSITORY_ROOT,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        client = ApifyClient("any-token", api_url=url, max_retries=0)
        run = client.actor(LINKEDIN_ACTOR).start(run_input=PYTHON_BERLIN)
        assert len(client.dataset(run.default_dataset_id).list_items().items) == 3
    finally:
        process.terminate()
        return_code = process.wait(timeout=10)
    assert return_code == 0
