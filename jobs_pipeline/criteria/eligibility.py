"""Eligible criteria: active criteria of recently active candidates, keyed into criteria sets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import TypeVar

import sqlalchemy as sa
from dagster import get_dagster_logger

from jobs_pipeline.criteria.normalize import (
    SEARCH_COLUMNS,
    InvalidCriteriaError,
    canonicalize_row,
    set_key_of,
)
from jobs_pipeline.database.models import CriteriaSet, CriteriaSetMember, JobCriteria, User
from jobs_pipeline.database.upsert import insert_ignore, upsert
from jobs_pipeline.summaries import RejectedCriteria

KEYING_CHUNK_SIZE = 1000
MAX_REJECTED_REPORTED = 50

T = TypeVar("T")


def eligible_criteria_filter(activity_cutoff: datetime) -> sa.ColumnElement[bool]:
    """Return the condition for an eligible criteria row (join `users` on `job_criteria`)."""
    return sa.and_(JobCriteria.is_active.is_(True), User.last_active_at >= activity_cutoff)


def eligible_criteria_rows(activity_cutoff: datetime) -> sa.Select:
    """Select the id and search columns of eligible criteria, outer-joined to their membership."""
    return (
        sa.select(JobCriteria.id, *(getattr(JobCriteria, name) for name in SEARCH_COLUMNS))
        .join(User, User.id == JobCriteria.user_id)
        .outerjoin(CriteriaSetMember, CriteriaSetMember.criteria_id == JobCriteria.id)
        .where(eligible_criteria_filter(activity_cutoff))
    )


def key_eligible_criteria(
    engine: sa.Engine, *, activity_cutoff: datetime, now: datetime
) -> tuple[int, list[RejectedCriteria]]:
    """Assign every eligible criteria that is new or changed to its criteria set.

    Only criteria without a membership or updated since they were keyed are read, so a run
    over an unchanged population does almost no work. Returns the number keyed and the rows
    rejected as unsearchable; a rejected row loses its old membership so it is never linked.
    """
    log = get_dagster_logger()
    stale = (
        eligible_criteria_rows(activity_cutoff)
        .where(
            sa.or_(
                CriteriaSetMember.criteria_id.is_(None),
                JobCriteria.updated_at > CriteriaSetMember.keyed_at,
            )
        )
        .order_by(JobCriteria.id)
    )
    keyed = 0
    rejected: list[RejectedCriteria] = []
    last_id = 0
    # Keyset pages in short transactions: no cursor stays open while the members are written,
    # which SQLite's single writer could not allow.
    while True:
        with engine.connect() as reader:
            page = reader.execute(
                stale.where(JobCriteria.id > last_id).limit(KEYING_CHUNK_SIZE)
            ).all()
        if not page:
            break
        last_id = page[-1].id
        members: list[tuple[int, str, str, dict]] = []
        for row in page:
            try:
                canonical = canonicalize_row(row)
            except InvalidCriteriaError as error:
                rejected.append(RejectedCriteria(row.id, str(error)))
                if len(rejected) <= MAX_REJECTED_REPORTED:
                    log.warning("Skipping criteria %d: %s", row.id, error)
                continue
            key_fields = canonical.key_fields()
            members.append((row.id, set_key_of(key_fields), canonical.source, key_fields))
        keyed += _store_members(engine, members, now)
    if len(rejected) > MAX_REJECTED_REPORTED:
        log.warning(
            "Skipping %d more unsearchable criteria; the criteria_rejected count has them all",
            len(rejected) - MAX_REJECTED_REPORTED,
        )
    if rejected:
        _forget_members(engine, [r.criteria_id for r in rejected])
    return keyed, rejected


def count_eligible(engine: sa.Engine, activity_cutoff: datetime) -> tuple[int, int]:
    """Return the number of eligible keyed criteria and of distinct criteria sets among them."""
    query = (
        sa.select(
            sa.func.count(CriteriaSetMember.criteria_id),
            sa.func.count(sa.distinct(CriteriaSetMember.criteria_set_id)),
        )
        .select_from(CriteriaSetMember)
        .join(JobCriteria, JobCriteria.id == CriteriaSetMember.criteria_id)
        .join(User, User.id == JobCriteria.user_id)
        .where(eligible_criteria_filter(activity_cutoff))
    )
    with engine.connect() as connection:
        criteria, sets = connection.execute(query).one()
    return int(criteria), int(sets)


def _store_members(
    engine: sa.Engine, members: list[tuple[int, str, str, dict]], now: datetime
) -> int:
    if not members:
        return 0
    new_sets = {
        set_key: {"set_key": set_key, "source": source, "canonical": canonical, "created_at": now}
        for _, set_key, source, canonical in members
    }
    with engine.begin() as connection:
        # One multi-row statement per chunk: an executemany of ON CONFLICT inserts runs one
        # statement per row through psycopg2.
        connection.execute(
            insert_ignore(connection, CriteriaSet, ["set_key"]).values(list(new_sets.values()))
        )
        set_ids = dict(
            connection.execute(
                sa.select(CriteriaSet.set_key, CriteriaSet.id).where(
                    CriteriaSet.set_key.in_(list(new_sets))
                )
            ).all()
        )
        connection.execute(
            upsert(
                connection, CriteriaSetMember, ["criteria_id"], ["criteria_set_id", "keyed_at"]
            ).values(
                [
                    {"criteria_id": criteria_id, "criteria_set_id": set_ids[key], "keyed_at": now}
                    for criteria_id, key, _, _ in members
                ]
            )
        )
    return len(members)


def _forget_members(engine: sa.Engine, criteria_ids: list[int]) -> None:
    with engine.begin() as connection:
        for chunk in _chunks(criteria_ids, KEYING_CHUNK_SIZE):
            connection.execute(
                sa.delete(CriteriaSetMember).where(CriteriaSetMember.criteria_id.in_(chunk))
            )


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
