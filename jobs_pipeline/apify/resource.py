"""Apify as a Dagster resource, with the local demo server when no token is configured."""

from __future__ import annotations

import threading
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
    linkedin_actor_id: str | None = Field(
        default=None, description="Actor for source 'linkedin'; empty uses the adapter default."
    )
    indeed_actor_id: str | None = Field(
        default=None, description="Actor for source 'indeed'; empty uses the adapter default."
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

    def actor_id(self, adapter: ActorAdapter) -> str:
        """Return the configured actor id of an adapter's source."""
        configured = {"linkedin": self.linkedin_actor_id, "indeed": self.indeed_actor_id}
        return configured.get(adapter.source) or adapter.default_actor_id

    def estimate_usd(self, source: str) -> float:
        """Return the worst-case cost of one actor run for a source."""
        return get_adapter(source).estimate_usd(
            max_items=self.max_items,
            memory_mbytes=self.memory_mbytes,
            timeout=timedelta(seconds=self.run_timeout_secs),
        )

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
