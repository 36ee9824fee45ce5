"""The monitoring tables of `kl_udfs.core.contract` as Arrow schemas, for reading and for writing
synthetic tables. `tests/dashboard/test_schema.py` checks them against `kl_udfs.spark.tables`."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from kl_udfs.core import contract
from kl_udfs.lake.slices import arrow_type

TS = pa.timestamp("us", tz="UTC")


def struct_type(columns: Sequence[contract.Column]) -> pa.StructType:
    return pa.struct([(c.name, arrow_type(c.type)) for c in columns])


def table_schema(table: contract.Table) -> pa.Schema:
    return pa.schema([(c.name, arrow_type(c.type)) for c in table.columns])


CONTRIBUTOR = struct_type(contract.STRUCTS["contributor"])
CHECK = struct_type(contract.STRUCTS["check"])

TABLES: dict[str, pa.Schema] = {t.name: table_schema(t) for t in contract.TABLES}
PARTITIONS: dict[str, list[str]] = {t.name: list(t.partitions) for t in contract.TABLES}
DRIFT_RESULTS, PROFILES, BASELINES, RUNS, QUALITY_RESULTS = (
    TABLES[t.name] for t in (contract.DRIFT_RESULTS, contract.PROFILES, contract.BASELINES,
                             contract.RUNS, contract.QUALITY_RESULTS))
