"""The monitors config (YAML), validated into typed models; every problem reported at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from kl_udfs.core import contract
from kl_udfs.core.config_errors import Origin, config_error, key_lines
from kl_udfs.core.defaults import DEFAULT_PSEUDO_COUNT
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.policy import Learning, Policy, Seasonality
from kl_udfs.core.storage import ObjectStorage, is_object_store
from kl_udfs.core.windows import Cadence, parse_cadence, parse_instant


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# One field per rule of the contract: its threshold, or null to switch the rule off.
_RULE_FIELDS: dict[str, Any] = {
    r.name: (float | None, Field(r.default_threshold, gt=0, description=r.meaning))
    for r in contract.RULES
}


_LEARNING = Learning()  # the defaults live with the rule


class Learned(_Model):
    """Divergence thresholds learnt from each column's own ok windows (kl_udfs/core/verdict.py)."""

    warmup: int = Field(_LEARNING.warmup, ge=2)
    history: int = Field(_LEARNING.history, ge=2)
    level_windows: int = Field(_LEARNING.level_windows, ge=1)
    spread: float = Field(_LEARNING.spread, gt=0)
    seasonality: Seasonality = _LEARNING.seasonality


class _ThresholdsBase(_Model):
    fdr: float = Field(contract.DEFAULT_FDR, gt=0, le=1)
    correction: Literal["bh", "none"] = "bh"
    min_rows: int = Field(contract.DEFAULT_MIN_ROWS, ge=1)
    learned: Learned | None = None

    @model_validator(mode="before")
    @classmethod
    def _learned_shorthand(cls, data: Any) -> Any:
        if data == "learned":  # `thresholds: learned`, every default kept
            return {"learned": {}}
        if isinstance(data, dict) and data.get("learned") is True:
            return {**data, "learned": {}}
        return data

    @model_validator(mode="before")
    @classmethod
    def _p_value_is_fdr(cls, data: Any) -> Any:
        # Configs written before the FDR rule said `p_value`: it is the same level.
        if isinstance(data, dict) and "p_value" in data:
            data = dict(data)
            value = data.pop("p_value")
            data.setdefault("fdr", value)
        return data


Thresholds = create_model("Thresholds", __base__=_ThresholdsBase,
                          **_RULE_FIELDS)


class _ColumnThresholdsBase(_Model):
    min_rows: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _no_p_value(cls, data: Any) -> Any:
        if isinstance(data, dict) and "p_value" in data:
            raise ValueError("a per-column p_value is no longer used: significance is "
                             "controlled per window by thresholds.fdr")
        return data


_COLUMN_RULE_FIELDS: dict[str, Any] = {
    name: (float | None, Field(None, gt=0)) for name in _RULE_FIELDS}
# Per column, a rule key present (even as null) overrides the monitor's threshold.
ColumnThresholds = create_model(
    "ColumnThresholds", __base__=_ColumnThresholdsBase,
    **_COLUMN_RULE_FIELDS)


class Baseline(_Model):
    """Exactly one source: a time range, a Delta version, or the previous N windows.

    A rolling baseline (previous_windows) still needs frozen bins: they are built from
    start/end when given, else from the first N windows of the table.
    """

    start: datetime | None = None
    end: datetime | None = None
    version: int | None = Field(None, ge=0)
    previous_windows: int | None = Field(None, ge=1)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        return None if value is None else parse_instant(value)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        has_range = self.start is not None or self.end is not None
        if has_range and (self.start is None or self.end is None):
            raise ValueError("baseline range needs both start and end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("baseline end must be after its start")
        sources = [self.version is not None, self.previous_windows is not None]
        if not has_range and not any(sources):
            raise ValueError("baseline needs one of: start/end, version, previous_windows")
        if sources[0] and (has_range or sources[1]):
            raise ValueError("baseline 'version' cannot be combined with a range or windows")
        return self

    @property
    def kind(self) -> str:
        if self.previous_windows is not None:
            return "rolling"
        return "version" if self.version is not None else "range"


class RowCount(_Model):
    min: int = Field(1, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise ValueError("row_count max must be at least its min")
        return self


class ValueRange(_Model):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min and/or max")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("range max must be at least its min")
        return self


class Quality(_Model):
    """The data-quality gate of each window (Great Expectations), see kl_udfs/quality/gate.py.

    `not_null` None means [timestamp_column]; `mostly` is the fraction of (non-null) values
    that must pass for not_null, value_sets and ranges.
    """

    row_count: RowCount = Field(default_factory=RowCount)
    not_null: list[str] | None = None
    value_sets: dict[str, list[str | int | float | bool]] = {}
    ranges: dict[str, ValueRange] = {}
    types: dict[str, str] = {}
    mostly: float = Field(1.0, gt=0, le=1)

    @field_validator("value_sets")
    @classmethod
    def _non_empty_sets(
        cls, value: dict[str, list[str | int | float | bool]]
    ) -> dict[str, list[str | int | float | bool]]:
        empty = [column for column, allowed in value.items() if not allowed]
        if empty:
            raise ValueError(f"value set of '{empty[0]}' is empty")
        return value


class Monitor(_Model):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")
    table: str = Field(min_length=1)
    timestamp_column: str = Field(min_length=1)
    window: str = "1 day"
    baseline: Baseline
    columns: list[str] | None = None
    categorical_columns: list[str] = []
    exclude_columns: list[str] = []
    bins: int = Field(20, ge=2, le=1000)
    top_k: int = Field(50, ge=1, le=10_000)
    smoothing: float = Field(DEFAULT_PSEUDO_COUNT, gt=0)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    column_thresholds: dict[str, ColumnThresholds] = {}
    quality: Quality = Field(default_factory=Quality)
    # Airflow: schedule every missed window from the baseline's end when the DAG is turned on.
    catchup: bool = False
    # Airflow: `window` runs the drift DAG once a window on its cron; `source` runs it whenever
    # the source table's Asset gets an event (a pipeline's outlet), for every complete window
    # not computed yet.
    schedule: Literal["window", "source"] = "window"
    source_asset: str | None = Field(None, min_length=1)  # default: the table's URI

    @model_validator(mode="after")
    def _source_asset_known(self) -> Self:
        if self.schedule == "source" and self.source_asset is None and not self.is_path:
            raise ValueError("schedule 'source' on a catalog table needs source_asset "
                             "(the Asset URI its pipeline emits)")
        return self

    @property
    def source_asset_uri(self) -> str:
        """The Airflow Asset URI of the source table: `source_asset`, else the table's own
        location (`s3://…`, `file:///…`); a catalog table needs `source_asset`."""
        if self.source_asset:
            return self.source_asset
        if not self.is_path:
            raise ValueError(f"monitor {self.name!r}: table {self.table!r} is a catalog name; "
                             "set source_asset to the URI its pipeline emits")
        if self.table.startswith("s3a://"):
            return "s3://" + self.table.removeprefix("s3a://")
        if "://" in self.table:
            return self.table
        return Path(self.table).resolve().as_uri()

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_cadence(value)
        return value

    @property
    def cadence(self) -> Cadence:
        """The window length: fixed, or calendar months (`1 month`, `1 quarter`)."""
        return parse_cadence(self.window)

    @property
    def window_length(self) -> timedelta:
        """A fixed window's length (calendar windows have none: use `cadence`)."""
        fixed = self.cadence.fixed
        if fixed is None:
            raise ValueError(f"monitor {self.name!r}: window '{self.window}' has no fixed length")
        return fixed

    @property
    def is_path(self) -> bool:
        """A Delta path (has a slash or a scheme) rather than a catalog table name."""
        return "/" in self.table or ":" in self.table

    def policy(self) -> Policy:
        """The thresholds as the verdict applies them, with where each came from."""
        explicit = self.thresholds.model_fields_set
        rules = {r.name: (getattr(self.thresholds, r.name),
                          "monitor" if r.name in explicit else "default") for r in contract.RULES}
        columns = {
            column: {name: (getattr(override, name), "column") for name in
                     override.model_fields_set if name in contract.RULE}
            for column, override in self.column_thresholds.items()
        }
        min_rows = {column: override.min_rows for column, override in
                    self.column_thresholds.items() if override.min_rows is not None}
        learned = self.thresholds.learned
        learning = None if learned is None else Learning(
            warmup=learned.warmup, history=learned.history,
            level_windows=learned.level_windows, spread=learned.spread,
            seasonality=learned.seasonality)
        return Policy(thresholds=rules, fdr=self.thresholds.fdr,
                      correction=self.thresholds.correction, min_rows=self.thresholds.min_rows,
                      columns=columns, column_min_rows=min_rows, learning=learning)

    def threshold(self, rule: str, column: str) -> float | None:
        return self.policy().threshold(rule, column)[0]


class Monitoring(_Model):
    path: str = "./lakehouse/monitoring"
    database: str = Field("monitoring", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class SparkSettings(_Model):
    master: str | None = None  # KLDRIFT_SPARK_MASTER, then local[*], when unset
    conf: dict[str, str] = {}


class Config(_Model):
    monitoring: Monitoring = Field(default_factory=Monitoring)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    storage: ObjectStorage | None = None  # S3 or a compatible server; keys from the environment
    monitors: list[Monitor] = Field(min_length=1)

    def object_storage(self) -> ObjectStorage | None:
        """How to reach object storage, when the config names any (else None: no s3a jars)."""
        paths = [self.monitoring.path, *(m.table for m in self.monitors if m.is_path)]
        if self.storage is None and not any(map(is_object_store, paths)):
            return None
        return self.storage or ObjectStorage()

    def delta_rs_options(self) -> dict[str, str] | None:
        storage = self.object_storage()
        return storage.delta_rs_options() if storage else None

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [m.name for m in self.monitors]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"monitor names must be unique, repeated: {', '.join(duplicates)}")
        return self

    def monitor(self, name: str) -> Monitor:
        for monitor in self.monitors:
            if monitor.name == name:
                return monitor
        known = ", ".join(m.name for m in self.monitors)
        raise KlDriftError(f"no such monitor in the config (known: {known})", monitor=name)


def _resolve(path: str, base: Path) -> str:
    if ":" in path.split("/")[0] or Path(path).is_absolute():
        return path
    return str((base / path).resolve())


def parse_config(data: Any, base_dir: Path, source: str = "config",
                 origin: Origin | None = None) -> Config:
    """Validate raw data; relative paths resolve against `base_dir` (the config's folder);
    `origin` says where in the file each key was, for the errors."""
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise KlDriftError(f"{source}: expected a mapping with 'monitors', got {kind}")
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise config_error(error, Config, data, source, origin) from None
    monitoring = config.monitoring.model_copy(
        update={"path": _resolve(config.monitoring.path, base_dir)})
    monitors = [
        m.model_copy(update={"table": _resolve(m.table, base_dir)}) if m.is_path else m
        for m in config.monitors
    ]
    return config.model_copy(update={"monitoring": monitoring, "monitors": monitors})


def load_config(path: str | Path, only: str | None = None) -> Config:
    """The validated config; with `only`, just that monitor is validated (and kept), so one
    broken monitor entry does not stop the jobs of the others."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise KlDriftError(f"cannot read config {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise KlDriftError(f"cannot read config {path}: not UTF-8 text ({error.reason} at "
                           f"byte {error.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KlDriftError(f"{path}: not valid YAML: {error}") from None
    origin = Origin(key_lines(text))
    if only is not None and isinstance(data, dict) and isinstance(data.get("monitors"), list):
        entries = data["monitors"]
        indices = [i for i, entry in enumerate(entries)
                   if isinstance(entry, dict) and entry.get("name") == only]
        if not indices:
            known = ", ".join(str(m.get("name")) for m in entries if isinstance(m, dict))
            raise KlDriftError(f"no such monitor in {path} (known: {known})", monitor=only)
        data = {**data, "monitors": [entries[i] for i in indices]}
        origin = Origin(origin.lines, tuple(indices))
    return parse_config(data, path.parent.resolve(), source=str(path), origin=origin)
