from datetime import UTC, datetime, timedelta

import pytest

from jobs_pipeline.apify.normalizer import (
    RejectedItemError,
    canonical_url,
    html_to_text,
    normalize_item,
    parse_posted_at,
    parse_salary,
)

RECEIVED_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def normalize(item, **options):
    return normalize_item(item, source="linkedin", received_at=RECEIVED_AT, **options)


@pytest.mark.parametrize("field", ["link", "url", "jobUrl", "externalApplyLink"])
def test_url_field_variants(field):
    job = normalize({"title": "Engineer", field: "https://example.com/jobs/1"})
    assert job.url == "https://example.com/jobs/1"
    assert job.external_id.startswith("url:")


@pytest.mark.parametrize(
    ("company", "expected"),
    [
        ({"companyName": "Acme"}, "Acme"),
        ({"company": "Acme GmbH"}, "Acme GmbH"),
        ({"company": {"name": "Acme Inc."}}, "Acme Inc."),
        ({"company": "東京データ 🚀"}, "東京データ 🚀"),
    ],
)
def test_company_field_variants(company, expected):
    job = normalize({"id": "1", "title": "Engineer", **company})
    assert job.company == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T08:30:00Z", datetime(2026, 12, 1, 8, 30, tzinfo=UTC)),
        ("2026-12-01T10:30:00+02:00", datetime(2026, 12, 1, 8, 30, tzinfo=UTC)),
        (1764576000000, datetime(2025, 12, 1, 8, 0, tzinfo=UTC)),
        ("1764576000000", datetime(2025, 12, 1, 8, 0, tzinfo=UTC)),
        (1764576000, datetime(2025, 12, 1, 8, 0, tzinfo=UTC)),
        ("3 days ago", RECEIVED_AT - timedelta(days=3)),
        ("30+ days ago", RECEIVED_AT - timedelta(days=30)),
        ("Posted 2 weeks ago", RECEIVED_AT - timedelta(days=14)),
        ("5 hours ago", RECEIVED_AT - timedelta(hours=5)),
        ("Just posted", RECEIVED_AT),
        ("Today", RECEIVED_AT),
        ("yesterday", RECEIVED_AT - timedelta(days=1)),
        ("whenever", None),
        ("", None),
        (None, None),
    ],
)
def test_posted_date_variants(value, expected):
    assert parse_posted_at(value, RECEIVED_AT) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$100,000 - $120,000 a year", (100000, 120000, "USD")),
        ("€60K–€70K", (60000, 70000, "EUR")),
        ({"min": 50000, "max": 65000, "currency": "gbp"}, (50000, 65000, "GBP")),
        ({"min": 50000}, (50000, 50000, None)),
        ("Competitive", (None, None, None)),
        (None, (None, None, None)),
    ],
)
def test_salary_text_and_structured(value, expected):
    assert parse_salary(value) == expected


def test_html_description_to_text():
    job = normalize(
        {
            "id": "1",
            "title": "Engineer",
            "descriptionHtml": "<p>Fish &amp; chips</p><ul><li>Tea</li></ul>",
        }
    )
    assert job.description == "Fish & chips\nTea"
    assert job.raw["descriptionHtml"].startswith("<p>")


def test_script_content_dropped():
    assert html_to_text("<div>Hello<script>alert(1)</script></div>") == "Hello"


def test_nul_bytes_removed():
    job = normalize({"id": "1\x00", "title": "Data\x00 engineer", "description": "a\x00b"})
    assert job.external_id == "1"
    assert job.title == "Data engineer"
    assert job.description == "ab"


def test_long_description_truncated_with_flag():
    job = normalize(
        {"id": "1", "title": "Engineer", "description": "x" * 50}, max_description_chars=10
    )
    assert job.description == "x" * 10
    assert job.description_truncated is True


def test_canonical_url_drops_tracking():
    url = "HTTPS://WWW.Example.com/jobs/42/?trackingId=abc&refId=x&utm_source=mail&page=2"
    assert canonical_url(url) == "https://www.example.com/jobs/42?page=2"


def test_tracking_variants_share_external_id():
    first = normalize({"title": "Engineer", "url": "https://example.com/jobs/42?trackingId=a"})
    second = normalize({"title": "Engineer", "url": "https://EXAMPLE.com/jobs/42/?utm_source=b"})
    assert first.external_id == second.external_id


def test_long_id_hashed_to_fit_key():
    job = normalize({"id": "i" * 500, "title": "Engineer"})
    assert job.external_id.startswith("id:")
    assert len(job.external_id) <= 255


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"id": "1"}, "missing_title"),
        ({"id": "1", "title": "   "}, "missing_title"),
        ({"title": "Engineer", "url": "not a url"}, "missing_id_and_url"),
        ({"title": "Engineer", "id": True}, "missing_id_and_url"),
        (["not", "an", "object"], "not_an_object"),
        ({"id": "1", "title": "Engineer", "description": "x" * 2000}, "too_large"),
    ],
)
def test_unreadable_items_rejected(item, reason):
    with pytest.raises(RejectedItemError) as caught:
        normalize(item, max_item_bytes=1000)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "value",
    [10**400, 1e300, float("nan"), "²", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00+01:00"],
)
def test_extreme_dates_read_as_unknown(value):
    assert parse_posted_at(value, RECEIVED_AT) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("€80.000 - €95.000", (80000, 95000, "EUR")),
        ("60.000,00 €", (60000, 60000, "EUR")),
        ("$50 - $60 per hour", (104000, 124800, "USD")),
        ("£3,000 a month", (36000, 36000, "GBP")),
        ("1.5k", (1500, 1500, None)),
        ("$100000000000000000000", (None, None, "USD")),
        ({"min": 10**30}, (None, None, None)),
    ],
)
def test_salary_separators_periods_and_bounds(value, expected):
    assert parse_salary(value) == expected


def test_deep_nesting_rejected():
    deep: list = []
    for _ in range(900):
        deep = [deep]
    with pytest.raises(RejectedItemError) as caught:
        normalize({"id": "1", "title": "Engineer", "junk": deep})
    assert caught.value.reason == "too_deep"


def test_non_finite_numbers_cleared():
    job = normalize(
        {"id": "1", "title": "Engineer", "extra": float("nan"), "salary": {"min": float("inf")}}
    )
    assert job.raw["extra"] is None
    assert job.salary_min is None


@pytest.mark.parametrize("value", ["9" * 5000, "99999999999 days ago"])
def test_unreadable_date_keeps_posting(value):
    job = normalize({"id": "1", "title": "Engineer", "postedAt": value})
    assert job.posted_at is None
