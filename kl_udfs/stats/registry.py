"""What each drift metric means: where to read it, which way is bad, default alert level."""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Direction = Literal["higher_is_drift", "lower_is_drift"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric. ``column`` is the ``Comparison`` attribute (and result column) holding it.

    ``default_threshold`` is None for metrics reported but not alerted on by default.
    """

    name: str
    column: str
    direction: Direction
    default_threshold: float | None
    description: str

    def is_drift(
        self, values: npt.ArrayLike, threshold: float | None = None
    ) -> npt.NDArray[np.bool_]:
        """Elementwise: does ``values`` cross ``threshold`` (default: the metric's own)?"""
        t = self.default_threshold if threshold is None else threshold
        if t is None:
            raise ValueError(f"metric {self.name!r} has no default threshold; pass one")
        v = np.asarray(values, dtype=np.float64)
        return v > t if self.direction == "higher_is_drift" else v < t


_SPECS = (
    MetricSpec(
        "kl_divergence",
        "kl_divergence",
        "higher_is_drift",
        0.1,
        "KL(baseline || current) in nats on smoothed distributions; unbounded.",
    ),
    MetricSpec(
        "kl_reverse",
        "kl_reverse",
        "higher_is_drift",
        None,
        "KL(current || baseline) in nats; large when the current window fills bins that were "
        "rare in the baseline (new categories).",
    ),
    MetricSpec(
        "js_divergence",
        "js_divergence",
        "higher_is_drift",
        0.1,
        "Jensen-Shannon divergence, base 2, in [0, 1]; symmetric and bounded.",
    ),
    MetricSpec(
        "psi",
        "psi",
        "higher_is_drift",
        0.2,
        "Population stability index = KL both ways; 0.1-0.2 moderate, > 0.2 major shift.",
    ),
    MetricSpec(
        "p_value",
        "p_value",
        "lower_is_drift",
        0.01,
        "G-test p-value on raw counts; tiny on large windows even for negligible shifts, "
        "so pair it with an effect size.",
    ),
)

METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}
