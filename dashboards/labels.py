"""Plain-language labels for bins, shares and windows (pure functions, no Dash).

Bin labels are the ones `kl_udfs.core.bins.ColumnBins.labels` writes. Numeric bins are intervals:
with the baseline's range, "(-inf, low)" (below it), "[low, e1)", ..., "[em, high]",
"(high, +inf)" (above it); baselines without a range have "(-inf, e1)", ..., "[em, +inf)".
Categorical bins are the category itself, then "<other>" (and "<unseen>"). Both kinds end with
"<null>".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from kl_udfs.core.bins import NULL_LABEL, OTHER_LABEL, UNSEEN_LABEL

_INTERVAL = re.compile(r"^(?P<open>[\[(])(?P<low>.+), (?P<high>.+)(?P<close>[\])])$")


@dataclass(frozen=True)
class Interval:
    low: str | None  # None: open towards -inf
    high: str | None  # None: open towards +inf
    low_closed: bool = True  # "[low": low itself is inside
    high_closed: bool = False  # "high]": high itself is inside

    def label(self) -> str:
        """The bin label this interval was parsed from."""
        opening = "[" if self.low_closed and self.low is not None else "("
        closing = "]" if self.high_closed and self.high is not None else ")"
        return f"{opening}{self.low or '-inf'}, {self.high or '+inf'}{closing}"


def parse_interval(label: str) -> Interval | None:
    """The bounds of a numeric bin label, or None when the label is not an interval."""
    match = _INTERVAL.match(label)
    if not match:
        return None
    low, high = match["low"], match["high"]
    return Interval(None if low == "-inf" else low, None if high == "+inf" else high,
                    low_closed=match["open"] == "[", high_closed=match["close"] == "]")


def _signs(interval: Interval) -> tuple[str, str]:
    """The comparisons of 'low ? value ? high': '≤' where the bound is inside the bin."""
    return ("≤" if interval.low_closed else "<"), ("≤" if interval.high_closed else "<")


def bin_phrase(column: str, label: str, kind: str | None) -> str:
    """'amount ≥ 250', '10 ≤ amount < 20', 'amount > 900', 'channel = online', 'x is null'."""
    if label == NULL_LABEL:
        return f"{column} is null"
    if label == OTHER_LABEL:
        return f"{column}: other values"
    if label == UNSEEN_LABEL:
        return f"{column}: values the baseline never saw"
    interval = parse_interval(label) if kind != "categorical" else None
    if interval is None:
        return f"{column} = {label}"
    low_sign, high_sign = _signs(interval)
    if interval.low is None and interval.high is None:
        return f"{column}: any value"
    if interval.low is None:
        return f"{column} {high_sign} {interval.high}"
    if interval.high is None:
        return f"{column} {'≥' if interval.low_closed else '>'} {interval.low}"
    return f"{interval.low} {low_sign} {column} {high_sign} {interval.high}"


def axis_label(label: str, kind: str | None) -> str:
    """A short tick label: '< 6.39', '6.39–9.21', '> 171.58', 'null', 'other', 'online'."""
    if label == NULL_LABEL:
        return "null"
    if label == OTHER_LABEL:
        return "other"
    if label == UNSEEN_LABEL:
        return "unseen"
    interval = parse_interval(label) if kind != "categorical" else None
    if interval is None:
        return label
    if interval.low is None:
        return "any" if interval.high is None else f"{_signs(interval)[1]} {interval.high}"
    if interval.high is None:
        return f"{'≥' if interval.low_closed else '>'} {interval.low}"
    return f"{interval.low}–{interval.high}"


def text(value: object) -> str:
    """A stored string, or '' for a missing one (None or NaN in pandas)."""
    return value if isinstance(value, str) else ""


def percent(share: float | None) -> str:
    """A share as a percentage with as many digits as a reader needs: 31%, 2.5%, 0.35%."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    value = 100 * share
    if value == 0:
        return "0%"
    if value >= 9.5:
        return f"{value:.0f}%"
    if value >= 0.95:
        return f"{value:.1f}%"
    if value >= 0.01:
        return f"{value:.2g}%"
    return "<0.01%"


def contributor_sentence(column: str, kind: str | None, contributor: Mapping[str, object]) -> str:
    """'amount ≥ 250: 12% → 31%' from one `top_contributors` entry."""
    phrase = bin_phrase(column, str(contributor["bin"]), kind)
    before = _share(contributor.get("baseline_fraction"))
    after = _share(contributor.get("current_fraction"))
    return f"{phrase}: {percent(before)} → {percent(after)}"


def _share(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def number(value: float | None, digits: int = 3) -> str:
    """Compact number for tables and hovers: 0.139, 1.2e-05, 2.5e+03; '–' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e4:
        return f"{value:.{digits}g}"
    return f"{value:.{max(digits - 1, 1)}e}"


def p_value(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return "< 1e-300" if value < 1e-300 else number(value, 2)


def window_label(start: datetime, end: datetime) -> str:
    """'2026-03-31' for a day, '2026-03-11 08:00–09:00' for an hour, a range otherwise."""
    length = end - start
    midnight = start.time() == datetime.min.time() and end.time() == datetime.min.time()
    if midnight and length == timedelta(days=1):
        return start.strftime("%Y-%m-%d")
    if midnight:
        return f"{start:%Y-%m-%d} – {end - timedelta(days=1):%Y-%m-%d}"
    if start.date() == end.date() or end == datetime.combine(start.date(), datetime.min.time()) \
            + timedelta(days=1):
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def instant(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")
