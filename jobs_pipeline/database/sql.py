"""SQL expressions that PostgreSQL and SQLite spell differently."""

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from jobs_pipeline.database.types import UtcDateTime


class days_before(FunctionElement):  # noqa: N801 (named like the SQL functions it stands for)
    """A timestamp minus a number of days taken from a column, computed by the database."""

    type = UtcDateTime()
    inherit_cache = True
    name = "days_before"

    def __init__(self, moment: Any, days: Any) -> None:
        super().__init__(moment, days)


@compiles(days_before, "postgresql")
def _days_before_postgresql(element: days_before, compiler: Any, **kw: Any) -> str:
    moment, days = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({moment} - make_interval(days => {days}))"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: Any, **kw: Any) -> str:
    moment, days = (compiler.process(clause, **kw) for clause in element.clauses)
    # SQLite keeps UTC timestamps as text, which datetime() shifts and returns as text.
    return f"datetime({moment}, '-' || {days} || ' days')"
