"""The dashboard's Arrow schemas are the monitoring-table contract, as kl_udfs.spark.tables
has it."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dashboards import schema
from kl_udfs.core import contract
from kl_udfs.spark import tables

SPARK_TO_ARROW = {"string": pa.string(), "double": pa.float64(), "bigint": pa.int64(),
                  "int": pa.int32(), "boolean": pa.bool_(), "timestamp": schema.TS}


def _arrow(spark_type: object) -> pa.DataType:
    from pyspark.sql import types as T

    if isinstance(spark_type, T.ArrayType):
        return pa.list_(_arrow(spark_type.elementType))
    if isinstance(spark_type, T.StructType):
        return pa.struct([(f.name, _arrow(f.dataType)) for f in spark_type.fields])
    return SPARK_TO_ARROW[spark_type.simpleString()]  # type: ignore[attr-defined]


@pytest.mark.parametrize("spec", tables.ALL_TABLES, ids=lambda s: s.name)
def test_same_columns_and_types_as_spark(spec: tables.TableSpec) -> None:
    expected = pa.schema([(f.name, _arrow(f.dataType)) for f in spec.schema.fields])
    assert schema.TABLES[spec.name] == expected
    assert schema.PARTITIONS[spec.name] == list(spec.partitions)


def test_every_contract_table_and_column() -> None:
    assert list(schema.TABLES) == [t.name for t in contract.TABLES]
    for table in contract.TABLES:
        assert schema.TABLES[table.name].names == table.names()
    assert schema.TABLES["drift_results"] is schema.DRIFT_RESULTS


def test_structs_are_the_contracts() -> None:
    checks = schema.DRIFT_RESULTS.field("checks").type
    assert checks == pa.list_(schema.CHECK)
    assert [f.name for f in schema.CHECK] == [c.name for c in contract.STRUCTS["check"]]
    assert schema.CHECK.field("fired").type == pa.bool_()
    assert schema.DRIFT_RESULTS.field("top_contributors").type == pa.list_(schema.CONTRIBUTOR)
    assert schema.DRIFT_RESULTS.field("fired_rules").type == pa.list_(pa.string())
    with pytest.raises(KeyError):
        schema.arrow_type("array<nothing>")
