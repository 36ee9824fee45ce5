"""Result tables for the terminal, as aligned text or as JSON for scripts (`--format`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from kl_udfs.core.errors import KlDriftError

FORMATS = ("table", "json")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def show(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    cells = [[show(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def format_json(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """One JSON array with an object per row, keyed by the table's headers.

    A header that appears twice (`SELECT a.x, b.x`) would silently lose a column to the
    other's key, so it is refused with the names to alias instead."""
    twice = sorted({h for h in headers if list(headers).count(h) > 1})
    if twice:
        raise KlDriftError(
            f"the query returns {', '.join(f'`{h}`' for h in twice)} more than once; a JSON "
            "object holds each name once: give every column its own name (AS ...)")
    objects = [dict(zip(headers, map(_plain, row), strict=True)) for row in rows]
    return json.dumps(objects, indent=2, ensure_ascii=False, allow_nan=False)


def _plain(value: Any) -> Any:
    """A cell as JSON: Spark structs (Rows) as objects, times as ISO 8601."""
    if hasattr(value, "asDict"):  # a pyspark Row, which is also a tuple
        return {key: _plain(item) for key, item in value.asDict().items()}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # JSON has no NaN or Infinity
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)  # Decimal, bytes: their text


def format_json_object(fields: dict[str, Any]) -> str:
    """One JSON object (a command's result with nested rows), cells as in format_json."""
    return json.dumps(_plain(fields), indent=2, ensure_ascii=False, allow_nan=False)


def duration(seconds: float) -> str:
    """A span as a person reads it: 42 s, 3 min 05 s, 2 h 07 min."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_note(done: int, total: int, elapsed: float, width: int = 0) -> str:
    """`[7/31] 23%, 1 min 05 s elapsed, about 3 min 40 s left`, with a bar of `width`
    characters in front when it is drawn in a terminal. The estimate assumes the remaining
    windows take as long as the finished ones did on average."""
    share = done / total if total else 1.0
    left = elapsed / done * (total - done) if done else None
    bar = ""
    if width:
        filled = round(share * width)
        bar = "[" + "#" * filled + "." * (width - filled) + "] "
    eta = "done" if done >= total else (
        f"about {duration(left)} left" if left is not None else "estimating")
    return f"{bar}[{done}/{total}] {share:.0%}, {duration(elapsed)} elapsed, {eta}"
