"""The contenders that run in the benchmark's Spark session, on the same Delta table.

Each takes the same `Setup` (the table, kl-drift's stored baseline) and returns the KL it
computed per column, or None when it computes none (the floor). KL here is kl-drift's
definition unless a contender says otherwise: KL(reference || window) in nats over the frozen
bins (null bin included), both sides smoothed with the monitor's pseudo-count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from scipy.stats import entropy

from bench.peers.data import REFERENCE_DAY, WINDOW_DAY, Dataset
from kl_udfs.core.bins import CATEGORICAL, ColumnBins
from kl_udfs.core.config import Config, load_config
from kl_udfs.core.windows import Window
from kl_udfs.jobs import runner
from kl_udfs.spark.histogram import window_histograms
from kl_udfs.spark.store import load_baseline
from kl_udfs.spark.tables import DRIFT_RESULTS, read_table

MONITOR = "bench"
WINDOW = Window(WINDOW_DAY, WINDOW_DAY + (WINDOW_DAY - REFERENCE_DAY))
KL = dict[str, float]

CONFIG = """
monitoring:
  path: {work}/monitoring
monitors:
  - name: {monitor}
    table: {table}
    timestamp_column: event_time
    window: 1 day
    baseline: {{start: {start}, end: {end}}}
    bins: 20
    top_k: 50
"""


@dataclass
class Setup:
    spark: SparkSession
    data: Dataset
    config: Config
    bins: list[ColumnBins]
    reference: list[np.ndarray]  # the stored baseline counts, per column

    @property
    def pseudo_count(self) -> float:
        return self.config.monitor(MONITOR).smoothing

    def window(self) -> DataFrame:
        df = self.spark.read.format("delta").load(str(self.data.delta))
        return df.where((F.col("event_time") >= F.lit(WINDOW.start))
                        & (F.col("event_time") < F.lit(WINDOW.end)))

    def smoothed_kl(self, column: int, window_counts: np.ndarray) -> float:
        """KL(reference || window) as kl-drift defines it, by scipy (an independent oracle)."""
        a = self.pseudo_count
        p, q = self.reference[column] + a, window_counts + a
        return float(entropy(p / p.sum(), q / q.sum()))


def prepare(spark: SparkSession, data: Dataset, work: Path) -> Setup:
    """A monitors config for the table and its baseline, built once by kl-drift itself."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "monitors.yaml"
    path.write_text(CONFIG.format(work=work, monitor=MONITOR, table=data.delta,
                                  start=REFERENCE_DAY.date(), end=WINDOW_DAY.date()))
    config = load_config(path)
    runner.build_baseline(spark, config, MONITOR)
    stored = load_baseline(config, config.monitor(MONITOR))
    return Setup(spark, data, config, stored.bins,
                 [np.asarray(c, dtype=np.float64) for c in stored.counts])


def floor(setup: Setup) -> KL | None:
    """Spark's own single aggregation over the window: scan and decode, nothing more."""
    columns = [b.name for b in setup.bins]
    setup.window().agg(*[f(F.col(c)) for c in columns for f in (F.count, F.min, F.max)]).collect()
    return None


def kldrift_pass(setup: Setup) -> KL | None:
    """kl-drift's one-pass histogram of every column over the window, counts only."""
    window_histograms(setup.window(), setup.bins, "event_time", None).collect()
    return None


def _naive_counts(df: DataFrame, column: ColumnBins) -> np.ndarray:
    """What a hand-written script does: one groupBy job for this column, binned on the driver."""
    counts = np.zeros(column.n_bins)
    if column.kind == CATEGORICAL:
        index = {c: i for i, c in enumerate(column.categories)}
        for row in df.groupBy(F.col(column.name).cast("string").alias("v")).count().collect():
            value = row["v"]
            slot = column.null_index if value is None else index.get(value, len(column.categories))
            counts[slot] += row["count"]
        return counts
    value = F.col(column.name).cast("double")
    edges = F.array(*[F.lit(e) for e in column.splits()[1:-1]])
    # bin = number of edges <= value (the open outer bins included); null and NaN to the null bin
    below = F.aggregate(edges, F.lit(0), lambda acc, e: acc + F.when(value >= e, 1).otherwise(0))
    binned = F.when(value.isNull() | F.isnan(value), F.lit(column.null_index)).otherwise(below)
    for row in df.groupBy(binned.alias("b")).count().collect():
        counts[row["b"]] += row["count"]
    return counts


def naive_pyspark(setup: Setup) -> KL:
    window = setup.window()
    return {b.name: setup.smoothed_kl(i, _naive_counts(window, b))
            for i, b in enumerate(setup.bins)}


def great_expectations(setup: Setup) -> KL:
    """GX's KL expectation for every column, in one validation, with kl-drift's bins.

    GX computes KL(window || reference) over non-null values with no smoothing: infinite when
    the window fills a bin the reference left empty. The harness compares it with kl-drift's
    counts under that definition, not with kl-drift's smoothed KL.
    """
    from great_expectations import expectations as gxe

    from kl_udfs.quality.gate import run_expectations

    expectations, names = [], []
    for i, b in enumerate(setup.bins):
        if b.is_temporal:
            continue  # GX bins numbers only; kl-drift bins timestamps as seconds
        reference = gx_counts(b, setup.reference[i])
        weights = [float(x) for x in reference / reference.sum()]
        partition: dict[str, list[Any]] = (
            {"values": list(b.categories), "weights": weights} if b.kind == CATEGORICAL
            else {"bins": b.splits(), "weights": weights})
        expectations.append(gxe.ExpectColumnKLDivergenceToBeLessThan(
            column=b.name, partition_object=partition, threshold=1e9))
        names.append(b.name)
    results = run_expectations(setup.window(), expectations)
    # GX reports an infinite KL as None
    return {name: _infinite_if_none(r.result.get("observed_value"))
            for name, r in zip(names, results, strict=True)}


def gx_counts(bins: ColumnBins, counts: np.ndarray) -> np.ndarray:
    """The counts of the bins GX knows: non-null; for categories only the listed values (GX
    has no "other" or "unseen" and wants weights summing to 1 over its values)."""
    roles = np.asarray(bins.roles())
    return counts[roles == "value"] if bins.kind == CATEGORICAL else counts[roles != "null"]


def _infinite_if_none(value: Any) -> float:
    return float("inf") if value is None else float(value)


def kldrift_window(setup: Setup) -> KL:
    """The drift job as the DAG runs it: one-pass histogram, KL by pandas UDF, MERGE."""
    runner.compute_windows(setup.spark, setup.config, MONITOR, [WINDOW])
    rows = read_table(setup.spark, setup.config.monitoring.path, DRIFT_RESULTS).where(
        (F.col("monitor") == MONITOR) & (F.col("window_start") == WINDOW.start)).collect()
    return {r["column_name"]: float(r["kl_divergence"]) for r in rows}


def kldrift_baseline(setup: Setup) -> KL | None:
    """The baseline build: quantile edges, top-K, counts, stored (reference day)."""
    runner.build_baseline(setup.spark, setup.config, MONITOR)
    return None


CONTENDERS: dict[str, Callable[[Setup], KL | None]] = {
    "floor": floor,
    "kl-drift pass": kldrift_pass,
    "naive PySpark": naive_pyspark,
    "Great Expectations": great_expectations,
    "kl-drift window": kldrift_window,
    "kl-drift baseline": kldrift_baseline,
}
