"""Settings of the trigger service, read from the environment when the service starts.

Each reader raises `SettingsError` naming the variable and the fix, so a bad value stops the
service at start-up instead of failing the first request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa

from jobs_pipeline.database import engine as engines
from jobs_pipeline.settings import SettingsError, env_int, env_text
from jobs_pipeline.trigger.auth import validate_secret

CRON_SECRET_ENV = "CRON_SECRET"
DAGSTER_GRAPHQL_URL_ENV = "DAGSTER_GRAPHQL_URL"
DEFAULT_DAGSTER_GRAPHQL_URL = "http://127.0.0.1:3000"
RATE_LIMIT_ENV = "TRIGGER_RATE_LIMIT"
RATE_WINDOW_ENV = "TRIGGER_RATE_WINDOW_SECONDS"
# The web app's server calls from one address for every candidate, so the default leaves
# room for a burst of "refresh now" clicks while still slowing down token guessing.
DEFAULT_RATE_LIMIT = 30
DEFAULT_RATE_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class DagsterEndpoint:
    """Address of a Dagster webserver, split the way `DagsterGraphQLClient` takes it."""

    hostname: str
    port: int | None
    use_https: bool
    path_prefix: str

    @property
    def base_url(self) -> str:
        """Return the webserver URL for messages, without the `/graphql` path."""
        scheme = "https" if self.use_https else "http"
        netloc = f"{self.hostname}:{self.port}" if self.port else self.hostname
        return f"{scheme}://{netloc}{self.path_prefix}"

    @property
    def graphql_url(self) -> str:
        """Return the URL of the GraphQL endpoint."""
        return f"{self.base_url}/graphql"


@dataclass(frozen=True)
class TriggerSettings:
    """Everything the service needs to start: secret, Dagster address, database, rate limit."""

    # repr=False keeps the secret out of tracebacks and debug output that print the settings.
    cron_secret: str = field(repr=False)
    dagster: DagsterEndpoint
    database_url: sa.URL
    rate_limit: int
    rate_window_seconds: int


def parse_dagster_url(value: str) -> DagsterEndpoint:
    """Parse `DAGSTER_GRAPHQL_URL`, such as `http://127.0.0.1:3000` or `https://host/dagster`.

    A trailing `/graphql` is accepted and removed, so the GraphQL endpoint itself may be given.

    Raises:
        SettingsError: if the URL is not an absolute http or https URL.
    """
    invalid = SettingsError(
        f"{DAGSTER_GRAPHQL_URL_ENV}={value!r} is invalid: use the Dagster webserver's base URL, "
        f"such as {DEFAULT_DAGSTER_GRAPHQL_URL!r} or 'https://dagster.internal/prefix'"
    )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise invalid from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid
    if parts.query or parts.fragment or parts.username or parts.password:
        raise invalid
    path = parts.path.rstrip("/")
    if path.endswith("/graphql"):
        path = path.removesuffix("/graphql")
    return DagsterEndpoint(
        hostname=parts.hostname,
        port=port,
        use_https=parts.scheme == "https",
        path_prefix=path,
    )


def read_cron_secret() -> str:
    """Return `CRON_SECRET` after checking that it is usable as a bearer token.

    Raises:
        SettingsError: if it is missing, too short or has characters a header cannot carry.
    """
    try:
        return validate_secret(os.environ.get(CRON_SECRET_ENV))
    except ValueError as error:
        raise SettingsError(str(error)) from None


def read_database_url() -> sa.URL:
    """Return the app database URL: `APP_DATABASE_URL`, else the embedded SQLite file.

    Raises:
        SettingsError: if `APP_DATABASE_URL` is not a valid SQLAlchemy URL.
    """
    try:
        return engines.normalize_url(engines.configured_url() or engines.default_sqlite_url())
    except ValueError as error:
        raise SettingsError(str(error)) from None


def load_settings(
    *, rate_limit: int | None = None, rate_window_seconds: int | None = None
) -> TriggerSettings:
    """Read the service settings from the environment.

    Args:
        rate_limit: maximum requests per client address and window, or None to read
            `TRIGGER_RATE_LIMIT`.
        rate_window_seconds: length of the rate-limit window in seconds, or None to read
            `TRIGGER_RATE_WINDOW_SECONDS`.

    Raises:
        SettingsError: naming the first invalid variable and the fix.
    """
    secret = read_cron_secret()
    dagster = parse_dagster_url(env_text(DAGSTER_GRAPHQL_URL_ENV) or DEFAULT_DAGSTER_GRAPHQL_URL)
    if rate_limit is None:
        rate_limit = env_int(RATE_LIMIT_ENV, DEFAULT_RATE_LIMIT, minimum=1)
    if rate_window_seconds is None:
        rate_window_seconds = env_int(RATE_WINDOW_ENV, DEFAULT_RATE_WINDOW_SECONDS, minimum=1)
    return TriggerSettings(
        cron_secret=secret,
        dagster=dagster,
        database_url=read_database_url(),
        rate_limit=rate_limit,
        rate_window_seconds=rate_window_seconds,
    )
