"""Reading and writing baselines in the `baselines` monitoring table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pyspark.sql import SparkSession

from kl_udfs.core.bins import ColumnBins
from kl_udfs.core.config import Config, Monitor
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.stats.moments import from_sums
from kl_udfs.lake.slices import Monitoring, Scan, equals, naive_utc
from kl_udfs.spark.baseline import BaselineSource, ColumnCounts
from kl_udfs.spark.columns import ColumnChoice
from kl_udfs.spark.tables import BASELINES, merge


@dataclass(frozen=True)
class StoredBaseline:
    baseline_id: str
    bins: list[ColumnBins]  # the binned columns, in column_idx order
    counts: list[list[int]]
    moment_sums: list[list[float] | None]  # per column (kl_udfs.core.stats.moments), if any
    previous_windows: int | None
    source: str
    skipped: tuple[str, ...] = ()  # columns it saw but could not bin (unsupported types)


def save_baseline(spark: SparkSession, config: Config, monitor: Monitor, baseline_id: str,
                  source: BaselineSource, choices: Sequence[ColumnChoice],
                  bins: Sequence[ColumnBins], counts: Sequence[ColumnCounts], run_id: str,
                  created_at: datetime) -> int:
    """MERGE the baseline's rows; returns the conflicts retried."""
    by_name = {b.name: (i, b, counts[i]) for i, b in enumerate(bins)}
    rows = []
    for choice in choices:
        common: dict[str, object] = {
            "monitor": monitor.name, "baseline_id": baseline_id, "column_name": choice.name,
            "source_type": choice.source_type, "source": source.description,
            "table_name": monitor.table, "table_version": source.version,
            "range_start": source.start, "range_end": source.end,
            "previous_windows": source.previous_windows,
            "window_length_s": monitor.cadence.nominal_seconds(),
            "created_at": created_at, "run_id": run_id,
        }
        if choice.name not in by_name:
            rows.append({**common, "column_kind": None, "skipped_reason": choice.skipped_reason})
            continue
        idx, b, c = by_name[choice.name]
        rows.append({
            **common, "column_idx": idx, "column_kind": b.kind, "bins_json": b.to_json(),
            "edges": list(b.edges), "categories": list(b.categories), "bin_labels": b.labels(),
            "counts": c.counts, "count": c.count, "null_count": c.null_count,
            "min": c.min, "max": c.max, "moment_sums": c.moment_sums,
            **_mean_std(b, c.moment_sums),
        })
    df = spark.createDataFrame(
        [{f: r.get(f) for f in BASELINES.schema.fieldNames()} for r in rows], BASELINES.schema)
    return merge(spark, config.monitoring.path, BASELINES, df, {"monitor": [monitor.name]})


def _mean_std(bins: ColumnBins, sums: Sequence[float] | None) -> dict[str, float | None]:
    if sums is None or bins.center is None or bins.scale is None:
        return {"mean": None, "std": None}
    moments = from_sums(sums, bins.center, bins.scale)
    return {name: float(v) if np.isfinite(v := getattr(moments, name)) else None
            for name in ("mean", "std")}


def load_baseline(config: Config, monitor: Monitor,
                  baseline_id: str | None = None) -> StoredBaseline:
    """The given baseline, else the monitor's most recently built one: a small read of the
    monitor's `baselines` rows, without a Spark job."""
    where = (equals("monitor", monitor.name),
             *((equals("baseline_id", baseline_id),) if baseline_id is not None else ()))
    found = Monitoring.of(config).read(Scan(BASELINES.name, tuple(BASELINES.schema.names),
                                            where)).to_pylist()
    if baseline_id is None and found:  # the newest build, skipped-only columns included
        newest = max(found, key=lambda r: (naive_utc(r["created_at"]) if r["created_at"]
                                           else datetime.min, r["baseline_id"]))
        found = [r for r in found if r["baseline_id"] == newest["baseline_id"]]
    rows = sorted((r for r in found if r["column_idx"] is not None),
                  key=lambda r: r["column_idx"])
    if not rows:
        if baseline_id is None:
            raise KlDriftError("no baseline yet: run 'kldrift baseline' for this monitor first",
                               monitor=monitor.name, table=monitor.table)
        raise KlDriftError(f"baseline '{baseline_id}' not found", monitor=monitor.name,
                           table=monitor.table)
    return StoredBaseline(
        baseline_id=str(rows[0]["baseline_id"]),
        bins=[ColumnBins.from_json(r["bins_json"]) for r in rows],
        counts=[list(r["counts"]) for r in rows],
        moment_sums=[list(r["moment_sums"]) if r["moment_sums"] is not None else None
                     for r in rows],
        previous_windows=rows[0]["previous_windows"],
        source=rows[0]["source"],
        skipped=tuple(r["column_name"] for r in found if r["column_idx"] is None),
    )
