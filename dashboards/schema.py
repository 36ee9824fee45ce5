"""The monitoring tables of `kl_udfs.core.contract` as Arrow schemas, for reading and for writing
synthetic tables. `tests/dashboard/test_schema.py` checks them against `kl_udfs.spark.tables`."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from kl_udfs.core import contract

TS = pa.timestamp("us", tz="UTC")
_SCALARS: dict[str, pa.DataType] = {
    "string": pa.string(), "double": pa.float64(), "long": pa.int64(), "int": pa.int32(),
    "boolean": pa.bool_(), "timestamp": TS,
}


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type of a contract type name ("array<check>" names a contract struct)."""
    if kind.startswith("array<"):
        inner = kind[len("array<"):-1]
        element = _SCALARS.get(inner) or struct_type(contract.STRUCTS[inner])
        return pa.list_(element)
    return _SCALARS[kind]


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
