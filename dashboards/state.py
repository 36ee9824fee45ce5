"""What a page shows, as a URL query string: every view can be shared as a link."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from dashboards.queries import TimeRange

WINDOW_CHOICES = (14, 30, 60, 90)
DEFAULT_WINDOWS = 30


@dataclass(frozen=True)
class ViewState:
    monitor: str | None = None  # None: every monitor
    column: str | None = None  # with a monitor: the column drill-down
    start: date | None = None  # window starts from this day ...
    end: date | None = None  # ... to this day, inclusive
    window: datetime | None = None  # drill-down: the window shown (default: the latest)
    windows: int = DEFAULT_WINDOWS  # overview: how many latest windows per monitor

    @property
    def is_column(self) -> bool:
        return self.monitor is not None and self.column is not None

    @property
    def time_range(self) -> TimeRange:
        return TimeRange(self.start, self.end)

    def to_query(self) -> str:
        params: dict[str, str] = {}
        if self.monitor:
            params["monitor"] = self.monitor
        if self.monitor and self.column:
            params["column"] = self.column
        if self.start:
            params["start"] = self.start.isoformat()
        if self.end:
            params["end"] = self.end.isoformat()
        if self.window and self.is_column:
            params["window"] = self.window.isoformat(timespec="minutes")
        if self.windows != DEFAULT_WINDOWS:
            params["windows"] = str(self.windows)
        return "?" + urlencode(params) if params else ""

    def href(self, **changes: Any) -> str:
        return "/" + replace(self, **changes).to_query()

    @classmethod
    def from_query(cls, search: str | None) -> ViewState:
        """Parse a query string; a malformed value is ignored, not an error page."""
        raw = parse_qs((search or "").lstrip("?"))

        def first(name: str) -> str | None:
            values = raw.get(name)
            return values[0].strip() or None if values else None

        windows = first("windows")
        return cls(
            monitor=first("monitor"),
            column=first("column") if first("monitor") else None,
            start=_parse(date.fromisoformat, first("start")),
            end=_parse(date.fromisoformat, first("end")),
            window=_parse(_naive_instant, first("window")),
            windows=int(windows) if windows and windows.isdigit() and int(windows) > 0
            else DEFAULT_WINDOWS,
        )


def _naive_instant(text: str) -> datetime:
    """Window starts are compared as naive UTC, like the tables' timestamps."""
    value = datetime.fromisoformat(text)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _parse(parse: Any, text: str | None) -> Any:
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError:
        return None
