"""SQLAlchemy models of the app database.

`users` and `job_criteria` belong to the product's web app; this pipeline reads them and adds
only nullable columns that the web app may ignore. The other tables are written by the pipeline.
All timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jobs_pipeline.database.types import UtcDateTime, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

REMOTE_MODES = ("any", "remote", "hybrid", "onsite")
SOURCES = ("linkedin", "indeed")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: sa.JSON()}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    last_active_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=utc_now())


class JobCriteria(Base):
    """A candidate's saved job search, written by the web app."""

    __tablename__ = "job_criteria"
    __table_args__ = (
        sa.CheckConstraint("remote IN ('any', 'remote', 'hybrid', 'onsite')", name="remote_mode"),
        sa.Index("ix_job_criteria_active_user", "is_active", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # Server defaults, because the web app may insert rows without these columns.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    keywords: Mapped[str] = mapped_column(sa.Text)
    location: Mapped[str | None] = mapped_column(sa.Text)
    remote: Mapped[str] = mapped_column(sa.String(16), default="any", server_default="any")
    source: Mapped[str] = mapped_column(
        sa.String(32), default="linkedin", server_default="linkedin"
    )
    # Searchable by the actor, so part of the criteria set key.
    posted_within_days: Mapped[int | None]
    # Not searchable by the actors: applied when linking, so it never splits a criteria set.
    min_salary: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(server_default=utc_now())
    updated_at: Mapped[datetime] = mapped_column(server_default=utc_now())


class CriteriaSet(Base):
    """One distinct search, shared by every criteria whose canonical actor input is equal."""

    __tablename__ = "criteria_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    source: Mapped[str] = mapped_column(sa.String(32))
    canonical: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    retry_requested: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # An Apify run started for this set and not yet stored, so a retry reads its dataset
    # instead of paying for a second run.
    pending_apify_run_id: Mapped[str | None] = mapped_column(sa.String(64))
    pending_dataset_id: Mapped[str | None] = mapped_column(sa.String(64))
    pending_started_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_expires_at: Mapped[datetime | None]


class CriteriaSetMember(Base):
    """The criteria set of each keyed criteria, refreshed when the criteria changes."""

    __tablename__ = "criteria_set_members"

    criteria_id: Mapped[int] = mapped_column(
        sa.ForeignKey("job_criteria.id", ondelete="CASCADE"), primary_key=True
    )
    criteria_set_id: Mapped[int] = mapped_column(
        sa.ForeignKey("criteria_sets.id", ondelete="CASCADE"), index=True
    )
    keyed_at: Mapped[datetime]


class JobBatch(Base):
    """One scrape of one criteria set: its Apify run, counts, cost and outcome."""

    __tablename__ = "job_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    criteria_set_id: Mapped[int] = mapped_column(
        sa.ForeignKey("criteria_sets.id", ondelete="CASCADE"), index=True
    )
    dagster_run_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    apify_run_id: Mapped[str | None] = mapped_column(sa.String(64))
    dataset_id: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    items_received: Mapped[int] = mapped_column(default=0)
    items_rejected: Mapped[int] = mapped_column(default=0)
    # Rejected items by reason, for example {"missing_title": 2, "too_large": 1}.
    rejected_by_reason: Mapped[dict[str, Any] | None]
    jobs_new: Mapped[int] = mapped_column(default=0)
    jobs_updated: Mapped[int] = mapped_column(default=0)
    estimated_usd: Mapped[float] = mapped_column(default=0.0)
    actual_usd: Mapped[float | None]
    compute_units: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(sa.Text)


class Job(Base):
    """A posting in the shared job pool, one row per `(source, external_id)`."""

    __tablename__ = "jobs"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(32))
    # The actor's id, or "url:" plus a SHA-256 of the canonical URL, so the key stays short.
    external_id: Mapped[str] = mapped_column(sa.String(255))
    title: Mapped[str] = mapped_column(sa.Text)
    company: Mapped[str | None] = mapped_column(sa.Text)
    location: Mapped[str | None] = mapped_column(sa.Text)
    url: Mapped[str | None] = mapped_column(sa.Text)
    posted_at: Mapped[datetime | None]
    description: Mapped[str | None] = mapped_column(sa.Text)
    description_truncated: Mapped[bool] = mapped_column(default=False)
    salary_min: Mapped[int | None]
    salary_max: Mapped[int | None]
    salary_currency: Mapped[str | None] = mapped_column(sa.String(8))
    raw: Mapped[dict[str, Any]]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class JobBatchItem(Base):
    """The jobs one batch returned, so links are made from exactly that batch."""

    __tablename__ = "job_batch_items"

    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("job_batches.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[int] = mapped_column(
        sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )


class UserJob(Base):
    """A recommendation: a job linked to a candidate through one of their criteria."""

    __tablename__ = "user_jobs"
    __table_args__ = (sa.UniqueConstraint("user_id", "job_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    criteria_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("job_criteria.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=utc_now())


class IngestionRun(Base):
    """The facts of one `ingest_jobs` run, for operators and dashboards."""

    __tablename__ = "ingestion_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    dagster_run_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    sets_eligible: Mapped[int] = mapped_column(default=0)
    sets_due: Mapped[int] = mapped_column(default=0)
    sets_selected: Mapped[int] = mapped_column(default=0)
    sets_deferred: Mapped[int] = mapped_column(default=0)
    sets_succeeded: Mapped[int] = mapped_column(default=0)
    sets_failed: Mapped[int] = mapped_column(default=0)
    criteria_eligible: Mapped[int] = mapped_column(default=0)
    criteria_rejected: Mapped[int] = mapped_column(default=0)
    jobs_received: Mapped[int] = mapped_column(default=0)
    jobs_new: Mapped[int] = mapped_column(default=0)
    jobs_updated: Mapped[int] = mapped_column(default=0)
    items_rejected: Mapped[int] = mapped_column(default=0)
    links_created: Mapped[int] = mapped_column(default=0)
    estimated_usd: Mapped[float] = mapped_column(default=0.0)
    actual_usd: Mapped[float] = mapped_column(default=0.0)
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)


class StepOutput(Base):
    """A pickled step summary of one run, so steps on different hosts can read each other's."""

    __tablename__ = "step_outputs"

    # Dagster's output identifier joined with "/": run id, step key, output name, mapping key.
    key: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)
