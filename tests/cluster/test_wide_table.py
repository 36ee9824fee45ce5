"""Bad input at scale, small: 200 columns and an all-distinct string column, on the cluster.

bench/cluster_scale.py runs the same shapes at 10^6 distinct values and prints the driver's
peak memory at two row counts; this only proves the path works on a real cluster.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.cluster import jobs
from tests.cluster.conftest import Cluster

pytestmark = pytest.mark.spark

ROWS_PER_DAY, NUMERIC, TOP_K = 4000, 198, 20
START = datetime(2026, 5, 1)


@pytest.fixture(scope="module")
def wide_lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.cluster_scale import write_wide_table

    root = tmp_path_factory.mktemp("wide-lake")
    write_wide_table(spark, root / "raw" / "wide", rows=2 * ROWS_PER_DAY, numeric=NUMERIC,
                     distinct=2 * ROWS_PER_DAY, start=START, days=2)
    (root / "monitors.yaml").write_text(f"""
monitoring: {{path: ./monitoring}}
monitors:
  - name: wide
    table: ./raw/wide
    timestamp_column: ts
    window: 1 day
    baseline: {{start: 2026-05-01, end: 2026-05-02}}
    bins: 10
    top_k: {TOP_K}
spark:
  conf:
    spark.cores.max: "1"
    spark.sql.shuffle.partitions: "4"
    spark.executor.extraJavaOptions: "{jobs.FAST_JVM}"
""")
    return root


def test_200_columns_and_an_all_distinct_string_on_the_cluster(  # type: ignore[no-untyped-def]
        spark, cluster: Cluster, wide_lake: Path) -> None:
    from pyspark.sql import functions as F

    from kl_udfs.core.bins import ColumnBins
    from kl_udfs.core.config import load_config
    from kl_udfs.spark.integrity import audit_windows
    from kl_udfs.spark.tables import BASELINES, PROFILES, read_table

    config = wide_lake / "monitors.yaml"
    jobs.kldrift(cluster, "baseline", "--config", config, "--monitor", "wide")
    jobs.kldrift(cluster, "run", "--config", config, "--monitor", "wide",
                 "--start", "2026-05-02", "--end", "2026-05-03")
    found = jobs.drift_rows(spark, wide_lake)
    assert len(found) == NUMERIC + 1  # every column but the timestamp
    assert {r["status"] for r in found.values()} <= {"ok", "drift"}
    assert all(r["current_count"] == ROWS_PER_DAY for r in found.values())
    audit = audit_windows(spark, load_config(config), "wide")
    assert len(audit.whole) == 1 and not audit.problems and not audit.pending
    # The key column: its top-K from the baseline day, <other>, then <unseen>: today's keys
    # are all new, and all but the seen filter's false positives (about 1.4%) land in <unseen>.
    key = read_table(spark, str(wide_lake / "monitoring"), PROFILES).where(
        F.col("column_name") == "key").first()
    assert key is not None and len(key["bin_labels"]) == TOP_K + 3  # + <other>, <unseen>, <null>
    frozen = read_table(spark, str(wide_lake / "monitoring"), BASELINES).where(
        F.col("column_name") == "key").first()
    assert frozen is not None
    bins = ColumnBins.from_json(frozen["bins_json"])
    today = [r["key"] for r in spark.read.format("delta").load(str(wide_lake / "raw" / "wide"))
             .where(F.col("ts") >= F.lit(datetime(2026, 5, 2))).select("key").collect()]
    assert key["counts"] == np.bincount(bins.assign(today), minlength=bins.n_bins).tolist()
    assert key["counts"][TOP_K + 1] >= 0.97 * ROWS_PER_DAY
