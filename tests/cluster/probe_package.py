"""spark-submit app: where the driver and the executors import kl_udfs from, and whether the
submitter's --conf wins over kl-drift's defaults (one JSON line)."""

from __future__ import annotations

import json


def _origin(_: object) -> str:
    import kl_udfs

    return str(kl_udfs.__file__)


def main() -> None:
    import kl_udfs
    from kl_udfs.spark.session import get_spark

    spark = get_spark()
    executors = spark.sparkContext.parallelize(range(4), 4).map(_origin).distinct().collect()
    print(json.dumps({"driver": kl_udfs.__file__, "executors": sorted(executors),
                      "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
                      "delta": spark.conf.get("spark.sql.extensions")}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
