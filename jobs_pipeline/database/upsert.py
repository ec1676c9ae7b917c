"""Dialect upserts: `INSERT … ON CONFLICT` for PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(connection: sa.Connection, model: type) -> postgresql.Insert | sqlite.Insert:
    """Return the dialect's INSERT construct, which supports ON CONFLICT."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(
        f"database dialect {name!r} is not supported: use PostgreSQL or SQLite"
    )


def insert_ignore(
    connection: sa.Connection, model: type, conflict_columns: Sequence[str]
) -> sa.Insert:
    """Return an INSERT that skips rows conflicting on the given unique columns."""
    return dialect_insert(connection, model).on_conflict_do_nothing(
        index_elements=list(conflict_columns)
    )


def upsert(
    connection: sa.Connection,
    model: type,
    conflict_columns: Sequence[str],
    update_columns: Sequence[str],
) -> sa.Insert:
    """Return an INSERT that updates the given columns of rows conflicting on the unique ones."""
    statement = dialect_insert(connection, model)
    return statement.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_={name: statement.excluded[name] for name in update_columns},
    )
