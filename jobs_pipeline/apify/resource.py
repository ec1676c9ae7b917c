"""Apify as a Dagster resource, with the local demo server when no token is configured."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import dagster as dg
from apify_client import ApifyClient
from pydantic import Field, PrivateAttr

from jobs_pipeline.apify.adapters import ActorAdapter, get_adapter
from jobs_pipeline.database.engine import APP_DATABASE_URL_ENV, configured_url

DEMO_TOKEN = "local-demo-token"

_demo_server_lock = threading.Lock()
_demo_server = None


class DemoModeNotAllowedError(RuntimeError):
    """APIFY_TOKEN is missing while a real app database is configured."""


class ActorSettings(dg.Config):
    """Per-source overrides of the actor and its limits; empty fields use the defaults."""

    actor_id: str | None = Field(default=None, description="Actor id, e.g. 'user/name'.")
    max_items: int | None = Field(default=None, description="Maximum postings per run.")
    memory_mbytes: int | None = Field(default=None, description="Memory of each run in MB.")
    run_timeout_secs: int | None = Field(default=None, description="Run timeout on Apify.")


@dataclass(frozen=True)
class ActorRunSettings:
    """The actor and limits that one source's runs use."""

    adapter: ActorAdapter
    actor_id: str
    max_items: int
    memory_mbytes: int
    run_timeout: timedelta

    @property
    def estimated_usd(self) -> float:
        """Return the worst-case cost of one run with these limits."""
        return self.adapter.estimate_usd(
            max_items=self.max_items, memory_mbytes=self.memory_mbytes, timeout=self.run_timeout
        )


class ApifyResource(dg.ConfigurableResource):
    """Apify actors through the official `apify-client`.

    Without a token, and only on the embedded local database, the client talks to the
    project's local Apify-compatible server (demo mode) through the same code path.
    """

    token: str | None = Field(default=None, description="Apify API token (APIFY_TOKEN).")
    api_url: str | None = Field(
        default=None, description="Apify API base URL (APIFY_API_URL); empty means Apify's own."
    )
    max_retries: int = Field(
        default=4, description="Client retries of HTTP 429, 5xx and transport errors per call."
    )
    min_delay_between_retries_ms: int = Field(
        default=500, description="First retry delay in milliseconds; it doubles each retry."
    )
    wait_for_finish_secs: int = Field(
        default=900, description="How long one scrape waits for its actor run before aborting it."
    )
    run_timeout_secs: int = Field(default=600, description="Actor run timeout set on Apify.")
    memory_mbytes: int = Field(default=1024, description="Memory of each actor run in MB.")
    max_items: int = Field(default=100, description="Maximum postings one actor run returns.")
    linkedin: ActorSettings = Field(
        default_factory=ActorSettings, description="Overrides for source 'linkedin'."
    )
    indeed: ActorSettings = Field(
        default_factory=ActorSettings, description="Overrides for source 'indeed'."
    )

    _client: ApifyClient | None = PrivateAttr(default=None)

    @property
    def is_demo(self) -> bool:
        """Return True when no token is configured and the local demo server is used."""
        return not (self.token and self.token.strip())

    def check_mode(self) -> None:
        """Raise `DemoModeNotAllowedError` when demo mode would run against a real database."""
        if self.is_demo and configured_url() is not None:
            raise DemoModeNotAllowedError(
                f"{APP_DATABASE_URL_ENV} is set but APIFY_TOKEN is not: set APIFY_TOKEN, or "
                f"unset {APP_DATABASE_URL_ENV} to run the local demo on the embedded database"
            )

    def get_client(self) -> ApifyClient:
        """Return a client for Apify, or for the local demo server in demo mode."""
        if self._client is None:
            self.check_mode()
            token, api_url = (
                (DEMO_TOKEN, _demo_server_url())
                if self.is_demo
                else (
                    self.token,
                    self.api_url,
                )
            )
            options = {"api_url": api_url} if api_url else {}
            self._client = ApifyClient(
                token,
                max_retries=self.max_retries,
                min_delay_between_retries=timedelta(milliseconds=self.min_delay_between_retries_ms),
                **options,
            )
        return self._client

    def run_settings(self, source: str) -> ActorRunSettings:
        """Return the actor and limits for a source: its overrides, else the defaults."""
        overrides: ActorSettings = getattr(self, source, None) or ActorSettings()
        adapter = get_adapter(source)
        return ActorRunSettings(
            adapter=adapter,
            actor_id=overrides.actor_id or adapter.default_actor_id,
            max_items=overrides.max_items or self.max_items,
            memory_mbytes=overrides.memory_mbytes or self.memory_mbytes,
            run_timeout=timedelta(seconds=overrides.run_timeout_secs or self.run_timeout_secs),
        )

    @property
    def display_url(self) -> str:
        """Return the API URL the client uses, for error messages."""
        if self.is_demo:
            return "the local demo server"
        return self.api_url or "https://api.apify.com"

    def redact(self, text: str) -> str:
        """Return text with the token replaced, for logs and stored error messages."""
        if self.token and self.token.strip():
            text = text.replace(self.token.strip(), "***")
        return text


def _demo_server_url() -> str:
    """Start this process's local Apify-compatible server once and return its URL."""
    global _demo_server
    with _demo_server_lock:
        if _demo_server is None:
            from jobs_pipeline.apify.local_server import LocalApifyServer

            _demo_server = LocalApifyServer().start()
        return _demo_server.url
