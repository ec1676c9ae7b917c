"""Settings read from the environment when the code location loads.

Each reader validates its variable and raises `SettingsError` naming the variable, the bad
value and a valid example, so a typo fails at load time in the UI instead of at 3 a.m.
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster._utils.schedules import is_valid_cron_string

DEFAULT_CRON = "0 */4 * * *"
DEFAULT_TIMEZONE = "UTC"


class SettingsError(ValueError):
    """An environment variable has an invalid value."""


def env_text(name: str) -> str | None:
    """Return the variable's value with surrounding whitespace removed, or None if blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def ingest_cron() -> str:
    """Return `INGEST_CRON`, the schedule's cron expression (default every 4 hours)."""
    value = env_text("INGEST_CRON") or DEFAULT_CRON
    if not is_valid_cron_string(value):
        raise SettingsError(
            f"INGEST_CRON={value!r} is not a valid cron expression: use five fields such as "
            f"{DEFAULT_CRON!r} (minute hour day-of-month month day-of-week)"
        )
    return value


def ingest_timezone() -> str:
    """Return `INGEST_TIMEZONE`, the IANA timezone the cron expression is read in."""
    value = env_text("INGEST_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"INGEST_TIMEZONE={value!r} is not a known IANA timezone: use a name such as "
            "'UTC' or 'Europe/Berlin'"
        ) from None
    return value


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """Return an integer variable, or the default when it is unset."""
    value = env_text(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise SettingsError(
            f"{name}={value!r} is invalid: use a whole number of at least {minimum}, "
            f"or unset it for the default {default}"
        )
    return number


def env_float(name: str, default: float | None = None) -> float | None:
    """Return a non-negative decimal variable, or the default when it is unset."""
    value = env_text(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise SettingsError(
            f"{name}={value!r} is invalid: use a non-negative number such as 2.50, or unset it"
        )
    return number


def check_dagster_postgres_url() -> None:
    """Reject a `DAGSTER_POSTGRES_URL` without the psycopg2 driver, which would fail later.

    SQLAlchemy 2.1 picks psycopg 3 for a bare `postgresql://` URL, but only psycopg2 is
    installed, so Dagster's storage would fail with "No module named 'psycopg'".
    """
    value = env_text("DAGSTER_POSTGRES_URL")
    if value is None:
        return
    scheme = value.split("://", 1)[0]
    if scheme in ("postgresql", "postgres"):
        raise SettingsError(
            "DAGSTER_POSTGRES_URL uses a bare postgresql:// URL: write postgresql+psycopg2:// "
            "instead, because psycopg2 is the PostgreSQL driver this project installs"
        )
