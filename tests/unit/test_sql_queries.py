"""The SQL text helpers: statement splitting, `${var}` rendering, registration statements."""

from __future__ import annotations

from pathlib import Path

import pytest

from kl_udfs.core.errors import KlDriftError
from kl_udfs.spark.tables import ALL_TABLES
from kl_udfs.sql.local import _split
from kl_udfs.sql.queries import parse_query, parse_vars, ready_queries, registration_sql


@pytest.mark.parametrize("text, count", [
    ("SELECT 1", 1),
    ("SELECT 1;", 1),
    ("SELECT 1; SELECT 2", 2),
    ("SELECT ';' AS semi", 1),
    ("SELECT 'it\\'s; here'", 1),
    ("-- a comment; with a semicolon\nSELECT 1", 1),
    ("SELECT `a;b` FROM t", 1),
])
def test_split_counts_statements_outside_quotes_and_comments(text: str, count: int) -> None:
    assert len([s for s in (p.strip() for p in _split(text)) if s]) == count


def test_render_fills_defaults_and_escapes_quotes() -> None:
    query = parse_query("-- vars: monitor=cards column=amount\n"
                        "SELECT * FROM t WHERE m = '${monitor}' AND c = '${column}';\n")
    assert query.variables == ["column", "monitor"]
    assert query.render().endswith("m = 'cards' AND c = 'amount'")
    assert query.render({"column": "o'brien"}).endswith("c = 'o\\'brien'")
    with pytest.raises(KlDriftError, match="needs a value for x"):
        parse_query("SELECT '${x}'").render()


@pytest.mark.parametrize("item", ["novalue", "=x", "bad-name=1", "1x=2"])
def test_bad_vars_are_refused(item: str) -> None:
    with pytest.raises(KlDriftError, match="is not name=value"):
        parse_vars([item])


def test_every_ready_query_renders_with_its_defaults() -> None:
    for name, path in ready_queries().items():
        rendered = parse_query(path.read_text()).render()
        assert "${" not in rendered and "monitoring." in rendered, name


def test_registration_points_every_table_at_its_path(tmp_path: Path) -> None:
    existing = tmp_path / "drift_results" / "_delta_log"
    existing.mkdir(parents=True)
    statements = registration_sql(str(tmp_path), "mon")
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `mon`"
    by_table = {spec.name: s for spec in ALL_TABLES for s in statements
                if f"`mon`.`{spec.name}`" in s}
    assert len(by_table) == len(ALL_TABLES)
    # An existing table keeps its own schema; a missing one gets the contract's.
    assert by_table["drift_results"].endswith(f"USING delta LOCATION '{tmp_path}/drift_results'")
    assert "`top_contributors` array<struct<bin:string" not in by_table["drift_results"]
    assert "`kl_divergence` double" not in by_table["drift_results"]
    assert "PARTITIONED BY (`monitor`, `window_start`)" in by_table["profiles"]
    assert "`run_id` string" in by_table["runs"]
