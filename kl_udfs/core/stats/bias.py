"""Plug-in divergences corrected for their chance level at small row counts.

For two samples of n and N rows from the same distribution over nu + 1 occupied bins, each
divergence D scaled by n_eff / s, with n_eff = nN / (n + N), is asymptotically chi-square
with nu degrees of freedom (s = 1 for PSI, 1/2 for either KL direction, 1/8 for JS in nats);
under a change it is non-central chi-square with non-centrality lambda = n_eff * D_true / s.
So E[D] = s (nu + lambda) / n_eff: the estimate subtracts the chance level s nu / n_eff, and
its standard error is s sqrt(2 nu + 4 lambda) / n_eff. At n = 50 and 20 bins the chance level
of PSI is 0.38, which is why an uncorrected PSI of 0.1 means nothing there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kl_udfs.core.stats.segments import FloatArray

PSI_SCALE = 1.0
KL_SCALE = 0.5
JS_BITS_SCALE = 1.0 / (8.0 * math.log(2.0))


@dataclass(frozen=True, eq=False)
class Corrected:
    value: FloatArray  # >= 0; nan where either side is empty
    sd: FloatArray


def effective_rows(n: npt.ArrayLike, big_n: npt.ArrayLike) -> FloatArray:
    """nN / (n + N): the sample size of a two-sample comparison (n when N is huge)."""
    a = np.asarray(n, dtype=np.float64)
    b = np.asarray(big_n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where((a > 0) & (b > 0), a * b / (a + b), np.nan)
    return out


def corrected_divergence(value: npt.ArrayLike, dof: npt.ArrayLike, n_eff: npt.ArrayLike,
                         scale: float) -> Corrected:
    """Bias-corrected divergence and its standard error under the non-central model."""
    d = np.asarray(value, dtype=np.float64)
    nu = np.asarray(dof, dtype=np.float64)
    m = np.asarray(n_eff, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        corrected = np.maximum(d - scale * nu / m, 0.0)
        lam = m * corrected / scale
        sd = scale * np.sqrt(2.0 * nu + 4.0 * lam) / m
    bad = ~np.isfinite(m) | ~np.isfinite(d)
    return Corrected(np.where(bad, np.nan, corrected), np.where(bad, np.nan, sd))
