"""The dashboard's Arrow schemas are the monitoring-table contract in kl_udfs.tables."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dashboards import schema
from kl_udfs import tables

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
def test_same_columns_and_types(spec: tables.TableSpec) -> None:
    expected = pa.schema([(f.name, _arrow(f.dataType)) for f in spec.schema.fields])
    assert schema.TABLES[spec.name] == expected
    assert schema.PARTITIONS[spec.name] == list(spec.partitions)
