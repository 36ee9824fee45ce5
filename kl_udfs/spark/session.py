"""The one place a SparkSession is configured: Delta, UTC, local defaults, cached jars."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

from kl_udfs.core import environment
from kl_udfs.core.cache import cache_dir
from kl_udfs.core.storage import ObjectStorage, hadoop_aws_excludes, hadoop_aws_packages
from kl_udfs.spark.shipping import is_local, ship_package

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
MASTER_ENV = environment.SPARK_MASTER

# delta-spark's jar pulls in delta-kernel, whose own dependencies are older copies of jars the
# pyspark wheel already ships; two versions of Jackson or Hadoop on one classpath is a bug
# waiting to happen, so resolve only what Spark lacks.
_DUPLICATES_OF_SPARK_JARS = [
    "com.fasterxml.jackson.core:jackson-annotations",
    "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-databind",
    "com.fasterxml.jackson.datatype:jackson-datatype-jdk8",
    "com.github.luben:zstd-jni",
    "com.google.code.findbugs:jsr305",
    "commons-logging:commons-logging",
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "org.apache.logging.log4j:log4j-api",
    "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
    "org.apache.parquet:parquet-column",
    "org.apache.parquet:parquet-common",
    "org.apache.parquet:parquet-encoding",
    "org.apache.parquet:parquet-format-structures",
    "org.apache.parquet:parquet-hadoop",
    "org.apache.parquet:parquet-jackson",
    "org.roaringbitmap:RoaringBitmap",
    "org.roaringbitmap:shims",
    "org.slf4j:slf4j-api",
    "org.xerial.snappy:snappy-java",
]


def excluded_packages(storage: ObjectStorage | None = None) -> str:
    return ",".join([*_DUPLICATES_OF_SPARK_JARS, *(hadoop_aws_excludes() if storage else [])])


@cache  # a DAG file asks once per task: reading package metadata took 15 ms each time
def delta_package() -> str:
    """The Maven coordinate of the Delta jar matching the installed pyspark and delta-spark."""
    from importlib.metadata import version

    # Package metadata, not `import pyspark`: DAG files call this at parse time.
    spark_minor = ".".join(version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{version('delta-spark')}"


def job_packages(storage: ObjectStorage | None = None) -> str:
    """The jars a job resolves: Delta, and hadoop-aws when the config uses object storage."""
    return ",".join([delta_package(), *(hadoop_aws_packages() if storage else [])])


def spark_conf(master: str | None = None, extra: dict[str, str] | None = None,
               storage: ObjectStorage | None = None) -> dict[str, str]:
    """The settings every kl-drift session gets; `extra` (from config) wins over them."""
    cache = cache_dir()
    jvm_flags = "-Dderby.system.home=" + str(cache / "derby")
    conf = {
        "spark.app.name": "kl-drift",
        "spark.jars.packages": job_packages(storage),
        "spark.jars.excludes": excluded_packages(storage),
        "spark.jars.ivy": str(cache / "ivy"),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "16",
        "spark.sql.warehouse.dir": str(cache / "warehouse"),
        "spark.local.dir": str(cache / "spark-tmp"),
        "spark.driver.extraJavaOptions": jvm_flags,
        "spark.executor.extraJavaOptions": jvm_flags,
        "spark.ui.showConsoleProgress": "false",
        "spark.ui.enabled": "false",
        "spark.databricks.delta.snapshotPartitions": "2",
        **(storage.spark_settings() if storage else {}),
    }
    # Under spark-submit the JVM already runs with --master: keep it unless told otherwise.
    chosen = master or os.environ.get(MASTER_ENV)
    if chosen or not under_spark_submit():
        conf["spark.master"] = chosen or DEFAULT_MASTER
    if is_local(conf.get("spark.master")):
        # Nobody else talks to a local driver: keep it on loopback. On a cluster the executors
        # must reach it, so the address is Spark's to choose (SPARK_LOCAL_IP, else the host's).
        conf["spark.driver.host"] = conf["spark.driver.bindAddress"] = "127.0.0.1"
    conf.update(extra or {})
    return conf


def under_spark_submit() -> bool:
    """True in a driver launched by spark-submit (the JVM gateway was started for us)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def submitted_settings() -> set[str]:
    """The settings spark-submit gave this driver's JVM (its command line and defaults file)."""
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # attach to the JVM spark-submit started; else no JVM conf
    return {key for key, _ in SparkConf().getAll()}


def get_spark(master: str | None = None, extra: dict[str, str] | None = None,
              storage: ObjectStorage | None = None) -> SparkSession:
    """Get or create the session; workers run this interpreter so pandas UDFs find pyarrow."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    conf = spark_conf(master, extra, storage)
    if is_local(conf.get("spark.master")):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if under_spark_submit():
        # What the submitter chose (--conf, spark-defaults.conf) beats kl-drift's defaults,
        # e.g. more shuffle partitions on a big cluster; the monitors config still wins.
        for key in submitted_settings() - set(extra or {}) - {"spark.master"}:
            conf.pop(key, None)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    ship_package(spark)  # on a cluster the executors have no checkout to import kl_udfs from
    return spark


TIME_ZONE = "spark.sql.session.timeZone"


@contextmanager
def utc_session(spark: SparkSession) -> Iterator[None]:
    """Run an operation in the UTC session time zone, then put the caller's zone back.

    Windows, baseline ranges and stored times are naive UTC, and Spark reads a time written as
    text (every window bound) and a timestamp_ntz it converts in the session's zone: in another
    zone each window would count the rows of a window shifted by its offset. A session shared
    with other work, or a `spark.conf` setting, may have any zone.
    """
    before = spark.conf.get(TIME_ZONE) or "UTC"
    spark.conf.set(TIME_ZONE, "UTC")
    try:
        yield
    finally:
        spark.conf.set(TIME_ZONE, before)
