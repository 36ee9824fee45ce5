"""A config's validation errors, all at once: one line per key path, each naming its monitor
and the line of the file it is on.

Unknown keys say which valid key they are closest to. The valid keys of each level are read
from the pydantic models themselves, by following an error's location down the fields.
"""

from __future__ import annotations

import difflib
import types
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from kl_udfs.core.errors import KlDriftError, located

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class Origin:
    """Where validated data came from: the 1-based line of each key path in the file, and the
    file's index of each monitor when only some of its monitors were validated."""

    lines: dict[Loc, int] = field(default_factory=dict)
    monitor_indices: tuple[int, ...] | None = None

    def file_loc(self, loc: Loc) -> Loc:
        if (self.monitor_indices is not None and len(loc) >= 2 and loc[0] == "monitors"
                and isinstance(loc[1], int) and loc[1] < len(self.monitor_indices)):
            return ("monitors", self.monitor_indices[loc[1]], *loc[2:])
        return loc

    def line(self, loc: Loc) -> int | None:
        """The line of the key, else of the nearest enclosing one (a missing key: its mapping)."""
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


def key_lines(text: str) -> dict[Loc, int]:
    """The 1-based line of every key and list item of a YAML document ({} if it is not YAML)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node, path: Loc) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                inner = (*path, key.value)
                lines.setdefault(inner, key.start_mark.line + 1)
                walk(value, inner)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return lines


def config_error(error: ValidationError, root: type[BaseModel], data: Any,
                 source: str, origin: Origin | None = None) -> KlDriftError:
    """One problem stays one line; several get a count first, then one line each."""
    found = _problems(error, root, data, origin or Origin())
    if len(found) == 1:
        monitor, text = found[0]
        return KlDriftError(f"{source}: invalid config: {text}", monitor=monitor)
    return KlDriftError(f"{source}: invalid config, {len(found)} problems:",
                        problems=[located(text, monitor=monitor) for monitor, text in found])


def _problems(error: ValidationError, root: type[BaseModel], data: Any,
              origin: Origin) -> list[tuple[str | None, str]]:
    """(monitor name, "path: message (line n)") per key path, in pydantic's order."""
    merged: dict[tuple[str | None, str], list[str]] = {}
    lines: dict[str, int | None] = {}
    for item in error.errors():
        steps = _walk(item["loc"], root)
        keys = origin.file_loc(tuple(part for part, _ in steps))
        path = ".".join(str(part) for part in keys) or "config"
        lines.setdefault(path, origin.line(keys))
        message = _unknown(*steps[-1]) if item["type"] == "extra_forbidden" and steps else (
            item["msg"])
        messages = merged.setdefault((_monitor_name(item["loc"], data), path), [])
        if message not in messages:
            messages.append(message)
    return [(monitor, f"{path}: {_either(messages)}" + (
        f" (line {lines[path]})" if lines[path] is not None else ""))
        for (monitor, path), messages in merged.items()]


def _either(messages: list[str]) -> str:
    """Several messages on one path are a union's alternatives: "Input should be a valid
    string or ... a valid integer" reads "Input should be a valid string or integer"."""
    words = [message.split(" ") for message in messages]
    shared = 0
    while all(len(w) > shared + 1 and w[shared] == words[0][shared] for w in words):
        shared += 1
    tails = [" ".join(w[shared:]) for w in words]
    either = tails[0] if len(tails) == 1 else f"{', '.join(tails[:-1])} or {tails[-1]}"
    return " ".join([*words[0][:shared], either])


def _walk(loc: tuple[int | str, ...], root: type[BaseModel]) -> list[tuple[int | str, Any]]:
    """The config keys of `loc`, each with the type it is a key of.

    pydantic ends the location of a union member's error with the member's name ('str',
    'int'): that is no key of the config, and the walk stops where there is nothing to enter.
    """
    steps: list[tuple[int | str, Any]] = []
    current: Any = root
    for part in loc:
        current = _without_none(current)
        if not _is_model(current) and get_origin(current) not in (list, dict):
            break
        steps.append((part, current))
        if _is_model(current):
            field = current.model_fields.get(str(part))
            current = field.annotation if field is not None else None
        else:
            current = get_args(current)[-1]  # list[item] or dict[key, value]
    return steps


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


def _unknown(key: int | str, container: Any) -> str:
    valid = list(container.model_fields) if _is_model(container) else []
    close = difflib.get_close_matches(str(key), valid, n=1)
    if close:
        return f"unknown key, did you mean `{close[0]}`?"
    return f"unknown key (valid here: {', '.join(valid)})"


def _monitor_name(loc: tuple[int | str, ...], data: Any) -> str | None:
    if len(loc) >= 2 and loc[0] == "monitors" and isinstance(loc[1], int):
        monitors = data.get("monitors") if isinstance(data, dict) else None
        if isinstance(monitors, list) and loc[1] < len(monitors):
            entry = monitors[loc[1]]
            name = entry.get("name") if isinstance(entry, dict) else None
            return str(name) if name is not None else None
    return None
