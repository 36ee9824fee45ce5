"""Window lengths ("1 day", "6 hours") and half-open windows [start, end) aligned to UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]+?)s?\s*$")
_EPOCH = datetime(1970, 1, 1)


def parse_duration(text: str) -> timedelta:
    """Parse '1 day', '6 hours', '15 minutes'; months are not fixed-length, so not accepted."""
    match = _DURATION.match(text.lower())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(
            f"window '{text}' is not '<n> <unit>' with unit in {', '.join(_UNITS)}"
        )
    try:
        length = int(match.group(1)) * _UNITS[match.group(2)]
    except OverflowError:
        raise ValueError(f"window '{text}' is too long") from None
    if length <= timedelta(0):
        raise ValueError(f"window '{text}' must be longer than zero")
    return length


def parse_instant(value: str | date | datetime) -> datetime:
    """A naive UTC datetime from an ISO string, a date or a (possibly aware) datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    elif not isinstance(value, date):
        raise ValueError(f"{value!r} is not an ISO date or timestamp")
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True, order=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} is not after its start {self.start}")

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def align_down(instant: datetime, length: timedelta) -> datetime:
    """The start of the epoch-aligned window of this length that contains the instant."""
    return _EPOCH + ((instant - _EPOCH) // length) * length


def split(start: datetime, end: datetime, length: timedelta) -> list[Window]:
    """Consecutive windows of `length` covering [start, end); the last may be shorter."""
    if end <= start:
        raise ValueError(f"range end {end} is not after its start {start}")
    windows, cursor = [], start
    while cursor < end:
        windows.append(Window(cursor, min(cursor + length, end)))
        cursor += length
    return windows
