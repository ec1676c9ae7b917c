"""Actor item to canonical job.

Actors name the same thing differently and change names over time, so each field accepts the
known variants. An item that cannot be read raises `RejectedItemError` with a short reason.
The scrape step counts and skips such items, so one bad item does not fail a batch.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_EXTERNAL_ID_LENGTH = 200
MAX_ITEM_DEPTH = 50
DEFAULT_MAX_DESCRIPTION_CHARS = 20_000
DEFAULT_MAX_ITEM_BYTES = 1_000_000

URL_FIELDS = ("link", "url", "jobUrl", "externalApplyLink", "applyUrl")
ID_FIELDS = ("id", "jobId", "job_id", "positionId")
TITLE_FIELDS = ("title", "positionName", "jobTitle")
COMPANY_FIELDS = ("companyName", "company", "company_name", "employer")
LOCATION_FIELDS = ("location", "jobLocation", "place")
POSTED_FIELDS = ("publishedAt", "postedAt", "datePosted", "postedTime", "postingDate")
DESCRIPTION_FIELDS = ("description", "descriptionText", "descriptionHtml", "descriptionHTML")
SALARY_FIELDS = ("salary", "salaryInfo", "baseSalary")

TRACKING_PARAMETERS = frozenset({"trackingid", "refid", "trk", "from", "fbclid", "gclid"})
_RELATIVE_AGE = re.compile(r"(\d+)\+?\s*(minute|min|hour|hr|day|week|month)s?\b", re.IGNORECASE)
_SALARY_NUMBER = re.compile(r"(\d[\d.,]*)\s*([kK])?")
_ASCII_DIGITS = re.compile(r"[0-9]+")
# Dots or commas followed by exactly three digits separate thousands ("80.000", "95,000").
_THOUSANDS_SEPARATOR = re.compile(r"[.,](?=\d{3}(?:\D|$))")
# Pay periods converted to a yearly figure: 40 hours a week, 52 weeks, 12 months.
_PERIODS_PER_YEAR = (("hour", 2080), ("/hr", 2080), ("day", 260), ("week", 52), ("month", 12))
# Salaries are stored as 32-bit integers; anything larger is not a real salary.
MAX_SALARY = 2**31 - 1
_CURRENCIES = {"$": "USD", "€": "EUR", "£": "GBP", "usd": "USD", "eur": "EUR", "gbp": "GBP"}


class RejectedItemError(ValueError):
    """An actor item that cannot become a job; `reason` is a short, countable label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class CanonicalJob:
    """One posting in the shape of the `jobs` table."""

    source: str
    external_id: str
    title: str
    company: str | None
    location: str | None
    url: str | None
    posted_at: datetime | None
    description: str | None
    salary_min: int | None
    salary_max: int | None
    salary_currency: str | None
    raw: dict[str, Any] = field(repr=False)
    description_truncated: bool = False


def normalize_item(
    item: Any,
    *,
    source: str,
    received_at: datetime,
    max_description_chars: int = DEFAULT_MAX_DESCRIPTION_CHARS,
    max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES,
) -> CanonicalJob:
    """Turn one actor item into a canonical job.

    Raises:
        RejectedItemError: if the item is not an object, is too large, or has no title or no
            usable id or URL.
    """
    if not isinstance(item, dict):
        raise RejectedItemError("not_an_object", type(item).__name__)
    item = _clean_value(item)
    size = len(json.dumps(item, ensure_ascii=False, default=str).encode("utf-8"))
    if size > max_item_bytes:
        raise RejectedItemError("too_large", f"{size} bytes, limit {max_item_bytes}")

    title = _clean_text(_first(item, TITLE_FIELDS))
    if not title:
        raise RejectedItemError("missing_title")
    url = _first_url(item)
    external_id = _external_id(item, url)
    if external_id is None:
        raise RejectedItemError("missing_id_and_url")

    description = _description(item)
    truncated = description is not None and len(description) > max_description_chars
    if truncated:
        description = description[:max_description_chars]
    salary_min, salary_max, currency = parse_salary(_first(item, SALARY_FIELDS))
    return CanonicalJob(
        source=source,
        external_id=external_id,
        title=title,
        company=_clean_text(_name_of(_first(item, COMPANY_FIELDS))),
        location=_clean_text(_name_of(_first(item, LOCATION_FIELDS))),
        url=url,
        posted_at=_posted_at(item, received_at),
        description=description,
        salary_min=salary_min,
        salary_max=salary_max,
        salary_currency=currency,
        raw=item,
        description_truncated=truncated,
    )


def canonical_url(url: str) -> str:
    """Return the URL with scheme and host lower-cased, tracking parameters and slash dropped."""
    parts = urlsplit(url.strip())
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in TRACKING_PARAMETERS and not name.lower().startswith("utm_")
    ]
    path = parts.path.rstrip("/")
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), path, urlencode(sorted(query)), "")
    )


def parse_posted_at(value: Any, received_at: datetime) -> datetime | None:
    """Parse an ISO date or datetime, epoch seconds or milliseconds, or relative text.

    Returns None for a value it cannot read or that lies outside the calendar, so one bad
    date never costs the rest of the posting.
    """
    try:
        return _parse_posted_at(value, received_at)
    except (ValueError, OverflowError):
        return None


def _parse_posted_at(value: Any, received_at: datetime) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int | float):
        # Epoch milliseconds pass 1e11 in 1973, epoch seconds only in the year 5138.
        try:
            seconds = value / 1000 if value > 1e11 else float(value)
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        return _parse_relative_age(text, received_at)
    except OverflowError:
        # A date at the edge of the calendar, such as 9999-12-31 in a negative offset.
        return None


def parse_salary(value: Any) -> tuple[int | None, int | None, str | None]:
    """Return (minimum, maximum, currency) from salary text or a structured salary."""
    if isinstance(value, list):
        value = " - ".join(str(part) for part in value if part)
    if isinstance(value, dict):
        low = _salary(value.get("min") or value.get("minValue") or value.get("from"))
        high = _salary(value.get("max") or value.get("maxValue") or value.get("to"))
        currency = value.get("currency") or value.get("currencyCode")
        return low, high or low, str(currency).upper()[:8] if currency else None
    if not isinstance(value, str) or not value.strip():
        return None, None, None
    lowered = value.lower()
    per_year = next((count for period, count in _PERIODS_PER_YEAR if period in lowered), 1)
    numbers = []
    for digits, thousands in _SALARY_NUMBER.findall(value):
        decimal = _THOUSANDS_SEPARATOR.sub("", digits).replace(",", ".").rstrip(".")
        try:
            amount = float(decimal) * (1000 if thousands else 1) * per_year
        except ValueError:
            continue
        number = _salary(amount)
        if number is not None:
            numbers.append(number)
    currency = next((code for sign, code in _CURRENCIES.items() if sign in lowered), None)
    if not numbers:
        return None, None, currency
    return min(numbers), max(numbers), currency


def html_to_text(markup: str) -> str:
    """Return the visible text of HTML, entities decoded, block elements on new lines."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset({"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _clean_value(value: Any, depth: int = 0) -> Any:
    """Return a copy that PostgreSQL's json and text types accept.

    NUL characters are dropped and NaN or infinite numbers become None, because PostgreSQL
    rejects both. Nesting deeper than MAX_ITEM_DEPTH is rejected before Python's recursion
    limit is near.
    """
    if depth > MAX_ITEM_DEPTH:
        raise RejectedItemError("too_deep", f"nested more than {MAX_ITEM_DEPTH} levels")
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {
            _clean_value(str(key), depth + 1): _clean_value(inner, depth + 1)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_clean_value(inner, depth + 1) for inner in value]
    return value


def _first(item: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = item.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def _name_of(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("name") or value.get("displayName") or value.get("city")
    return value


def _clean_text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = " ".join(html.unescape(str(value)).split())
    return text or None


def _first_url(item: dict[str, Any]) -> str | None:
    for name in URL_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
            return value.strip()
    return None


def _external_id(item: dict[str, Any], url: str | None) -> str | None:
    raw_id = _first(item, ID_FIELDS)
    if isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        text = str(raw_id).strip()
        if text and len(text) <= MAX_EXTERNAL_ID_LENGTH:
            return text
        if text:
            return "id:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    if url:
        digest = hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()
        return "url:" + digest
    return None


def _description(item: dict[str, Any]) -> str | None:
    for name in DESCRIPTION_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and value.strip():
            looks_like_html = "<" in value and ">" in value
            return html_to_text(value) if looks_like_html else value.strip()
    return None


def _posted_at(item: dict[str, Any], received_at: datetime) -> datetime | None:
    for name in POSTED_FIELDS:
        parsed = parse_posted_at(item.get(name), received_at)
        if parsed is not None:
            return parsed
    return None


def _parse_relative_age(text: str, received_at: datetime) -> datetime | None:
    lowered = text.lower()
    if lowered in ("today", "just posted", "just now", "new"):
        return received_at
    if lowered == "yesterday":
        return received_at - timedelta(days=1)
    match = _RELATIVE_AGE.search(lowered)
    if match is None:
        return None
    amount, unit = int(match.group(1)), match.group(2).lower()
    days_per_unit = {"week": 7, "month": 30}
    if unit in ("minute", "min"):
        return received_at - timedelta(minutes=amount)
    if unit in ("hour", "hr"):
        return received_at - timedelta(hours=amount)
    return received_at - timedelta(days=amount * days_per_unit.get(unit, 1))


def _salary(value: Any) -> int | None:
    """Return a salary as a positive integer that fits the column, or None."""
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_SALARY else None
