from datetime import timedelta

import pytest

from jobs_pipeline.apify.adapters import INDEED, LINKEDIN, get_adapter

CANONICAL = {
    "source": "linkedin",
    "keywords": ["django", "python"],
    "location": "berlin",
    "remote": "remote",
    "posted_within_days": None,
}


@pytest.mark.parametrize(
    ("posted_within_days", "since_last_success", "expected"),
    [
        (None, None, ""),
        (None, timedelta(hours=4), "r86400"),
        (None, timedelta(days=3), "r604800"),
        (None, timedelta(days=20), "r2592000"),
        (None, timedelta(days=90), ""),
        (7, None, "r604800"),
        (7, timedelta(hours=4), "r86400"),
        (1, timedelta(days=20), "r86400"),
    ],
)
def test_linkedin_posted_window_narrowed(posted_within_days, since_last_success, expected):
    canonical = {**CANONICAL, "posted_within_days": posted_within_days}
    run_input = LINKEDIN.build_input(canonical, max_items=50, since_last_success=since_last_success)
    assert run_input["publishedAt"] == expected


def test_linkedin_input_fields():
    run_input = LINKEDIN.build_input(CANONICAL, max_items=50, since_last_success=None)
    assert run_input == {
        "title": "django python",
        "location": "berlin",
        "rows": 50,
        "publishedAt": "",
        "workType": "2",
    }


def test_indeed_adds_remote_to_position():
    canonical = {**CANONICAL, "source": "indeed"}
    run_input = INDEED.build_input(canonical, max_items=30, since_last_success=timedelta(hours=2))
    assert run_input["position"] == "django python remote"
    assert run_input["maxItems"] == 30
    assert run_input["fromDays"] == "1"


def test_any_remote_mode_sends_no_filter():
    canonical = {**CANONICAL, "remote": "any"}
    assert "workType" not in LINKEDIN.build_input(canonical, max_items=5, since_last_success=None)
    indeed = INDEED.build_input(
        {**canonical, "source": "indeed"}, max_items=5, since_last_success=None
    )
    assert indeed["position"] == "django python"


def test_per_result_estimate():
    assert LINKEDIN.estimate_usd(max_items=100, memory_mbytes=1024, timeout=timedelta(hours=1)) == (
        pytest.approx(100 * LINKEDIN.price_per_result_usd)
    )


def test_compute_unit_estimate():
    estimate = INDEED.estimate_usd(max_items=100, memory_mbytes=2048, timeout=timedelta(minutes=30))
    assert estimate == pytest.approx(1.0 * INDEED.compute_unit_usd)


def test_unknown_source_named():
    with pytest.raises(KeyError, match="'xing'"):
        get_adapter("xing")
