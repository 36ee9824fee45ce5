"""Defaults shared by the config and the statistics, importable without numpy or Spark."""

# The pseudo-count added to every histogram bin; see kl_udfs/core/stats/smoothing.py for why.
DEFAULT_PSEUDO_COUNT = 0.5
