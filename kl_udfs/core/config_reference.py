"""The monitors config's reference, generated from its models (`kl_udfs/core/config.py`): the
JSON Schema editors check a config with, and the Markdown reference of every key.

    python -m kl_udfs.core.config_reference schema > docs/config.schema.json
    python -m kl_udfs.core.config_reference markdown > docs/config-reference.md

Types, defaults, bounds and descriptions are the models' own; the Markdown is rendered from the
schema, so the two cannot disagree.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from kl_udfs.core import contract
from kl_udfs.core.config import Config

TITLE = "kl-drift monitors config"
SCHEMA_FILE = "config.schema.json"  # in docs/, beside the reference
COMMAND = "python -m kl_udfs.core.config_reference"


class _Generator(GenerateJsonSchema):
    """pydantic's generator; a section whose default is a model of its own defaults (a
    `default_factory`, which pydantic leaves out) says so as `{}`, which validates to it."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        factory = schema.get("default_factory")
        if isinstance(factory, type) and issubclass(factory, BaseModel):
            json_schema = {**json_schema, "default": {}}
        return json_schema


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a monitors config (draft 2020-12, what pydantic writes)."""
    body = Config.model_json_schema(schema_generator=_Generator)
    head = {"$schema": _Generator.schema_dialect, "title": TITLE,
            "description": body.pop("description")}
    defs = body.pop("$defs")
    body.pop("title")
    return {**head, **body, "$defs": defs}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


# ---------------------------------------------------------------------------------- Markdown

def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _def_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).removeprefix("#/$defs/")


def _target(schema: dict[str, Any]) -> tuple[str, str] | None:
    """The section (model) a key's value is, if any, and how the path reaches it: `[]` for a
    list item, `.*` for any key of a map."""
    if "$ref" in schema:
        return _def_name(schema), ""
    for branch in schema.get("anyOf", []):
        found = _target(branch)
        if found:
            return found
    for inner, step in ((schema.get("items"), "[]"), (schema.get("additionalProperties"), ".*")):
        if isinstance(inner, dict):
            found = _target(inner)
            if found:
                return found[0], step + found[1]
    return None


Section = tuple[str, str | None, dict[str, Any]]  # path, model name (None: the top), schema


def _sections(schema: dict[str, Any]) -> Iterator[Section]:
    """The top level, then each section, depth first in key order: `monitoring`, ...,
    `monitors[]`, `monitors[].baseline`, ..."""
    defs = schema["$defs"]
    seen: set[str] = set()

    def walk(path: str, name: str | None, model: dict[str, Any]) -> Iterator[Section]:
        yield path, name, model
        for key, value in model["properties"].items():
            found = _target(value)
            if found and found[0] not in seen:
                seen.add(found[0])
                yield from walk(f"{path}.{key}{found[1]}".lstrip("."), found[0], defs[found[0]])

    yield from walk("", None, schema)


def _yaml(value: Any) -> str:
    """A value as YAML writes it in flow style."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _either(words: Sequence[str]) -> str:
    unique = list(dict.fromkeys(words))
    return unique[0] if len(unique) == 1 else f"{', '.join(unique[:-1])} or {unique[-1]}"


def _type(schema: dict[str, Any], link: Callable[[str], str]) -> str:
    if "$ref" in schema:
        return f"[mapping](#{link(_def_name(schema))})"
    if "const" in schema:
        return f"`{_yaml(schema['const'])}`"
    if "anyOf" in schema:
        return _either([_type(branch, link) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type(schema['items'], link)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map to {_type(schema['additionalProperties'], link)}"
    if kind == "object":
        return "mapping"
    return str(kind)


_BOUNDS = {"minimum": "≥ {}", "exclusiveMinimum": "> {}", "maximum": "≤ {}",
           "exclusiveMaximum": "< {}", "minLength": "at least {} characters",
           "minItems": "at least {} entries", "pattern": "matches `{}`"}
_NON_EMPTY = {"minLength": 1, "minItems": 1}


def _allowed(schema: dict[str, Any]) -> list[str]:
    """The constraints on a key's value, of every alternative, in words."""
    found = []
    if "enum" in schema:
        found.append("one of " + ", ".join(f"`{_yaml(v)}`" for v in schema["enum"]))
    found += ["non-empty" if _NON_EMPTY.get(key) == schema[key] else text.format(schema[key])
              for key, text in _BOUNDS.items() if key in schema]
    for branch in schema.get("anyOf", []):
        found += _allowed(branch)
    if isinstance(schema.get("items"), dict):
        found += _allowed(schema["items"])
    if "examples" in schema:
        found.append("e.g. " + ", ".join(f"`{_yaml(v)}`" for v in schema["examples"]))
    return found


def _default(key: str, schema: dict[str, Any], required: Sequence[str]) -> str:
    if key in required:
        return "**required**"
    return f"`{_yaml(schema['default'])}`" if "default" in schema else "unset"


def _paragraphs(text: str) -> list[str]:
    return [" ".join(part.split()) for part in text.split("\n\n")]


def reference() -> str:
    """The Markdown reference (docs/config-reference.md): a table of keys per section."""
    schema = json_schema()
    sections = list(_sections(schema))
    headings = {path: f"`{path}`" if path else "Top level" for path, _, _ in sections}
    anchors = {path: slug(heading) for path, heading in headings.items()}
    assert len(set(anchors.values())) == len(anchors), anchors
    section_of = {name: path for path, name, _ in sections}

    def link(name: str) -> str:
        return anchors[section_of[name]]

    lines = [
        "# Config reference", "",
        f"Generated from the config's models (`kl_udfs/core/config.py`) by `{COMMAND} "
        "markdown`; do not edit by hand. [configuration.md](configuration.md) shows a whole "
        "config and how `kldrift validate` reports its problems.", "",
        f"The same models give the config's JSON Schema, [{SCHEMA_FILE}]({SCHEMA_FILE}), which "
        "`kldrift schema` prints for the installed version (`kldrift schema > "
        "monitors.schema.json`). Editors read it to complete keys and mark unknown keys, "
        "wrong types and out-of-bounds values as you type; VS Code's YAML extension, for "
        "one, takes it from a comment on the first line of the config (a path relative to "
        "the file, or a URL):", "",
        "```yaml",
        "# yaml-language-server: $schema=monitors.schema.json",
        "```", "",
        "The schema checks each key on its own; `kldrift validate` checks everything, what "
        "spans keys too (a baseline names exactly one source, a window length parses).", "",
        "A key left out takes its default; a section whose default is `{}` takes the default "
        "of each of its keys. `.*` stands for any key of a map (a column name), `[]` for "
        "each item of a list.",
    ]
    for path, _, model in sections:
        lines += ["", f"## {headings[path]}", ""]
        if path and "description" in model:
            lines += [*(p for part in _paragraphs(model["description"]) for p in (part, ""))]
        lines += ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
        required = model.get("required", [])
        for key, value in model["properties"].items():
            described = value.get("description", "")
            if value.get("deprecated"):
                described = f"*Deprecated:* {described}"
            lines.append("| " + " | ".join(contract.markdown_cell(text) for text in (
                f"`{key}`", _type(value, link), _default(key, value, required),
                "; ".join(_allowed(value)), described)) + " |")
    return "\n".join(lines) + "\n"


OUTPUTS: dict[str, Callable[[], str]] = {"schema": schema_text, "markdown": reference}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Print the monitors config's "
                                     "JSON Schema or its Markdown reference.")
    parser.add_argument("output", choices=OUTPUTS,
                        help="the JSON Schema (docs/config.schema.json) or the Markdown "
                             "reference (docs/config-reference.md)")
    print(OUTPUTS[parser.parse_args(argv).output](), end="")


if __name__ == "__main__":
    main()
