"""`kldrift sql`: one query against the registered monitoring tables in a local session."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.output import format_table
from kl_udfs.spark.tables import ensure_tables
from kl_udfs.sql.queries import check_monitoring_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def register(spark: SparkSession, root: str, database: str) -> None:
    check_monitoring_path(root)
    ensure_tables(spark, root, database, for_sql=True)  # empty tables for any not written yet


def run_sql(spark: SparkSession, root: str, database: str, text: str,
            limit: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
    """Headers, up to `limit` rows, and whether more rows were left out."""
    from pyspark.errors import PySparkException
    from pyspark.logger import PySparkLogger

    register(spark, root, database)
    # PySpark logs a failed query's context as a JSON line; the one-line error below says it.
    PySparkLogger.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    statements = [s for s in (part.strip() for part in _split(text)) if s]
    if len(statements) != 1:
        raise KlDriftError(f"kldrift sql runs exactly one statement, got {len(statements)}")
    try:
        frame = spark.sql(statements[0])
        rows = frame.limit(limit + 1).collect()
    except PySparkException as error:
        first = (str(error).strip().splitlines() or [repr(error)])[0]
        raise KlDriftError(f"query failed: {first}") from None
    return frame.columns, [tuple(r) for r in rows[:limit]], len(rows) > limit


def _split(text: str) -> list[str]:
    """Statements separated by `;` outside quotes and comments."""
    parts, current, quote, i = [], [], "", 0
    while i < len(text):
        char = text[i]
        if quote:
            current.append(char)
            if char == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif char == quote:
                quote = ""
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif char in "'\"`":
            quote = char
            current.append(char)
        elif char == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def render(headers: list[str], rows: list[tuple[Any, ...]], truncated: bool,
           width: int = 60) -> str:
    def cell(value: Any) -> Any:
        text = value if not isinstance(value, list | tuple | dict) else str(value)
        if isinstance(text, str) and len(text) > width:
            return text[:width - 1] + "…"
        return text

    table = format_table(headers, [[cell(v) for v in row] for row in rows])
    footer = f"({len(rows)} row{'s' if len(rows) != 1 else ''}"
    footer += ", more left out: raise --limit)" if truncated else ")"
    return f"{table}\n{footer}"
