"""whylogs' PySpark profiler and drift report on the same Parquet (its own virtualenv).

Reads a JSON spec on stdin: {"reference": dir, "window": dir, "columns": [names], "master",
"python"}, profiles both days with `collect_dataset_profile_view` in a Spark session of its
own, scores drift with `calculate_drift_scores`, and prints one JSON line: {"seconds",
"peak_rss_mib", "scores": {column: {"algorithm", "statistic", "pvalue"}}}. whylogs computes
no KL: numbers are compared by a KS test on its quantile sketches, strings by chi-square on
its frequent-items sketches.
"""

from __future__ import annotations

import json
import os
import sys
import time

from peer_io import peak_rss_mib


def main() -> None:
    spec = json.load(sys.stdin)
    os.environ["PYSPARK_PYTHON"] = spec["python"]
    from pyspark.sql import SparkSession
    from whylogs.api.pyspark.experimental import collect_dataset_profile_view
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    spark = (SparkSession.builder.master(spec["master"])
             .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter()
    views = [collect_dataset_profile_view(spark.read.parquet(spec[day]).select(*spec["columns"]))
             for day in ("reference", "window")]
    scores = calculate_drift_scores(target_view=views[1], reference_view=views[0],
                                    with_thresholds=True)
    seconds = time.perf_counter() - started
    spark.stop()
    peak = peak_rss_mib()
    found = {column: {k: score.get(k) for k in ("algorithm", "statistic", "pvalue")}
             for column, score in scores.items() if score}
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak, "scores": found},
                     default=str))


if __name__ == "__main__":
    main()
