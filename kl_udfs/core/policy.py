"""A monitor's verdict policy, resolved from its config: light enough for a DAG file to import.

The rule that applies it is `kl_udfs.core.verdict` (numpy/pandas).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from kl_udfs.core import contract

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CORRECTIONS = ("bh", "none")
Seasonality = Literal["none", "weekday", "hour_of_day"]
LEARNED = "learned"


@dataclass(frozen=True)
class Learning:
    warmup: int = 14
    history: int = 60
    level_windows: int = 7
    spread: float = 5.0
    seasonality: Seasonality = "none"
    rules: tuple[str, ...] = ("psi", "kl", "kl_reverse", "js")  # divergences; shares stay fixed

    def slot(self, starts: pd.Series) -> np.ndarray:
        import numpy as np  # here, not at import: DAG files import this module
        import pandas as pd

        stamps = pd.to_datetime(starts)
        if self.seasonality == "weekday":
            return stamps.dt.weekday.to_numpy()
        if self.seasonality == "hour_of_day":
            return stamps.dt.hour.to_numpy()
        return np.zeros(len(stamps), dtype=np.int64)

    def windows_back(self) -> int:
        """How many earlier windows the history must reach back to fill every slot."""
        per_slot = {"none": 1, "weekday": 7, "hour_of_day": 24}[self.seasonality]
        return (self.history + 1) * per_slot * 2  # x2: not every window is ok


@dataclass(frozen=True)
class VolumeSettings:
    """A monitor's volume verdict settings, resolved (applied by kl_udfs.core.volume)."""

    history_windows: int = 28
    min_history: int = 8
    seasonality: Seasonality = "none"


@dataclass(frozen=True)
class Policy:
    """The thresholds of one monitor, resolved: rule -> (threshold or None, source).

    `columns` overrides the monitor-wide values per column name (rules and min_rows).
    """

    thresholds: Mapping[str, tuple[float | None, str]]
    fdr: float = contract.DEFAULT_FDR
    correction: str = "bh"
    min_rows: int = contract.DEFAULT_MIN_ROWS
    columns: Mapping[str, Mapping[str, tuple[float | None, str]]] = field(default_factory=dict)
    column_min_rows: Mapping[str, int] = field(default_factory=dict)
    learning: Learning | None = None

    @classmethod
    def defaults(cls, **changes: object) -> Policy:
        base = {r.name: (r.default_threshold, "default") for r in contract.RULES}
        return cls(thresholds=base, **changes)  # type: ignore[arg-type]

    def threshold(self, rule: str, column: str) -> tuple[float | None, str]:
        override = self.columns.get(column, {})
        return override[rule] if rule in override else self.thresholds[rule]


def describe_rules(policy: Policy) -> str:
    """The monitor-wide rules in one line, e.g. for a DAG's documentation."""
    active = [f"{name} >= {value:g}" for name, (value, _) in policy.thresholds.items()
              if value is not None]
    return (f"{', '.join(active)}; significant at FDR {policy.fdr:g} "
            f"({'Benjamini-Hochberg' if policy.correction == 'bh' else 'no correction'}); "
            f"at least {policy.min_rows} rows"
            + (f"; divergence thresholds learnt after {policy.learning.warmup} ok windows "
               f"(seasonality {policy.learning.seasonality})" if policy.learning else ""))


