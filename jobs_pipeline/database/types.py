"""Column types and defaults that behave the same on PostgreSQL and SQLite."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp, also on SQLite, which stores no offset."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC datetime")
        if dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class utc_now(FunctionElement):  # noqa: N801 (named like the SQL function it stands for)
    """The current UTC time as a server default, in the same text form as bound values.

    SQLite stores timestamps as text and compares them as text. SQLAlchemy writes bound values
    with six fractional digits, but CURRENT_TIMESTAMP has none, so the two would not compare
    equal or in order within one second.
    """

    type = UtcDateTime()
    inherit_cache = True
    name = "utc_now"


@compiles(utc_now, "postgresql")
def _utc_now_postgresql(element: utc_now, compiler: Any, **kw: Any) -> str:
    return "now()"


@compiles(utc_now, "sqlite")
def _utc_now_sqlite(element: utc_now, compiler: Any, **kw: Any) -> str:
    # %f is seconds with three decimals; three zeros make the six that SQLAlchemy writes.
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
