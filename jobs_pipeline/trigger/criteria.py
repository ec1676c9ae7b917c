"""Look up a criteria row in the app database and compute its criteria set key."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from jobs_pipeline.criteria.normalize import InvalidCriteriaError, canonicalize_row
from jobs_pipeline.database import engine as engines
from jobs_pipeline.database.models import JobCriteria

logger = logging.getLogger(__name__)


class CriteriaNotFoundError(LookupError):
    """No criteria row has the requested id."""


class CriteriaNotRefreshableError(ValueError):
    """The criteria row exists, but a run would not search it (inactive or unsearchable)."""


class AppDatabaseUnavailableError(RuntimeError):
    """The app database could not be queried. The message names the database and the fix."""


def parse_criteria_id(value: str) -> int:
    """Return the criteria id from a URL path segment.

    Raises:
        CriteriaNotFoundError: if the segment is not a positive decimal integer, because no
            criteria row can have such an id.
    """
    # Ids are 64-bit integers in the database; a longer digit string cannot name a row.
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or not 1 <= int(value) < 2**63:
        raise CriteriaNotFoundError(
            f"Criteria id {value!r} not found: use the numeric id of a row in job_criteria."
        )
    return int(value)


class CriteriaLookup:
    """Reads criteria rows from the app database (`APP_DATABASE_URL` or the embedded SQLite)."""

    def __init__(self, database_url: sa.URL) -> None:
        self._database_url = database_url
        self._safe_url = engines.safe_url(database_url)

    def set_key(self, criteria_id: int) -> str:
        """Return the criteria set key of an active, searchable criteria row.

        Raises:
            CriteriaNotFoundError: if no row has this id.
            CriteriaNotRefreshableError: if the row is inactive or cannot be searched.
            AppDatabaseUnavailableError: if the database cannot be queried.
        """
        query = sa.select(
            JobCriteria.is_active,
            JobCriteria.keywords,
            JobCriteria.location,
            JobCriteria.remote,
            JobCriteria.source,
            JobCriteria.posted_within_days,
        ).where(JobCriteria.id == criteria_id)
        try:
            with engines.get_engine(self._database_url).connect() as connection:
                row = connection.execute(query).one_or_none()
        except sa.exc.DBAPIError as error:
            logger.error(
                "Reading criteria %d from the app database %s failed: %s",
                criteria_id,
                self._safe_url,
                error.orig,
            )
            raise AppDatabaseUnavailableError(
                f"The app database {self._safe_url} could not be queried "
                f"({type(error.orig).__name__}). Check APP_DATABASE_URL and that the database "
                f"is running, and run `{engines.UPGRADE_COMMAND}` if the schema is missing or "
                "behind."
            ) from error

        if row is None:
            raise CriteriaNotFoundError(
                f"Criteria {criteria_id} not found in the app database: check the id, or "
                "whether the web app deleted the criteria."
            )
        if not row.is_active:
            raise CriteriaNotRefreshableError(
                f"Criteria {criteria_id} is inactive, so ingest_jobs would not search it: "
                "activate it in the web app first."
            )
        try:
            canonical = canonicalize_row(row)
        except InvalidCriteriaError as error:
            raise CriteriaNotRefreshableError(
                f"Criteria {criteria_id} cannot be searched: {error}."
            ) from None
        return canonical.set_key
