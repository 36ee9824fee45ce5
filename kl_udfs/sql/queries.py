"""SQL over the monitoring tables: registering them, and the `${var}` ready queries that ship
in kl_udfs/sql/ready/.

The same statements serve `kldrift sql` (a local Spark session) and the Thrift server (sent by
beeline), so both see the tables under the same names. No Spark import here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.resources import packaged
from kl_udfs.spark.tables import ALL_TABLES, table_path

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DEFAULTS = re.compile(r"^--\s*vars:(.*)$", re.MULTILINE)


def registration_sql(root: str, database: str) -> list[str]:
    """CREATE statements that make `<database>.<table>` point at the monitoring tables.

    A table that exists is registered as it is (its log holds the schema); a missing one is
    created empty with the contract's schema, so queries run before the first job still work.
    """
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`"]
    for spec in ALL_TABLES:
        path = table_path(root, spec)
        target = f"`{database}`.`{spec.name}`"
        if "://" not in path and not (Path(path) / "_delta_log").is_dir():
            columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}"
                                for f in spec.schema.fields)
            partitions = ", ".join(f"`{p}`" for p in spec.partitions)
            statements.append(f"CREATE TABLE IF NOT EXISTS {target} ({columns}) USING delta "
                              f"PARTITIONED BY ({partitions}) LOCATION '{path}'")
        else:
            statements.append(f"CREATE TABLE IF NOT EXISTS {target} USING delta "
                              f"LOCATION '{path}'")
    return statements


def check_monitoring_path(root: str) -> None:
    """Refuse a local path holding none of the tables: most likely a typo, not a new setup."""
    if "://" in root:
        return
    if not any((Path(table_path(root, spec)) / "_delta_log").is_dir() for spec in ALL_TABLES):
        raise KlDriftError(f"no monitoring tables at {root}: run a job first (e.g. `make demo`) "
                           f"or check --config / --monitoring")


@dataclass(frozen=True)
class Query:
    text: str
    defaults: dict[str, str]

    @property
    def variables(self) -> list[str]:
        return sorted(set(_VAR.findall(self.text)))

    def render(self, values: dict[str, str] | None = None, source: str = "query") -> str:
        """The SQL with `${name}` replaced; values are quoted-string safe."""
        merged = {**self.defaults, **(values or {})}
        missing = [name for name in self.variables if name not in merged]
        if missing:
            raise KlDriftError(f"{source} needs a value for {', '.join(missing)} "
                               f"(pass --var {missing[0]}=...)")
        return _VAR.sub(lambda m: _escape(merged[m.group(1)]), self.text).strip().rstrip(";")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def parse_query(text: str) -> Query:
    """A query and the defaults of its `-- vars: name=value ...` comment line."""
    defaults: dict[str, str] = {}
    for line in _DEFAULTS.findall(text):
        for item in line.split():
            name, _, value = item.partition("=")
            defaults[name] = value
    return Query(text, defaults)


def load_query(path: Path) -> Query:
    try:
        return parse_query(path.read_text())
    except OSError as error:
        raise KlDriftError(f"cannot read SQL file {path}: {error.strerror}") from None


def ready_queries() -> dict[str, Path]:
    """The documented queries shipped in kl_udfs/sql/ready/, by name."""
    return {path.stem: path for path in sorted(packaged("kl_udfs.sql", "ready").glob("*.sql"))}


def parse_vars(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _VAR.fullmatch("${" + name + "}"):
            raise KlDriftError(f"--var '{item}' is not name=value")
        values[name] = value
    return values
