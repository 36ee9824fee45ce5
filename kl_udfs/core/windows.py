"""Window lengths ("1 day", "6 hours", "1 month", "1 quarter") and half-open windows
[start, end) aligned to UTC.

Fixed lengths are aligned to midnight UTC of Monday 1970-01-05, so a week starts on Monday as
its cron's runs do (every length that divides a day aligns the same from any midnight);
calendar lengths (months, quarters, years) start on the first of a month at midnight UTC, a
quarter on January, April, July or October 1st."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
CALENDAR_UNITS = {"month": 1, "quarter": 3, "year": 12}  # in months
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]+?)s?\s*$")
_EPOCH = datetime(1970, 1, 1)
# The first Monday after the epoch: fixed windows count from here (ISO weeks, cron's `* * 1`).
_ANCHOR = datetime(1970, 1, 5)


def parse_duration(text: str) -> timedelta:
    """Parse '1 day', '6 hours', '15 minutes': fixed lengths only (see `parse_cadence`)."""
    match = _DURATION.match(text.lower())
    if not match or match.group(2) not in UNITS:
        raise ValueError(
            f"window '{text}' is not '<n> <unit>' with unit in "
            f"{', '.join([*UNITS, *CALENDAR_UNITS])}"
        )
    try:
        length = int(match.group(1)) * UNITS[match.group(2)]
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
    """The start of the aligned window of this length that contains the instant."""
    return _ANCHOR + ((instant - _ANCHOR) // length) * length


def split(start: datetime, end: datetime, length: timedelta) -> list[Window]:
    """Consecutive windows of `length` covering [start, end); the last may be shorter."""
    if end <= start:
        raise ValueError(f"range end {end} is not after its start {start}")
    windows, cursor = [], start
    while cursor < end:
        windows.append(Window(cursor, min(cursor + length, end)))
        cursor += length
    return windows


def _months_since_epoch(instant: datetime) -> int:
    return (instant.year - _EPOCH.year) * 12 + instant.month - 1


def _month_start(index: int) -> datetime:
    return datetime(_EPOCH.year + index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Cadence:
    """How long a monitor's windows are: a fixed length, or a number of calendar months."""

    fixed: timedelta | None = None
    months: int = 0

    def __post_init__(self) -> None:
        if (self.fixed is None) == (self.months == 0) or self.months < 0:
            raise ValueError("a cadence is either a fixed length or a number of months")

    @property
    def is_calendar(self) -> bool:
        return self.fixed is None

    def shift(self, instant: datetime, windows: int) -> datetime:
        """`instant` moved by `windows` window lengths (negative: back); for calendar windows,
        the instant must be the start of a month."""
        if self.fixed is not None:
            return instant + windows * self.fixed
        if instant != _month_start(_months_since_epoch(instant)):
            raise ValueError(f"{instant.isoformat()} is not the start of a month")
        return _month_start(_months_since_epoch(instant) + windows * self.months)

    def align_down(self, instant: datetime) -> datetime:
        """The start of the aligned window that contains the instant."""
        if self.fixed is not None:
            return align_down(instant, self.fixed)
        index = _months_since_epoch(instant)
        return _month_start(index - index % self.months)

    def ceil(self, instant: datetime) -> datetime:
        """The first aligned window start at or after the instant."""
        floor = self.align_down(instant)
        return floor if floor == instant else self.shift(floor, 1)

    def split(self, start: datetime, end: datetime) -> list[Window]:
        """Consecutive windows covering [start, end); the last may be shorter. Calendar
        windows start at the aligned window holding `start`, each a whole calendar span."""
        if self.fixed is not None:
            return split(start, end, self.fixed)
        if end <= start:
            raise ValueError(f"range end {end} is not after its start {start}")
        windows, cursor = [], self.align_down(start)
        if cursor != start:
            raise ValueError(f"{start.isoformat()} is not the start of a "
                             f"{self.months}-month window (next: "
                             f"{self.shift(cursor, 1).isoformat()})")
        while cursor < end:
            following = self.shift(cursor, 1)
            windows.append(Window(cursor, min(following, end)))
            cursor = following
        return windows

    def pending(self, computed_until: datetime | None, now: datetime, first_start: datetime,
                catchup: bool) -> Window | None:
        """The range of complete windows not computed yet at `now`, None if there is none.

        It starts where the computed windows end; before any, at the first window from
        `first_start` (the baseline's end) with `catchup`, else at the latest complete window:
        the rule of a window-scheduled DAG, applied when a source event arrives instead."""
        end = self.align_down(now)
        first = self.ceil(first_start)
        if computed_until is not None:
            start = self.ceil(computed_until)
        else:
            start = first if catchup else self.shift(end, -1)
        start = max(start, first)
        return Window(start, end) if start < end else None

    def nominal_seconds(self) -> int:
        """The length in seconds: exact when fixed, the mean Gregorian month's otherwise."""
        if self.fixed is not None:
            return int(self.fixed.total_seconds())
        return round(self.months * 365.2425 * 86_400 / 12)

    def cron(self) -> str:
        """The cron whose consecutive ticks are these windows (UTC, aligned)."""
        if self.fixed is None:
            if 12 % self.months:
                raise ValueError(f"{self.months} months do not divide a year evenly")
            return "0 0 1 * *" if self.months == 1 else f"0 0 1 */{self.months} *"
        minutes = int(self.fixed.total_seconds() // 60)
        if self.fixed != timedelta(minutes=minutes) or minutes <= 0:
            raise ValueError(f"window {self.fixed} is not a whole number of minutes")
        if minutes < 60 and 60 % minutes == 0:
            return f"*/{minutes} * * * *" if minutes > 1 else "* * * * *"
        if minutes % 60 == 0 and minutes < 24 * 60 and (24 * 60) % minutes == 0:
            hours = minutes // 60
            return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
        if minutes == 24 * 60:
            return "0 0 * * *"
        if minutes == 7 * 24 * 60:
            return "0 0 * * 1"
        raise ValueError(f"window {self.fixed} does not divide an hour, a day or a week evenly")


def parse_cadence(text: str) -> Cadence:
    """'1 day', '6 hours' (fixed) or '1 month', '1 quarter', '2 months', '1 year' (calendar)."""
    match = _DURATION.match(text.lower())
    if match and match.group(2) in CALENDAR_UNITS:
        months = int(match.group(1)) * CALENDAR_UNITS[match.group(2)]
        if months <= 0:
            raise ValueError(f"window '{text}' must be longer than zero")
        if 12 % months:  # else windows could not all start on the same months of every year
            raise ValueError(f"window '{text}' does not divide a year into whole windows")
        return Cadence(months=months)
    return Cadence(fixed=parse_duration(text))
