"""Create app schema

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jobs_pipeline.database.types import utc_now

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "criteria_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("canonical", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("retry_requested", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("pending_apify_run_id", sa.String(length=64), nullable=True),
        sa.Column("pending_dataset_id", sa.String(length=64), nullable=True),
        sa.Column("pending_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criteria_sets")),
        sa.UniqueConstraint("set_key", name=op.f("uq_criteria_sets_set_key")),
    )
    op.create_table(
        "ingestion_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sets_eligible", sa.Integer(), nullable=False),
        sa.Column("sets_due", sa.Integer(), nullable=False),
        sa.Column("sets_selected", sa.Integer(), nullable=False),
        sa.Column("sets_deferred", sa.Integer(), nullable=False),
        sa.Column("sets_succeeded", sa.Integer(), nullable=False),
        sa.Column("sets_failed", sa.Integer(), nullable=False),
        sa.Column("criteria_eligible", sa.Integer(), nullable=False),
        sa.Column("criteria_rejected", sa.Integer(), nullable=False),
        sa.Column("jobs_received", sa.Integer(), nullable=False),
        sa.Column("jobs_new", sa.Integer(), nullable=False),
        sa.Column("jobs_updated", sa.Integer(), nullable=False),
        sa.Column("items_rejected", sa.Integer(), nullable=False),
        sa.Column("links_created", sa.Integer(), nullable=False),
        sa.Column("estimated_usd", sa.Double(), nullable=False),
        sa.Column("actual_usd", sa.Double(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion_runs")),
        sa.UniqueConstraint("dagster_run_id", name=op.f("uq_ingestion_runs_dagster_run_id")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("description_truncated", sa.Boolean(), nullable=False),
        sa.Column("salary_min", sa.Integer(), nullable=True),
        sa.Column("salary_max", sa.Integer(), nullable=True),
        sa.Column("salary_currency", sa.String(length=8), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_jobs_source_external_id")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=utc_now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_users_last_active_at"), ["last_active_at"], unique=False
        )

    op.create_table(
        "job_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("criteria_set_id", sa.Integer(), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("apify_run_id", sa.String(length=64), nullable=True),
        sa.Column("dataset_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items_received", sa.Integer(), nullable=False),
        sa.Column("items_rejected", sa.Integer(), nullable=False),
        sa.Column("rejected_by_reason", sa.JSON(), nullable=True),
        sa.Column("jobs_new", sa.Integer(), nullable=False),
        sa.Column("jobs_updated", sa.Integer(), nullable=False),
        sa.Column("estimated_usd", sa.Double(), nullable=False),
        sa.Column("actual_usd", sa.Double(), nullable=True),
        sa.Column("compute_units", sa.Double(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["criteria_set_id"],
            ["criteria_sets.id"],
            name=op.f("fk_job_batches_criteria_set_id_criteria_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_batches")),
    )
    with op.batch_alter_table("job_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_batches_criteria_set_id"), ["criteria_set_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_job_batches_dagster_run_id"), ["dagster_run_id"], unique=False
        )

    op.create_table(
        "job_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("remote", sa.String(length=16), server_default="any", nullable=False),
        sa.Column("source", sa.String(length=32), server_default="linkedin", nullable=False),
        sa.Column("posted_within_days", sa.Integer(), nullable=True),
        sa.Column("min_salary", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=utc_now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=utc_now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "remote IN ('any', 'remote', 'hybrid', 'onsite')",
            name=op.f("ck_job_criteria_remote_mode"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_job_criteria_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_criteria")),
    )
    with op.batch_alter_table("job_criteria", schema=None) as batch_op:
        batch_op.create_index("ix_job_criteria_active_user", ["is_active", "user_id"], unique=False)

    op.create_table(
        "criteria_set_members",
        sa.Column("criteria_id", sa.Integer(), nullable=False),
        sa.Column("criteria_set_id", sa.Integer(), nullable=False),
        sa.Column("keyed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["criteria_id"],
            ["job_criteria.id"],
            name=op.f("fk_criteria_set_members_criteria_id_job_criteria"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["criteria_set_id"],
            ["criteria_sets.id"],
            name=op.f("fk_criteria_set_members_criteria_set_id_criteria_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("criteria_id", name=op.f("pk_criteria_set_members")),
    )
    with op.batch_alter_table("criteria_set_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_criteria_set_members_criteria_set_id"), ["criteria_set_id"], unique=False
        )

    op.create_table(
        "job_batch_items",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["job_batches.id"],
            name=op.f("fk_job_batch_items_batch_id_job_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_batch_items_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("batch_id", "job_id", name=op.f("pk_job_batch_items")),
    )
    op.create_table(
        "user_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("criteria_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=utc_now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["criteria_id"],
            ["job_criteria.id"],
            name=op.f("fk_user_jobs_criteria_id_job_criteria"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_user_jobs_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_jobs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_jobs")),
        sa.UniqueConstraint("user_id", "job_id", name=op.f("uq_user_jobs_user_id_job_id")),
    )
    with op.batch_alter_table("user_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_jobs_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_jobs_job_id"))

    op.drop_table("user_jobs")
    op.drop_table("job_batch_items")
    with op.batch_alter_table("criteria_set_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_criteria_set_members_criteria_set_id"))

    op.drop_table("criteria_set_members")
    with op.batch_alter_table("job_criteria", schema=None) as batch_op:
        batch_op.drop_index("ix_job_criteria_active_user")

    op.drop_table("job_criteria")
    with op.batch_alter_table("job_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_batches_dagster_run_id"))
        batch_op.drop_index(batch_op.f("ix_job_batches_criteria_set_id"))

    op.drop_table("job_batches")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_last_active_at"))

    op.drop_table("users")
    op.drop_table("jobs")
    op.drop_table("ingestion_runs")
    op.drop_table("criteria_sets")
