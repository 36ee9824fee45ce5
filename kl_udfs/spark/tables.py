"""The monitoring Delta tables (columns from kl_udfs.core.contract): creation, evolution, MERGE."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import types as T

from kl_udfs.core import contract
from kl_udfs.core.errors import KlDriftError

_SCALARS: dict[str, T.DataType] = {
    "string": T.StringType(), "double": T.DoubleType(), "long": T.LongType(),
    "int": T.IntegerType(), "boolean": T.BooleanType(), "timestamp": T.TimestampType(),
}


def spark_type(kind: str) -> T.DataType:
    """The Spark type of a contract type name (parsed here: Spark's parser needs a JVM)."""
    if kind.startswith("array<"):
        inner = kind[len("array<"):-1]
        element = _SCALARS.get(inner) or struct_type(contract.STRUCTS[inner])
        return T.ArrayType(element)
    return _SCALARS[kind]


def struct_type(columns: Sequence[contract.Column]) -> T.StructType:
    return T.StructType([T.StructField(c.name, spark_type(c.type), metadata={
        "comment": c.meaning}) for c in columns])


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: T.StructType
    keys: tuple[str, ...]
    partitions: tuple[str, ...]


def _spec(table: contract.Table) -> TableSpec:
    return TableSpec(table.name, struct_type(table.columns), table.keys, table.partitions)


DRIFT_RESULTS, PROFILES, BASELINES, RUNS, QUALITY_RESULTS, VOLUME_RESULTS = (
    _spec(t) for t in (contract.DRIFT_RESULTS, contract.PROFILES, contract.BASELINES,
                       contract.RUNS, contract.QUALITY_RESULTS, contract.VOLUME_RESULTS))
CONTRIBUTOR = struct_type(contract.STRUCTS["contributor"])

# A lake written before a table existed gains it the next time a job ensures the tables.
ALL_TABLES = (DRIFT_RESULTS, PROFILES, BASELINES, RUNS, QUALITY_RESULTS, VOLUME_RESULTS)


def table_path(root: str, spec: TableSpec) -> str:
    return str(Path(root) / spec.name) if "://" not in root else f"{root.rstrip('/')}/{spec.name}"


def catalog_persists(spark: SparkSession) -> bool:
    """True when table names outlive the session (a Hive metastore), not Spark's in-memory one."""
    return spark.conf.get("spark.sql.catalogImplementation", "in-memory") != "in-memory"


def ensure_tables(spark: SparkSession, root: str, database: str,
                  specs: Sequence[TableSpec] = ALL_TABLES, for_sql: bool = False,
                  monitor: str | None = None, table: str | None = None) -> None:
    """Create missing tables (idempotent, safe when two jobs race); register them for SQL.

    A job registers them only where the names outlive it (a metastore): in Spark's in-memory
    catalog they would vanish with the job, after costing a Delta snapshot read each.
    A Delta table at a monitoring path that kl-drift did not write (a key column missing, or
    a column of another type) is left as it is, and one KlDriftError names it (`monitor` and
    `table`, the monitored table, locate the error) once the other tables exist.
    """
    from delta.tables import DeltaTable

    register_names = for_sql or catalog_persists(spark)
    if register_names:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    foreign = []
    for spec in specs:
        path = table_path(root, spec)
        if not DeltaTable.isDeltaTable(spark, path):
            try:
                (DeltaTable.createIfNotExists(spark).location(path).addColumns(spec.schema)
                 .partitionedBy(*spec.partitions).execute())
            except Exception:
                if not DeltaTable.isDeltaTable(spark, path):  # lost a creation race: fine
                    raise
        else:
            schema = DeltaTable.forPath(spark, path).toDF().schema
            problem = foreign_problem(schema, spec)
            if problem:
                foreign.append(f"{spec.name} at {path} is not a kl-drift monitoring table "
                               f"({problem}); move it away or set another monitoring.path")
                continue
            add_missing_columns(spark, path, spec, known=schema)
        if register_names:
            register(spark, database, spec.name, path)
    if foreign:
        raise KlDriftError("; ".join(foreign), monitor=monitor, table=table)


def foreign_problem(existing: T.StructType, spec: TableSpec) -> str | None:
    """Why a table at a monitoring path is not one kl-drift wrote; None when it is.

    A table an older kl-drift wrote lacks only newer columns (added in place); one without
    the key, or with a contract column of another type, belongs to something else.
    """
    have = {f.name: f.dataType.simpleString() for f in existing.fields}
    keys = [k for k in spec.keys if k not in have]
    if keys:
        shown = ", ".join(list(have)[:6]) + (", ..." if len(have) > 6 else "")
        return f"key column(s) {', '.join(keys)} missing; it has {shown or 'no columns'}"
    wrong = [f"{f.name} is {have[f.name]}, not {f.dataType.simpleString()}"
             for f in spec.schema.fields
             if f.name in have and have[f.name] != f.dataType.simpleString()]
    return "; ".join(wrong[:3]) or None


def missing_columns(existing: T.StructType, spec: TableSpec) -> list[T.StructField]:
    have = {f.name for f in existing.fields}
    return [f for f in spec.schema.fields if f.name not in have]


def add_missing_columns(spark: SparkSession, path: str, spec: TableSpec,
                        attempts: int = 4, known: T.StructType | None = None) -> list[str]:
    """Schema evolution in place: the contract's columns a table written by an older
    kl-drift lacks are added (null in old rows); nothing is rewritten. Returns their names.
    `known`: the table's schema, already read (the first look only)."""
    from delta.tables import DeltaTable

    for attempt in range(attempts):
        schema = known if known is not None and attempt == 0 else \
            DeltaTable.forPath(spark, path).toDF().schema
        missing = missing_columns(schema, spec)
        if not missing:
            return []
        listed = ", ".join(
            f"`{f.name}` {f.dataType.simpleString()} COMMENT "
            f"{_sql_literal(f.metadata.get('comment', ''))}" for f in missing)
        try:
            spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({listed})")
            return [f.name for f in missing]
        except Exception as error:  # another job evolved it first: look again
            retryable = (*_RETRYABLE, "already exists", "FIELDS_ALREADY_EXISTS")
            if attempt == attempts - 1 or not any(n in repr(error) for n in retryable):
                raise
    return []


def _same_location(registered: str, path: str) -> bool:
    def normal(text: str) -> str:
        text = text.removeprefix("file:").rstrip("/")
        return str(Path(text).resolve()) if "://" not in text else text

    return normal(registered) == normal(path)


def register(spark: SparkSession, database: str, name: str, path: str) -> None:
    """Point `<database>.<name>` at the Delta table at `path`.

    One session may serve several configs (tests, notebooks): a registration left pointing
    elsewhere is dropped first; it is an external table, so only the name goes.
    """
    target = f"`{database}`.`{name}`"
    if spark.catalog.tableExists(f"{database}.{name}"):
        info = {r["col_name"]: r["data_type"]
                for r in spark.sql(f"DESCRIBE TABLE EXTENDED {target}").collect()}
        if _same_location(info.get("Location", ""), path):
            return
        if info.get("Type") != "EXTERNAL":
            raise KlDriftError(f"{database}.{name} is a managed table, not the monitoring table "
                               f"at {path}", table=path)
        spark.sql(f"DROP TABLE {target}")
    spark.sql(f"CREATE TABLE IF NOT EXISTS {target} USING delta LOCATION '{path}'")


def read_table(spark: SparkSession, root: str, spec: TableSpec) -> DataFrame:
    return spark.read.format("delta").load(table_path(root, spec))


def _sql_literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if hasattr(value, "isoformat"):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return str(value)


_RETRYABLE = ("ConcurrentAppendException", "ConcurrentDeleteReadException",
              "ConcurrentDeleteDeleteException", "ConcurrentTransactionException",
              "ProtocolChangedException", "MetadataChangedException", "DELTA_CONCURRENT")


def append_run(spark: SparkSession, root: str, rows: DataFrame) -> None:
    """Add `runs` rows. Each carries a fresh run_id, so a blind append cannot duplicate a
    key, never conflicts with another writer, and costs a fraction of a MERGE."""
    rows.select(*RUNS.schema.fieldNames()).write.format("delta").mode("append").save(
        table_path(root, RUNS))


# Conflicts are retried this often; the pause doubles from MERGE_PAUSE_S up to MERGE_PAUSE_MAX_S,
# each jittered to 0.5-1.5 times: 8 writers of one window all commit within the budget (the
# concurrency rows of docs/reliability.md).
MERGE_ATTEMPTS = 12
MERGE_PAUSE_S, MERGE_PAUSE_MAX_S = 0.2, 5.0


def _retried(action: Callable[[], object], attempts: int) -> int:
    """Run a Delta write, retrying it when a concurrent commit conflicts; returns the retries."""
    for attempt in range(attempts):
        try:
            action()
            return attempt
        except Exception as error:  # Delta raises its conflicts as several Python types
            if attempt == attempts - 1 or not any(n in repr(error) for n in _RETRYABLE):
                raise
            # Jittered so writers that collided once do not retry in lockstep.
            pause = min(MERGE_PAUSE_S * 2 ** attempt, MERGE_PAUSE_MAX_S)
            time.sleep(pause * (0.5 + random.random()))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _in(column: str, values: Sequence[object], alias: str = "") -> str:
    listed = ", ".join(_sql_literal(v) for v in sorted(set(values), key=str))
    return f"{alias}`{column}` IN ({listed})"


def merge(spark: SparkSession, root: str, spec: TableSpec, rows: DataFrame,
          partition_values: dict[str, Sequence[object]], attempts: int = MERGE_ATTEMPTS,
          replace: dict[str, object] | None = None) -> int:
    """Upsert `rows` on the table's key; re-running the same rows replaces, never duplicates.

    The literal partition filters keep each MERGE's read set to its own partitions, so two
    windows written at once do not conflict; a conflict Delta reports anyway (two writers of
    one window, say) is retried, which is safe because the source is fixed and the MERGE is
    idempotent. Returns how many times it retried. `replace` {column: value} names a slice
    (one window's checks, say) that `rows` replace whole: its target rows with no source row
    are deleted in the same commit.
    """
    from delta.tables import DeltaTable

    source = rows.select(*spec.schema.fieldNames()).dropDuplicates(list(spec.keys))
    on = [f"t.`{k}` <=> s.`{k}`" for k in spec.keys]
    on += [_in(column, values, "t.") for column, values in partition_values.items()]
    target = DeltaTable.forPath(spark, table_path(root, spec))

    def execute() -> None:
        builder = (target.alias("t").merge(source.alias("s"), " AND ".join(on))
                   .whenMatchedUpdateAll().whenNotMatchedInsertAll())
        if replace:
            builder = builder.whenNotMatchedBySourceDelete(" AND ".join(
                f"t.`{k}` = {_sql_literal(v)}" for k, v in replace.items()))
        builder.execute()

    return _retried(execute, attempts)


def update(spark: SparkSession, root: str, spec: TableSpec, where: dict[str, Sequence[object]],
           values: dict[str, object], attempts: int = MERGE_ATTEMPTS) -> int:
    """Set `values` {column: value} in the rows whose columns hold one of `where`'s values
    (a partition column first, to keep the read set small); conflicts are retried like a
    MERGE's. Cheaper than a MERGE of one known row: no join, no source to materialize."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    types = {f.name: f.dataType for f in spec.schema.fields}
    condition = " AND ".join(_in(column, listed) for column, listed in where.items())
    assignments: dict[str, str | Column] = {f"`{c}`": F.lit(v).cast(types[c])
                                            for c, v in values.items()}
    target = DeltaTable.forPath(spark, table_path(root, spec))
    return _retried(lambda: target.update(condition, assignments), attempts)
