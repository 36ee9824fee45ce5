"""The config reference and JSON Schema: current, valid, and agreeing with the config's models."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kl_udfs.core import config_reference, contract
from kl_udfs.core.config import parse_config
from kl_udfs.core.errors import KlDriftError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCHEMA = config_reference.json_schema()  # the file is this (first test)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


class _TextTimes(yaml.SafeLoader):
    """YAML as an editor's schema check reads it (YAML 1.2): 2026-01-01 stays text, which is
    also what JSON holds."""


_TextTimes.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _load(text: str) -> Any:
    return yaml.load(text, _TextTimes)  # a SafeLoader


def _schema_accepts(data: Any) -> bool:
    return VALIDATOR.is_valid(data)


def _models_accept(data: Any) -> bool:
    try:
        parse_config(data, ROOT)
    except KlDriftError:
        return False
    return True


def _generated(output: str) -> str:
    return subprocess.run([sys.executable, "-m", "kl_udfs.core.config_reference", output],
                          check=True, capture_output=True, text=True, cwd=ROOT).stdout


@pytest.mark.parametrize(("output", "name"), [("schema", "config.schema.json"),
                                              ("markdown", "config-reference.md")])
def test_committed_reference_is_generated_from_the_models(output: str, name: str) -> None:
    printed = _generated(output)
    assert printed == config_reference.OUTPUTS[output]()
    assert (DOCS / name).read_text() == printed, (
        f"docs/{name} is stale: python -m kl_udfs.core.config_reference {output} > docs/{name}")


def test_kldrift_schema_prints_it_without_spark() -> None:
    """Every engine is made unimportable: `kldrift schema` needs the models only."""
    blocked = ("pyspark", "py4j", "delta", "great_expectations", "airflow")
    code = (f"import sys\nsys.modules.update(dict.fromkeys({blocked!r}))\n"
            "from kl_udfs.cli import main\nsys.exit(main(['schema']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (DOCS / "config.schema.json").read_text()


def test_schema_is_a_valid_2020_12_schema_with_a_title() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == jsonschema.Draft202012Validator.META_SCHEMA["$id"]
    assert SCHEMA["title"] == "kl-drift monitors config"


def _undescribed(schema: dict[str, Any]) -> list[str]:
    """Every key of every level without a description (the ones of the top level too)."""
    levels = {"(top)": schema, **schema["$defs"]}
    return [f"{level}.{key}" for level, body in levels.items()
            for key, value in body["properties"].items() if not value.get("description")]


def test_every_key_and_section_is_described() -> None:
    assert _undescribed(SCHEMA) == []
    assert [name for name, body in SCHEMA["$defs"].items() if not body.get("description")] == []


def test_rule_keys_say_what_the_contract_says_the_rule_measures() -> None:
    rules = SCHEMA["$defs"]["Thresholds"]["properties"]
    for rule in contract.RULES:
        assert rules[rule.name]["description"].startswith(rule.meaning)
        assert rules[rule.name]["default"] == rule.default_threshold


def test_schema_accepts_the_demo_config() -> None:
    demo = _load((ROOT / "kl_udfs" / "demo" / "monitors.yaml").read_text())
    assert list(VALIDATOR.iter_errors(demo)) == []


def test_schema_accepts_the_example_of_the_configuration_docs() -> None:
    example = re.search(r"```yaml\n(.*?)```", (DOCS / "configuration.md").read_text(), re.S)
    assert example, "docs/configuration.md has a ```yaml block"
    data = _load(example.group(1))
    assert data["monitors"][0]["baseline"]["start"] == "2026-01-01"  # text, as in JSON
    assert list(VALIDATOR.iter_errors(data)) == []
    assert _models_accept(data)


# A config with every section; each level is where an unknown key is put.
FULL: dict[str, Any] = {
    "monitoring": {"path": "./monitoring"},
    "spark": {"master": "local[2]"},
    "storage": {"region": "eu-west-1"},
    "monitors": [{
        "name": "cards", "table": "./raw/cards", "timestamp_column": "ts",
        "baseline": {"start": "2026-01-01", "end": "2026-01-31"},
        "thresholds": {"psi": 0.1, "learned": {"warmup": 14}},
        "column_thresholds": {"amount": {"psi": 0.05}},
        "quality": {"row_count": {"min": 1}, "ranges": {"amount": {"min": 0}}},
        "volume": {"history_windows": 28}, "freshness": {"max_age": "36 hours"},
    }],
}
M = ("monitors", 0)
LEVELS = [(), ("monitoring",), ("spark",), ("storage",), M, (*M, "baseline"),
          (*M, "thresholds"), (*M, "thresholds", "learned"), (*M, "column_thresholds", "amount"),
          (*M, "quality"), (*M, "quality", "row_count"), (*M, "quality", "ranges", "amount"),
          (*M, "volume"), (*M, "freshness")]


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def _unknown_key_errors(data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """(where, message) of every unknown-key error, inside alternatives (anyOf) too."""
    found, errors = [], list(VALIDATOR.iter_errors(data))
    while errors:
        error = errors.pop()
        errors += error.context
        if error.validator == "additionalProperties":
            found.append((tuple(error.absolute_path), error.message))
    return found


def test_the_full_config_is_valid_and_has_every_section() -> None:
    assert _schema_accepts(FULL) and _models_accept(FULL)
    assert len(LEVELS) == len(list(config_reference._sections(SCHEMA)))


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: ".".join(map(str, level)) or "top")
def test_an_unknown_key_is_refused_at_every_level(level: tuple[str | int, ...]) -> None:
    data = copy.deepcopy(FULL)
    _at(data, level)["colums"] = ["amount"]
    assert (level, "Additional properties are not allowed ('colums' was unexpected)") in (
        _unknown_key_errors(data))
    assert not _models_accept(data)


def _monitor(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(FULL)
    data["monitors"][0].update(changes)
    return data


# The schema and the models agree on each: (config, valid?).
AGREED = {
    "thresholds: learned": (_monitor(thresholds="learned"), True),
    "learned: true": (_monitor(thresholds={"learned": True, "psi": 0.2}), True),
    "p_value, the former fdr": (_monitor(thresholds={"p_value": 0.05}), True),
    "a rule switched off": (_monitor(thresholds={"kl": None},
                                     column_thresholds={"amount": {"psi": None}}), True),
    "a rolling baseline": (_monitor(baseline={"previous_windows": 7}), True),
    "a timestamp with an offset": (
        _monitor(baseline={"start": "2026-01-01T06:00:00+02:00", "end": "2026-01-31"}), True),
    "value sets of mixed types": (_monitor(quality={"value_sets": {"code": ["a", 1, True]}}),
                                  True),
    "thresholds: fixed": (_monitor(thresholds="fixed"), False),
    "learned: false": (_monitor(thresholds={"learned": False}), False),
    "one bin": (_monitor(bins=1), False),
    "fdr above 1": (_monitor(thresholds={"fdr": 1.5}), False),
    "p_value of 0": (_monitor(thresholds={"p_value": 0}), False),
    "a zero threshold": (_monitor(thresholds={"psi": 0}), False),
    "an unknown correction": (_monitor(thresholds={"correction": "holm"}), False),
    "an unknown seasonality": (_monitor(thresholds={"learned": {"seasonality": "month"}}),
                               False),
    "a column's p_value": (_monitor(column_thresholds={"amount": {"p_value": 0.05}}), False),
    "a name starting with a digit": (_monitor(name="9cards"), False),
    "an empty table": (_monitor(table=""), False),
    "no monitors": ({"monitors": []}, False),
    "a monitor without its baseline": (
        {"monitors": [{k: v for k, v in FULL["monitors"][0].items() if k != "baseline"}]},
        False),
    "an ftp endpoint": ({**FULL, "storage": {"endpoint": "ftp://store"}}, False),
    "a date as a number": (_monitor(baseline={"start": 20260101, "end": "2026-01-31"}), False),
    "a mostly of 0": (_monitor(quality={"mostly": 0}), False),
}


@pytest.mark.parametrize("case", AGREED)
def test_the_schema_and_the_models_agree(case: str) -> None:
    data, valid = AGREED[case]
    assert (_schema_accepts(data), _models_accept(data)) == (valid, valid)


def _headings(markdown: str) -> list[str]:
    return re.findall(r"^## (.+)$", markdown, re.M)


def _rows(markdown: str, heading: str) -> dict[str, list[str]]:
    """{key: its cells} of the table under `## heading`."""
    section = markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    cells = [re.split(r"(?<!\\)\|", line)[1:-1] for line in section.splitlines()
             if line.startswith("| `")]
    return {row[0].strip().strip("`"): [c.strip() for c in row[1:]] for row in cells}


def test_the_reference_has_a_row_for_every_key_of_every_section() -> None:
    markdown = (DOCS / "config-reference.md").read_text()
    headings = _headings(markdown)
    assert headings[:5] == ["Top level", "`monitoring`", "`spark`", "`storage`", "`monitors[]`"]
    assert {"`monitors[].thresholds`", "`monitors[].thresholds.learned`",
            "`monitors[].column_thresholds.*`", "`monitors[].quality.ranges.*`"} <= set(headings)
    for (path, _, model), heading in zip(config_reference._sections(SCHEMA), headings,
                                         strict=True):
        assert heading == (f"`{path}`" if path else "Top level")
        assert list(_rows(markdown, heading)) == list(model["properties"])


def test_the_reference_gives_each_rule_its_contract_default() -> None:
    rows = _rows((DOCS / "config-reference.md").read_text(), "`monitors[].thresholds`")
    for rule in contract.RULES:
        _, default, allowed, _ = rows[rule.name]
        expected = "null" if rule.default_threshold is None else f"{rule.default_threshold:g}"
        assert (default, allowed) == (f"`{expected}`", "> 0")
    assert rows["fdr"][1] == f"`{contract.DEFAULT_FDR:g}`"
    assert rows["p_value"][3].startswith("*Deprecated:*")
    # A column's rule left out keeps the monitor's threshold; null would switch it off.
    columns = _rows((DOCS / "config-reference.md").read_text(),
                    "`monitors[].column_thresholds.*`")
    assert {columns[rule.name][1] for rule in contract.RULES} == {"unset"}


def test_the_reference_links_to_its_own_sections() -> None:
    markdown = (DOCS / "config-reference.md").read_text()
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in _headings(markdown)}
    links = re.findall(r"\]\(#([^)]+)\)", markdown)
    assert len(set(links)) == len(anchors) - 1  # every section but the top is linked to
    assert set(links) <= anchors
