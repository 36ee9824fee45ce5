"""The contract is the one source: tables, UDF schema, config keys and docs follow it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from kl_udfs.core import contract
from kl_udfs.core.config import ColumnThresholds, Thresholds
from kl_udfs.core.udfs import FIGURE_COLUMNS, RULE_INPUTS
from kl_udfs.core.verdict import VERDICT_COLUMNS
from kl_udfs.spark.tables import ALL_TABLES, spark_type

ROOT = Path(__file__).resolve().parents[2]


def test_spark_schemas_are_the_contract_tables() -> None:
    assert [s.name for s in ALL_TABLES] == [t.name for t in contract.TABLES]
    for spec, table in zip(ALL_TABLES, contract.TABLES, strict=True):
        assert spec.schema.names == table.names()
        assert spec.keys == table.keys and spec.partitions == table.partitions
        for field, column in zip(spec.schema.fields, table.columns, strict=True):
            assert field.dataType == spark_type(column.type)
            assert field.metadata["comment"] == column.meaning


def test_udf_and_verdict_fill_every_drift_results_column() -> None:
    stamped = {"monitor", "table_name", "baseline_id", "run_id", "computed_at", "column_name",
               "column_kind", "window_start", "window_end", "top_contributors"}
    produced = {name for name, _ in FIGURE_COLUMNS} | set(VERDICT_COLUMNS) | stamped
    assert set(contract.DRIFT_RESULTS.names()) <= produced
    for rule in contract.RULES:  # every rule's inputs come out of the UDF
        assert {rule.figure, rule.spread, contract.p_column(rule)} <= set(RULE_INPUTS)


def test_config_threshold_keys_are_the_rules() -> None:
    rules = {r.name for r in contract.RULES}
    assert set(Thresholds.model_fields) == rules | {"fdr", "correction", "min_rows", "learned"}
    assert set(ColumnThresholds.model_fields) == rules | {"min_rows"}


def test_status_ranks_are_a_total_order() -> None:
    assert sorted(s.rank for s in contract.STATUSES) == list(range(len(contract.STATUSES)))
    assert {s.name for s in contract.STATUSES if s.judged} == {contract.OK, contract.DRIFT}


def test_data_dictionary_is_generated_from_the_contract() -> None:
    printed = subprocess.run([sys.executable, "-m", "kl_udfs.core.contract"], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout
    assert printed == contract.data_dictionary()
    assert (ROOT / "docs" / "data-dictionary.md").read_text() == printed, (
        "docs/data-dictionary.md is stale: "
        "python -m kl_udfs.core.contract > docs/data-dictionary.md")
    for table in contract.TABLES:
        assert all(f"| `{c.name}` |" in printed for c in table.columns)


def test_environment_reference_is_generated_and_names_every_variable_read() -> None:
    """docs/environment.md is current, and no module spells a KLDRIFT_ variable itself: each
    name comes from kl_udfs.core.environment, so the reference cannot miss one."""
    from kl_udfs.core import environment

    printed = subprocess.run([sys.executable, "-m", "kl_udfs.core.environment"], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout
    assert (ROOT / "docs" / "environment.md").read_text() == printed, (
        "docs/environment.md is stale: "
        "python -m kl_udfs.core.environment > docs/environment.md")
    spelled = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for folder in ("kl_udfs", "dags", "jobs", "dashboards")
        for path in (ROOT / folder).rglob("*.py") if path.name != "environment.py"
        for name in re.findall(r"[\"'](KLDRIFT_[A-Z_]+)[\"']", path.read_text()))
    assert spelled == []
    assert {v.name for v in environment.VARIABLES} == {
        value for name, value in vars(environment).items()
        if name.isupper() and isinstance(value, str)}
