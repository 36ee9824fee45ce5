"""The package's layers: who may import whom, read from the sources' import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import kl_udfs

PACKAGE = Path(kl_udfs.__file__).resolve().parent
# A module imports only from its own layer or a lower one.
LAYER = {"core": 0, "lake": 1, "spark": 1, "quality": 2, "jobs": 3, "airflow": 4, "sql": 4,
         "demo": 5, "cli": 6, "submit": 7}
# The decisions are pure numpy/pandas; the config is read at DAG parse time.
NOT_IN_CORE = ("pyspark", "airflow", "great_expectations", "delta", "deltalake", "dash", "plotly")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("kl_udfs", *path.relative_to(PACKAGE).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module this file imports, at any depth (function-level imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "cli"


def test_every_module_imports_only_its_own_layer_or_lower() -> None:
    assert set(map(_layer, MODULES)) - {"kl_udfs"} <= set(LAYER) | {"__main__"}
    wrong = sorted(
        f"{module} -> {target}" for module, path in MODULES.items() if module != "kl_udfs"
        for target in _imports(path) if target in MODULES and target != "kl_udfs"
        and LAYER.get(_layer(target), 0) > LAYER.get(_layer(module), 0))
    assert not wrong


def test_core_imports_no_engine() -> None:
    wrong = sorted(
        f"{module} -> {target}" for module, path in MODULES.items()
        if module.startswith("kl_udfs.core") for target in _imports(path)
        if target.split(".")[0] in NOT_IN_CORE)
    assert not wrong


def test_no_module_imports_itself_through_others() -> None:
    graph = {m: {t for t in _imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    # a package's own __init__ importing its submodules is not a cycle of code
    for module in graph:
        graph[module] -= {t for t in graph[module] if module.startswith(t + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target):], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles
