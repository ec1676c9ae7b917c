"""Canonical form of job-search criteria, validation, and criteria set keys.

Two criteria belong to one criteria set when the fields the actor adapter sends to Apify are
equal after canonicalisation: Unicode NFKC, case-folded, whitespace collapsed, keyword lists
sorted and de-duplicated, absent and empty treated alike.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from jobs_pipeline.apify.adapters import ADAPTERS, get_adapter
from jobs_pipeline.database.models import REMOTE_MODES

MAX_KEYWORDS_LENGTH = 200
MAX_LOCATION_LENGTH = 200
MAX_POSTED_WITHIN_DAYS = 365
_ALLOWED_CONTROL_CHARACTERS = frozenset("\t\n\r")
# Invisible characters that copy and paste brings along; they would split identical searches.
# The zero-width joiner stays, because emoji sequences need it.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u2060\ufeff\u00ad"))
_WHITESPACE = re.compile(r"\s+")


class InvalidCriteriaError(ValueError):
    """A criteria row that cannot be searched; the message names the field and the reason."""


@dataclass(frozen=True)
class CanonicalCriteria:
    """The canonical, searchable form of one criteria row."""

    source: str
    keywords: tuple[str, ...]
    location: str | None
    remote: str
    posted_within_days: int | None

    def key_fields(self) -> dict[str, object]:
        """Return exactly the fields the source's adapter puts into the actor input."""
        values = {
            "source": self.source,
            "keywords": list(self.keywords),
            "location": self.location,
            "remote": self.remote,
            "posted_within_days": self.posted_within_days,
        }
        return {name: values[name] for name in get_adapter(self.source).key_fields}

    @property
    def set_key(self) -> str:
        """Return the SHA-256 hex digest that identifies the criteria set."""
        return set_key_of(self.key_fields())


def set_key_of(key_fields: dict[str, object]) -> str:
    """Return the SHA-256 hex digest of a criteria set's key fields."""
    payload = json.dumps(key_fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def canonical_text(value: str | None, *, field: str, max_length: int) -> str:
    """Return NFKC, case-folded, whitespace-collapsed text ("" for None).

    Raises:
        InvalidCriteriaError: if the text contains control characters or is too long.
    """
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", value).translate(_INVISIBLE)
    for character in text:
        category = unicodedata.category(character)
        if category == "Cc" and character not in _ALLOWED_CONTROL_CHARACTERS:
            raise InvalidCriteriaError(
                f"{field} contains the control character U+{ord(character):04X}: "
                "remove it in the web app"
            )
        if category in ("Cn", "Cs"):
            raise InvalidCriteriaError(
                f"{field} contains U+{ord(character):04X}, which is not a character: "
                "remove it in the web app"
            )
    text = _WHITESPACE.sub(" ", text.casefold()).strip()
    if len(text) > max_length:
        raise InvalidCriteriaError(
            f"{field} is {len(text)} characters long, more than the maximum of {max_length}"
        )
    return text


def canonicalize(
    *,
    keywords: str | None,
    location: str | None,
    remote: str | None,
    source: str | None,
    posted_within_days: int | None,
) -> CanonicalCriteria:
    """Validate one criteria row and return its canonical form.

    Keywords separated by commas form a list, which is sorted and de-duplicated, so
    "Django, Python" and "python,django" are one search.

    Raises:
        InvalidCriteriaError: naming the field, the problem and the fix.
    """
    canonical_source = canonical_text(source, field="source", max_length=32)
    if canonical_source not in ADAPTERS:
        raise InvalidCriteriaError(
            f"unknown source {source!r}: use one of {', '.join(sorted(ADAPTERS))}"
        )
    keyword_text = canonical_text(keywords, field="keywords", max_length=MAX_KEYWORDS_LENGTH)
    keyword_list = tuple(sorted({term.strip() for term in keyword_text.split(",")} - {""}))
    if not keyword_list:
        raise InvalidCriteriaError("keywords are empty: enter at least one search term")
    canonical_location = canonical_text(location, field="location", max_length=MAX_LOCATION_LENGTH)
    canonical_remote = canonical_text(remote, field="remote", max_length=16) or "any"
    if canonical_remote not in REMOTE_MODES:
        raise InvalidCriteriaError(
            f"unknown remote mode {remote!r}: use one of {', '.join(REMOTE_MODES)}"
        )
    if posted_within_days is not None and not 1 <= posted_within_days <= MAX_POSTED_WITHIN_DAYS:
        raise InvalidCriteriaError(
            f"posted_within_days is {posted_within_days}: use 1 to {MAX_POSTED_WITHIN_DAYS} "
            "or leave it empty"
        )
    return CanonicalCriteria(
        source=canonical_source,
        keywords=keyword_list,
        location=canonical_location or None,
        remote=canonical_remote,
        posted_within_days=posted_within_days,
    )


SEARCH_COLUMNS = ("keywords", "location", "remote", "source", "posted_within_days")


def canonicalize_row(row: Any) -> CanonicalCriteria:
    """Canonicalise a `job_criteria` row, or any object with its search columns as attributes.

    Raises:
        InvalidCriteriaError: naming the field, the problem and the fix.
    """
    return canonicalize(**{column: getattr(row, column) for column in SEARCH_COLUMNS})
