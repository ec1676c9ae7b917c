"""Deterministic sample job postings in the output shapes of two Apify job-scraper actors.

The local Apify server (`jobs_pipeline.apify.local_server`) fills each run's dataset with the
postings generated here. Two actor families are modelled:

* LinkedIn, for example `bebity~linkedin-jobs-scraper`. Input keys: `title` (keywords),
  `location`, `workType` ("1" on-site, "2" remote, "3" hybrid), `publishedAt` ("r86400",
  "r604800", "r2592000" or "") and `rows` (maximum number of items).
* Indeed, for example `misceres~indeed-scraper`, picked when the actor id contains "indeed".
  Input keys: `position`, `location`, `country`, `maxItems` and the optional `fromDays` and
  `remote`.

The same input, seed and reference date always produce the same postings, and a smaller item
count returns a prefix of a larger one. Searches in the same location whose keywords share a
word (for example "python developer" and "senior python engineer") also share up to two
postings per shared word, with identical ids and content, so that downstream code meets the
same job from two searches.

Every posting title contains the searched keywords, compared case-insensitively. The shared
postings are the exception: their titles contain only the shared word. Every location
contains the searched location, compared case-insensitively. Company names, titles and
descriptions include non-Latin scripts and the odd emoji on purpose.

NOTE: The input and output field names are not verified against live runs of the two actors.
"""

from __future__ import annotations

import copy
import hashlib
import html
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

ActorFamily = Literal["linkedin", "indeed"]

LINKEDIN_WORK_TYPES: dict[str, str] = {"1": "On-site", "2": "Remote", "3": "Hybrid"}
"""Work type text in LinkedIn items for each `workType` input code."""

LINKEDIN_PUBLISHED_AT_MAX_AGE_DAYS: dict[str, int] = {
    "r86400": 0,
    "r604800": 6,
    "r2592000": 29,
    "": 45,
}
"""Maximum posting age in whole days for each LinkedIn `publishedAt` input value."""

DEFAULT_MAX_AGE_DAYS = 45
MIN_POOL_SIZE = 300
"""Maximum posting age in days when the input sets no date filter."""

SHARED_POSTINGS_PER_WORD = 2
"""Number of shared postings that every search in one location gets per word of its keywords."""

MAX_SHARED_WORDS = 3
"""Number of leading keyword words that select shared postings."""

# Keyword words that select no shared postings, because so many searches contain them that
# nearly every search would overlap.
_IGNORED_KEYWORD_WORDS = frozenset(
    {
        "and", "or", "the", "for", "with", "in", "of", "to", "m", "w", "d",
        "und", "der", "die", "das", "de", "la", "le", "et", "en",
        "senior", "junior", "lead", "staff", "principal", "sr", "jr",
    }
)  # fmt: skip

_ROLE_NOUNS = frozenset(
    {
        "developer", "engineer", "manager", "analyst", "designer", "scientist",
        "consultant", "architect", "administrator", "specialist", "recruiter", "tester",
    }
)  # fmt: skip


class InvalidRunInputError(ValueError):
    """Raised when a run input field has a type or value that the modelled actor rejects."""


@dataclass(frozen=True)
class Place:
    """A location with the country facts that shape salaries, URLs and description language.

    Attributes:
        display: Location text as the items show it, for example "Berlin, Berlin, Germany".
        country_code: ISO 3166-1 alpha-2 country code, or "" when unknown.
        currency: Salary currency prefix, for example "€" or "CHF ".
        language: ISO 639-1 code of the language used for the local paragraph of descriptions.
    """

    display: str
    country_code: str
    currency: str
    language: str


# Keyed by the lower-case location that a search may contain. Each display text starts with
# the key's own spelling, so the searched location is always part of the item's location.
_KNOWN_PLACES: dict[str, Place] = {
    "berlin": Place("Berlin, Berlin, Germany", "DE", "€", "de"),
    "munich": Place("Munich, Bavaria, Germany", "DE", "€", "de"),
    "münchen": Place("München, Bayern, Deutschland", "DE", "€", "de"),
    "hamburg": Place("Hamburg, Hamburg, Germany", "DE", "€", "de"),
    "zürich": Place("Zürich, Zurich, Switzerland", "CH", "CHF ", "de"),
    "zurich": Place("Zurich, Zurich, Switzerland", "CH", "CHF ", "de"),
    "london": Place("London, England, United Kingdom", "GB", "£", "en"),
    "paris": Place("Paris, Île-de-France, France", "FR", "€", "fr"),
    "new york": Place("New York, NY, United States", "US", "$", "en"),
    "san francisco": Place("San Francisco, CA, United States", "US", "$", "en"),
    "tokyo": Place("Tokyo, Tokyo, Japan", "JP", "¥", "ja"),
    "東京": Place("東京都, 日本", "JP", "¥", "ja"),
    "são paulo": Place("São Paulo, São Paulo, Brazil", "BR", "R$", "pt"),
    "sao paulo": Place("Sao Paulo, São Paulo, Brazil", "BR", "R$", "pt"),
    "warsaw": Place("Warsaw, Mazowieckie, Poland", "PL", "PLN ", "pl"),
    "amsterdam": Place("Amsterdam, North Holland, Netherlands", "NL", "€", "en"),
    "dubai": Place("Dubai, Dubai, United Arab Emirates", "AE", "AED ", "ar"),
}

# Used, one per posting, when the input has no location.
_DEFAULT_PLACE_KEYS = ("berlin", "zürich", "東京", "london", "são paulo", "paris", "new york")

_CURRENCY_BY_COUNTRY: dict[str, str] = {
    "US": "$", "GB": "£", "UK": "£", "DE": "€", "FR": "€", "NL": "€", "CH": "CHF ",
    "JP": "¥", "BR": "R$", "PL": "PLN ", "AE": "AED ",
}  # fmt: skip

# Yearly salary ranges (low, high) per currency prefix.
_SALARY_RANGES: dict[str, tuple[int, int]] = {
    "$": (85_000, 170_000),
    "€": (48_000, 95_000),
    "CHF ": (95_000, 150_000),
    "£": (45_000, 95_000),
    "¥": (5_500_000, 11_000_000),
    "R$": (96_000, 240_000),
    "PLN ": (120_000, 300_000),
    "AED ": (180_000, 420_000),
}


@dataclass(frozen=True)
class _Company:
    name: str
    sector: str
    rating: float | None
    careers_host: str


_IT_SERVICES = "IT Services and IT Consulting"
_SOFTWARE = "Software Development"
_FINANCE = "Financial Services"
_INTERNET = "Technology, Information and Internet"

_COMPANIES = (
    _Company("Zürich Analytics AG", _FINANCE, 4.1, "careers.zurich-analytics.example"),
    _Company("東京データ株式会社", _IT_SERVICES, 3.8, "recruit.tokyo-data.example"),
    _Company("Müller & Söhne Software GmbH", _SOFTWARE, 3.6, "jobs.mueller-soehne.example"),
    _Company("Atelier Numérique SAS", _INTERNET, 4.4, "atelier-numerique.example"),
    _Company("Łódź Cloud Sp. z o.o.", _IT_SERVICES, None, "lodz-cloud.example"),
    _Company("São Paulo Fintech Ltda.", _FINANCE, 3.9, "vagas.sp-fintech.example"),
    _Company("Bjørnstad Data AS", _SOFTWARE, 4.7, "bjornstad-data.example"),
    _Company("Северный Код", _SOFTWARE, None, "severny-kod.example"),
    _Company("شركة بيانات الخليج", _IT_SERVICES, 3.4, "gulf-data.example"),
    _Company("Acme Robotics Inc.", "Automation Machinery Manufacturing", 3.2, "acme.example"),
    _Company("Blue Harbor Health", "Hospitals and Health Care", 4.0, "blueharbor.example"),
    _Company("Café Código S.L.", _SOFTWARE, 4.5, "cafe-codigo.example"),
    _Company("Grünwald Energie AG", "Renewable Energy", 3.7, "gruenwald-energie.example"),
    _Company("한옥랩스 Hanok Labs", _INTERNET, 4.2, "hanok-labs.example"),
)

_DEFAULT_ROLES = (
    "Software Engineer", "Data Analyst", "Product Manager", "DevOps Engineer",
    "UX Designer", "Data Scientist", "QA Engineer", "Backend Developer",
)  # fmt: skip

_TEAMS = ("Payments", "Platform", "Data", "Growth", "Search", "Mobile", "Infrastructure")

_WORK_TYPE_PHRASES = {"On-site": "on site", "Remote": "remotely", "Hybrid": "in a hybrid setup"}

_CONTRACT_TYPES = ("Full-time", "Full-time", "Full-time", "Part-time", "Contract", "Internship")

_INDEED_JOB_TYPES: dict[str, list[str]] = {
    "Full-time": ["Full-time", "Permanent"],
    "Part-time": ["Part-time"],
    "Contract": ["Contract", "Temporary"],
    "Internship": ["Internship"],
}

_APPLICATION_COUNTS = (
    "Be among the first 25 applicants",
    "31 applicants",
    "73 applicants",
    "128 applicants",
    "Over 200 applicants",
)

_TASKS = (
    "Design, build and operate services used by millions of customers",
    "Work closely with product managers, designers and data scientists",
    "Review code and mentor colleagues",
    "Improve the observability and reliability of our platform",
    "Take part in an on-call rotation (at most one week per month)",
    "Turn fuzzy business questions into clear, measurable goals",
    "Automate manual processes and remove toil",
)

_REQUIREMENTS = (
    "Experience with a cloud platform (AWS, GCP or Azure)",
    "Good written and spoken English",
    "A habit of writing tests and documentation",
    "Comfort with SQL and relational databases",
    "Curiosity and a pragmatic approach to problem solving",
)

_BENEFITS = (
    "30 days of paid vacation",
    "Flexible working hours and a home-office budget",
    "A yearly learning budget for books, courses and conferences",
    "Company pension scheme",
    "Public transport ticket or bike leasing",
)

_LOCAL_PARAGRAPHS: dict[str, str] = {
    "de": "Wir freuen uns auf deine Bewerbung – gerne mit frühestmöglichem Eintrittstermin!",
    "fr": "Nous avons hâte de recevoir votre candidature ! Poste ouvert à tous les profils.",
    "ja": "ご応募をお待ちしております。リモート勤務も相談可能です。",
    "pt": "Venha fazer parte do nosso time! Vale-refeição e plano de saúde inclusos.",
    "pl": "Czekamy na Twoją aplikację! Oferujemy prywatną opiekę medyczną.",
    "ar": "نتطلع إلى تلقي طلبك. العمل من المنزل متاح جزئيًا.",
    "en": "We look forward to your application. Everyone is welcome here. 🙌",
}


@dataclass(frozen=True)
class SearchRequest:
    """Search parameters read from an actor run input.

    Attributes:
        family: Actor family that the run input belongs to.
        keywords: Searched keywords with surrounding whitespace removed, or "" for any job.
        location: Searched location with surrounding whitespace removed, or "" for anywhere.
        country_code: Indeed `country` in upper case, or "" for LinkedIn.
        work_type: LinkedIn work type text ("On-site", "Remote", "Hybrid"), or None for any.
        remote_only: Whether the Indeed input set `remote` to true.
        max_age_days: Maximum posting age in whole days that the date filter allows.
        max_items: Maximum item count from the input (`rows` or `maxItems`), or None if unset.
    """

    family: ActorFamily
    keywords: str
    location: str
    country_code: str
    work_type: str | None
    remote_only: bool
    max_age_days: int
    max_items: int | None


@dataclass(frozen=True)
class _Posting:
    """A job posting before it is rendered into one actor family's item shape."""

    key: str
    site_country: str
    title: str
    company: _Company
    place: Place
    location_text: str
    days_ago: int
    hours_ago: int
    work_type: str
    contract_type: str
    experience_level: str
    salary_range: tuple[int, int] | None
    years_of_experience: int
    tasks: tuple[str, ...]
    requirements: tuple[str, ...]
    benefits: tuple[str, ...]
    applications: str
    use_check_marks: bool


def actor_family(actor_id: str) -> ActorFamily:
    """Return "indeed" if the actor id or name contains "indeed", else "linkedin"."""
    return "indeed" if "indeed" in actor_id.lower() else "linkedin"


def parse_search_request(actor_id: str, run_input: Mapping[str, Any]) -> SearchRequest:
    """Read the search parameters of the actor's family from a run input.

    Keys that the family does not use are ignored, as real actors ignore them.

    Raises:
        InvalidRunInputError: A known key has the wrong type or an unsupported value. The
            message names the key and the accepted values.
    """
    family = actor_family(actor_id)
    if family == "linkedin":
        return _parse_linkedin_input(run_input)
    return _parse_indeed_input(run_input)


def generate_postings(
    search: SearchRequest, count: int, *, seed: int = 0, reference_date: date
) -> list[dict[str, Any]]:
    """Generate `count` job postings for a search, in the item shape of its actor family.

    Args:
        search: Parsed search parameters, see `parse_search_request`.
        count: Number of items to generate. Zero returns an empty list.
        seed: Seed that selects a different but equally deterministic set of postings.
        reference_date: The "today" that posting dates and ages are computed from. Pass the
            same date to get the same items.

    Returns:
        JSON-serialisable items. Items with the same id are identical across searches.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}.")

    shared = _shared_postings(search, seed)
    # Job boards return the newest postings first, and a narrower date filter returns a subset
    # of a wider one. So every search draws from one pool, the same for every count up to
    # MIN_POOL_SIZE / 3, filters it by age and takes the newest.
    pool = [_own_posting(search, seed, index) for index in range(max(count * 3, MIN_POOL_SIZE))]
    own = sorted(
        (posting for posting in pool if posting.days_ago <= search.max_age_days),
        key=lambda posting: (posting.days_ago, posting.hours_ago),
    )
    postings: list[_Posting] = []
    while len(postings) < count and (own or shared):
        # Spreading the shared postings keeps them inside small result pages too.
        if shared and (len(postings) % 3 == 1 or not own):
            postings.append(shared.pop(0))
        else:
            postings.append(own.pop(0))

    render = _render_linkedin if search.family == "linkedin" else _render_indeed
    return [render(posting, reference_date) for posting in postings]


def make_items_malformed(items: list[dict[str, Any]], family: ActorFamily) -> list[dict[str, Any]]:
    """Return a copy of `items` in which a few items are broken the way scrapers break them.

    The item at index 1 loses its title. The item at index 3 loses its id and every URL. The
    item at index 5 has fields of the wrong JSON type, and the item at index 7 is an empty
    object. The item count does not change, so lists shorter than 8 items get fewer breakages.
    """
    broken = [dict(item) for item in items]
    title_key = "title" if family == "linkedin" else "positionName"
    url_keys = ("jobUrl",) if family == "linkedin" else ("url", "externalApplyLink")

    if len(broken) > 1:
        del broken[1][title_key]
    if len(broken) > 3:
        del broken[3]["id"]
        for key in url_keys:
            del broken[3][key]
    if len(broken) > 5:
        broken[5][title_key] = ["Python Developer", 42]
        broken[5]["salary"] = 85000
        broken[5]["location"] = None
        if family == "linkedin":
            broken[5]["companyName"] = {"name": "Nested Co"}
            broken[5]["publishedAt"] = "not a date"
            broken[5]["applicationsCount"] = 17
        else:
            broken[5]["company"] = {"name": "Nested Co"}
            broken[5]["jobType"] = "Full-time"
            broken[5]["rating"] = "four stars"
    if len(broken) > 7:
        broken[7] = {}
    return broken


def make_items_oversized(items: list[dict[str, Any]], family: ActorFamily) -> list[dict[str, Any]]:
    """Return a copy of `items` with a 5 MiB description in item 0 and a 10 KiB URL in item 1.

    Only the plain-text description grows. The HTML description keeps its normal size.
    """
    changed = [dict(item) for item in items]
    if changed:
        filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
        repeats = 5 * 1024 * 1024 // len(filler) + 1
        changed[0]["description"] = (filler * repeats)[: 5 * 1024 * 1024]
    if len(changed) > 1:
        url_key = "jobUrl" if family == "linkedin" else "url"
        url = changed[1][url_key]
        separator = "&" if "?" in url else "?"
        padding = "x" * 10_240
        changed[1][url_key] = f"{url}{separator}session={padding}"[:10_240]
    return changed


def make_items_duplicated(
    items: list[dict[str, Any]], family: ActorFamily, *, reference_date: date
) -> list[dict[str, Any]]:
    """Return a copy of `items` whose last items repeat item 0 with tracking parameters.

    Up to three copies of item 0 replace the last items, so the item count does not change.
    Each copy keeps the id, adds different `trackingId`, `refId` and `utm_source` query
    parameters to the posting URL and is dated one more day back than the one before.
    """
    changed = [dict(item) for item in items]
    copies = min(3, len(changed) - 1)
    if copies <= 0:
        return changed

    original = changed[0]
    url_key = "jobUrl" if family == "linkedin" else "url"
    sources = ("google", "newsletter", "linkedin_share")
    first_copy_index = len(changed) - copies
    for number in range(1, copies + 1):
        duplicate = copy.deepcopy(original)
        url = original[url_key]
        separator = "&" if "?" in url else "?"
        tracking = _stable_hex("tracking", url, number)
        duplicate[url_key] = (
            f"{url}{separator}trackingId={tracking[:16]}"
            f"&refId={tracking[16:28]}&utm_source={sources[number - 1]}"
        )
        if family == "linkedin":
            days_ago = _days_since(original["publishedAt"], reference_date) + number
            duplicate["publishedAt"] = (reference_date - timedelta(days=days_ago)).isoformat()
            duplicate["postedTime"] = _linkedin_posted_time(days_ago, hours_ago=1)
        else:
            original_days = _indeed_days_ago(original["postedAt"])
            # Ages past 30 days all read "30+ days ago", so older copies would look the same.
            if original_days + copies <= 30:
                days_ago = original_days + number
            else:
                days_ago = original_days - number
            duplicate["postedAt"] = _indeed_posted_at(days_ago)
        changed[first_copy_index + number - 1] = duplicate
    return changed


def _parse_linkedin_input(run_input: Mapping[str, Any]) -> SearchRequest:
    work_type_code = _optional_str(run_input, "workType")
    if work_type_code not in ("", *LINKEDIN_WORK_TYPES):
        raise InvalidRunInputError(
            f'Input field "workType" must be "1", "2", "3" or empty, got {work_type_code!r}.'
        )
    published_at = _optional_str(run_input, "publishedAt")
    if published_at not in LINKEDIN_PUBLISHED_AT_MAX_AGE_DAYS:
        allowed = ", ".join(repr(value) for value in LINKEDIN_PUBLISHED_AT_MAX_AGE_DAYS)
        raise InvalidRunInputError(
            f'Input field "publishedAt" must be one of {allowed}, got {published_at!r}.'
        )
    return SearchRequest(
        family="linkedin",
        keywords=_optional_str(run_input, "title").strip(),
        location=_optional_str(run_input, "location").strip(),
        country_code="",
        work_type=LINKEDIN_WORK_TYPES.get(work_type_code),
        remote_only=False,
        max_age_days=LINKEDIN_PUBLISHED_AT_MAX_AGE_DAYS[published_at],
        max_items=_optional_count(run_input, "rows"),
    )


def _parse_indeed_input(run_input: Mapping[str, Any]) -> SearchRequest:
    country = _optional_str(run_input, "country").strip().upper() or "US"
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise InvalidRunInputError(
            f'Input field "country" must be a two-letter country code, got {country!r}.'
        )
    remote = run_input.get("remote", False)
    if not isinstance(remote, bool):
        raise InvalidRunInputError(f'Input field "remote" must be a boolean, got {remote!r}.')
    from_days = _optional_count(run_input, "fromDays", allow_digit_string=True)
    if from_days == 0:
        raise InvalidRunInputError('Input field "fromDays" must be at least 1, got 0.')
    return SearchRequest(
        family="indeed",
        keywords=_optional_str(run_input, "position").strip(),
        location=_optional_str(run_input, "location").strip(),
        country_code=country,
        work_type=None,
        remote_only=remote,
        max_age_days=DEFAULT_MAX_AGE_DAYS if from_days is None else from_days - 1,
        max_items=_optional_count(run_input, "maxItems"),
    )


def _optional_str(run_input: Mapping[str, Any], key: str) -> str:
    value = run_input.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRunInputError(f'Input field "{key}" must be a string, got {value!r}.')
    return value


def _optional_count(
    run_input: Mapping[str, Any], key: str, *, allow_digit_string: bool = False
) -> int | None:
    value = run_input.get(key)
    if value is None:
        return None
    if allow_digit_string and isinstance(value, str) and value.isdigit():
        return int(value)
    # Booleans are rejected explicitly, because bool is a subclass of int.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRunInputError(
            f'Input field "{key}" must be a whole number of 0 or more, got {value!r}.'
        )
    return value


def _seeded_random(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _stable_hex(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()


def _keyword_words(keywords: str) -> list[str]:
    words: list[str] = []
    for word in re.findall(r"[\w+#]+", keywords.lower()):
        if word not in _IGNORED_KEYWORD_WORDS and word not in words:
            words.append(word)
    return words[:MAX_SHARED_WORDS]


def _display_keywords(keywords: str) -> str:
    # Lower-case input reads badly in a title. Mixed case such as "DevOps" is kept as typed.
    # Splitting on whitespace groups keeps the spacing, so the title contains the keywords.
    if keywords == keywords.lower():
        return "".join(part[:1].upper() + part[1:] for part in re.split(r"(\s+)", keywords))
    return keywords


def _location_key(search: SearchRequest) -> str:
    """Return the location part of a shared posting's key.

    Known places are keyed by their display text, so "Berlin" and "berlin" share postings.
    """
    place = _KNOWN_PLACES.get(search.location.lower())
    return place.display if place is not None else search.location


def _place_for(search: SearchRequest, rng: random.Random) -> tuple[Place, str]:
    """Return the place of a posting and the location text to show for it.

    Indeed searches one country's site, so without a searched location an Indeed posting is
    placed in a known city of the input country, or in the country itself.
    """
    currency = _CURRENCY_BY_COUNTRY.get(search.country_code, "$")
    if search.location:
        place = _KNOWN_PLACES.get(search.location.lower())
        if place is None:
            place = Place(search.location, search.country_code, currency, "en")
    elif search.family == "indeed":
        in_country = [
            place for place in _KNOWN_PLACES.values() if place.country_code == search.country_code
        ]
        fallback = Place(search.country_code, search.country_code, currency, "en")
        place = rng.choice(in_country) if in_country else fallback
    else:
        place = _KNOWN_PLACES[rng.choice(_DEFAULT_PLACE_KEYS)]
    return place, place.display


def _shared_postings(search: SearchRequest, seed: int) -> list[_Posting]:
    """Return the shared postings that match the search's keyword words and filters."""
    postings: list[_Posting] = []
    for word in _keyword_words(search.keywords):
        for number in range(SHARED_POSTINGS_PER_WORD):
            key = (
                f"{seed}|shared|{search.family}|{_location_key(search)}|{search.country_code}"
                f"|{word}|{number}"
            )
            rng = _seeded_random(key)
            work_type = rng.choice(tuple(LINKEDIN_WORK_TYPES.values()))
            days_ago = rng.randint(0, DEFAULT_MAX_AGE_DAYS)
            if search.work_type is not None and work_type != search.work_type:
                continue
            if search.remote_only and work_type != "Remote":
                continue
            if days_ago > search.max_age_days:
                continue
            capitalised = word[:1].upper() + word[1:]
            level = rng.choice(("Senior", "Mid-level", "Lead"))
            if word in _ROLE_NOUNS:
                title = f"{level} {capitalised} ({rng.choice(_TEAMS)})"
            else:
                title = f"{level} {capitalised} {rng.choice(('Engineer', 'Developer', 'Expert'))}"
            postings.append(_build_posting(search, rng, key, title, work_type, days_ago))
    return postings


def _own_posting(search: SearchRequest, seed: int, index: int) -> _Posting:
    """Return the posting at `index` of the postings that only this search returns."""
    key = (
        f"{seed}|own|{search.family}|{search.keywords}|{search.location}"
        f"|{search.country_code}|{search.work_type}|{search.remote_only}|{index}"
    )
    rng = _seeded_random(key)
    if search.work_type is not None:
        work_type = search.work_type
    elif search.remote_only:
        work_type = "Remote"
    else:
        work_type = rng.choice(("On-site", "On-site", "Hybrid", "Remote"))
    days_ago = rng.randint(0, DEFAULT_MAX_AGE_DAYS)

    role = _display_keywords(search.keywords) or rng.choice(_DEFAULT_ROLES)
    patterns = ["{role}", "{role}, {team}", "{role} 🚀", "{role} II"]
    if role.split()[0].lower() not in _IGNORED_KEYWORD_WORDS:
        patterns += ["Senior {role}", "Junior {role}", "Lead {role}", "Staff {role}"]
    if work_type == "Remote":
        patterns.append("{role} – Remote 🌍")
    title = rng.choice(patterns).format(role=role, team=rng.choice(_TEAMS))
    return _build_posting(search, rng, key, title, work_type, days_ago)


def _build_posting(
    search: SearchRequest,
    rng: random.Random,
    key: str,
    title: str,
    work_type: str,
    days_ago: int,
) -> _Posting:
    place, location_text = _place_for(search, rng)
    if search.family == "indeed" and work_type == "Remote":
        location_text = f"Remote in {location_text}"
    elif search.family == "linkedin" and work_type == "Remote":
        location_text = f"{location_text} (Remote)"

    # German, French and Japanese postings often end their titles with these suffixes.
    if place.language == "de" and rng.random() < 0.5:
        title = f"{title} (m/w/d)"
    elif place.language == "fr" and rng.random() < 0.5:
        title = f"{title} (H/F)"
    elif place.language == "ja" and rng.random() < 0.5:
        title = f"{title}（正社員）"

    if title.startswith(("Senior", "Staff")):
        experience = "Mid-Senior level"
    elif title.startswith("Lead"):
        experience = "Director"
    elif title.startswith("Junior"):
        experience = "Entry level"
    else:
        experience = rng.choice(("Associate", "Mid-Senior level"))

    salary_range: tuple[int, int] | None = None
    if rng.random() < 0.6:
        low, high = _SALARY_RANGES.get(place.currency, _SALARY_RANGES["$"])
        start = rng.randint(low, (low + high) // 2)
        step = 1000 if high < 1_000_000 else 100_000
        start = start // step * step
        salary_range = (start, start + rng.randint(1, 4) * 5 * step)

    return _Posting(
        key=key,
        site_country=search.country_code or place.country_code,
        title=title,
        company=rng.choice(_COMPANIES),
        place=place,
        location_text=location_text,
        days_ago=days_ago,
        hours_ago=rng.randint(1, 23),
        work_type=work_type,
        contract_type=rng.choice(_CONTRACT_TYPES),
        experience_level=experience,
        salary_range=salary_range,
        years_of_experience=rng.randint(1, 6),
        tasks=tuple(rng.sample(_TASKS, 3)),
        requirements=tuple(rng.sample(_REQUIREMENTS, 3)),
        benefits=tuple(rng.sample(_BENEFITS, 2)),
        applications=rng.choice(_APPLICATION_COUNTS),
        use_check_marks=rng.random() < 0.3,
    )


def _description_sections(posting: _Posting) -> list[tuple[str, list[str]]]:
    """Return the description as (heading, lines) sections. The first heading is empty."""
    city = posting.location_text.split(",")[0]
    intro = (
        f"{posting.company.name} is hiring: {posting.title} in {city}. "
        f"You will work {_WORK_TYPE_PHRASES[posting.work_type]} in our "
        f"{posting.company.sector.lower()} business."
    )
    requirements = [f"{posting.years_of_experience}+ years of professional experience"]
    requirements.extend(posting.requirements)
    return [
        ("", [intro]),
        ("Your tasks", list(posting.tasks)),
        ("What you bring", requirements),
        ("What we offer", list(posting.benefits)),
        ("", [_LOCAL_PARAGRAPHS.get(posting.place.language, _LOCAL_PARAGRAPHS["en"])]),
    ]


def _description_text(posting: _Posting) -> str:
    bullet = "✅ " if posting.use_check_marks else "• "
    paragraphs: list[str] = []
    for heading, lines in _description_sections(posting):
        if heading:
            paragraphs.append(heading + ":\n" + "\n".join(bullet + line for line in lines))
        else:
            paragraphs.append(" ".join(lines))
    return "\n\n".join(paragraphs)


def _description_html(posting: _Posting) -> str:
    parts: list[str] = []
    for heading, lines in _description_sections(posting):
        if heading:
            parts.append(f"<p><strong>{html.escape(heading)}</strong></p>")
            items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append(f"<p>{html.escape(' '.join(lines))}</p>")
    return "".join(parts)


def _linkedin_posted_time(days_ago: int, *, hours_ago: int) -> str:
    if days_ago == 0:
        return "1 hour ago" if hours_ago == 1 else f"{hours_ago} hours ago"
    if days_ago < 7:
        return "1 day ago" if days_ago == 1 else f"{days_ago} days ago"
    if days_ago < 30:
        weeks = days_ago // 7
        return "1 week ago" if weeks == 1 else f"{weeks} weeks ago"
    months = days_ago // 30
    return "1 month ago" if months == 1 else f"{months} months ago"


def _indeed_posted_at(days_ago: int) -> str:
    if days_ago == 0:
        return "Just posted"
    if days_ago > 30:
        return "30+ days ago"
    return "1 day ago" if days_ago == 1 else f"{days_ago} days ago"


def _indeed_days_ago(posted_at: str) -> int:
    """Return the age in days of an Indeed `postedAt` text. "30+ days ago" counts as 31."""
    match = re.match(r"(\d+)", posted_at)
    if match is None:
        return 0
    days = int(match.group(1))
    return days + 1 if posted_at.startswith("30+") else days


def _days_since(iso_date: str, reference_date: date) -> int:
    return (reference_date - date.fromisoformat(iso_date)).days


def _linkedin_salary(posting: _Posting) -> str:
    if posting.salary_range is None:
        return ""
    low, high = posting.salary_range
    currency = posting.place.currency
    return f"{currency}{low:,}/yr - {currency}{high:,}/yr"


def _indeed_salary(posting: _Posting) -> str | None:
    if posting.salary_range is None:
        return None
    low, high = posting.salary_range
    currency = posting.place.currency
    return f"{currency}{low:,} - {currency}{high:,} a year"


def _render_linkedin(posting: _Posting, reference_date: date) -> dict[str, Any]:
    job_id = str(3_000_000_000 + int(_stable_hex("linkedin-id", posting.key), 16) % 10**9)
    return {
        "id": job_id,
        "title": posting.title,
        "companyName": posting.company.name,
        "location": posting.location_text,
        "jobUrl": f"https://www.linkedin.com/jobs/view/{job_id}",
        "publishedAt": (reference_date - timedelta(days=posting.days_ago)).isoformat(),
        "postedTime": _linkedin_posted_time(posting.days_ago, hours_ago=posting.hours_ago),
        "salary": _linkedin_salary(posting),
        "description": _description_text(posting),
        "descriptionHtml": _description_html(posting),
        "contractType": posting.contract_type,
        "experienceLevel": posting.experience_level,
        "workType": posting.work_type,
        "sector": posting.company.sector,
        "applicationsCount": posting.applications,
    }


def _render_indeed(posting: _Posting, reference_date: date) -> dict[str, Any]:
    job_key = _stable_hex("indeed-id", posting.key)[:16]
    country = posting.site_country
    host = "www.indeed.com" if country == "US" else f"{country.lower()}.indeed.com"
    scraped_seconds = int(job_key[:6], 16) % 86_400
    scraped_at = (
        f"{reference_date.isoformat()}T{scraped_seconds // 3600:02d}:"
        f"{scraped_seconds // 60 % 60:02d}:{scraped_seconds % 60:02d}.000Z"
    )
    return {
        "id": job_key,
        "positionName": posting.title,
        "company": posting.company.name,
        "location": posting.location_text,
        "url": f"https://{host}/viewjob?jk={job_key}",
        "externalApplyLink": f"https://{posting.company.careers_host}/apply/{job_key}",
        "postedAt": _indeed_posted_at(posting.days_ago),
        "salary": _indeed_salary(posting),
        "jobType": list(_INDEED_JOB_TYPES[posting.contract_type]),
        "description": _description_text(posting),
        "descriptionHTML": _description_html(posting),
        "rating": posting.company.rating,
        "scrapedAt": scraped_at,
    }
