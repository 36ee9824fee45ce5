"""The monitors config (YAML), validated into typed models; every problem reported at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from kl_udfs.core import contract, environment
from kl_udfs.core.config_errors import Origin, config_error, key_lines
from kl_udfs.core.defaults import DEFAULT_PSEUDO_COUNT
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.late import DEFAULT_LATE_WINDOWS
from kl_udfs.core.policy import LEARNED, Learning, Policy, Seasonality, VolumeSettings
from kl_udfs.core.storage import SCHEMES, ObjectStorage, is_object_store
from kl_udfs.core.windows import (
    CALENDAR_UNITS,
    UNITS,
    Cadence,
    parse_cadence,
    parse_duration,
    parse_instant,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Every field has a `description`: docs/config-reference.md and the JSON Schema editors read
# (kl_udfs/core/config_reference.py) are generated from these models.

# An ISO date or timestamp. YAML reads an unquoted 2026-01-01 as a date, and an editor's schema
# check sees the text: both are accepted, by `parse_instant`.
Instant = Annotated[datetime, WithJsonSchema(
    {"type": "string", "examples": ["2026-01-01", "2026-01-31T06:00:00Z"]})]
_OBJECT_STORE = "an " + " or ".join(f"`{scheme}`" for scheme in SCHEMES) + " URI"


# One field per rule of the contract: its threshold, or null to switch the rule off.
_RULE_FIELDS: dict[str, Any] = {
    r.name: (float | None, Field(r.default_threshold, gt=0, description=(
        f"{r.meaning}; judges {' and '.join(r.kinds)} columns")))
    for r in contract.RULES
}


_LEARNING = Learning()  # the defaults live with the rule


class Learned(_Model):
    """Divergence thresholds learnt per column from its own ok windows, on the square root of
    the figure: threshold = (level + spread x s)^2, the level being the median of the last
    `level_windows` teaching windows and s 1.4826 x the median window-to-window change over
    the last `history` (kl_udfs/core/verdict.py). The other rules keep their fixed
    thresholds."""

    warmup: int = Field(_LEARNING.warmup, ge=2, description=(
        "judged windows of the same baseline (and seasonal slot) a column needs before its "
        "threshold is learnt; until then the fixed thresholds apply"))
    history: int = Field(_LEARNING.history, ge=2, description=(
        "latest teaching windows whose window-to-window changes give the spread"))
    level_windows: int = Field(_LEARNING.level_windows, ge=1, description=(
        "latest teaching windows whose median is the level"))
    spread: float = Field(_LEARNING.spread, gt=0, description=(
        "the multiple of s the threshold lies above the level"))
    seasonality: Seasonality = Field(_LEARNING.seasonality, description=(
        "learn one threshold per weekday or per hour of the day (of the window's start) "
        "instead of one for all windows"))


def _or_true(schema: dict[str, Any]) -> None:
    """`learned: true` is short for `learned: {}` (_ThresholdsBase._learned_shorthand)."""
    schema["anyOf"].append({"const": True, "description": "learned thresholds, every default"})


def _p_value_is_fdr_schema(schema: dict[str, Any]) -> None:
    """`p_value`, still read as `fdr` (_ThresholdsBase._p_value_is_fdr), with fdr's bounds."""
    fdr = {k: v for k, v in schema["properties"]["fdr"].items() if k not in ("default", "title")}
    schema["properties"]["p_value"] = {**fdr, "deprecated": True, "description": (
        "the former name of `fdr`, read as `fdr`")}


class _ThresholdsBase(_Model):
    model_config = ConfigDict(json_schema_extra=_p_value_is_fdr_schema)

    fdr: float = Field(contract.DEFAULT_FDR, gt=0, le=1, description=(
        "false discovery rate across a window's judged columns: a column drifts when a rule's "
        "effect reached its threshold and its q-value is at most this"))
    correction: Literal["bh", "none"] = Field("bh", description=(
        "multiple-testing correction across a window's columns: `bh` Benjamini-Hochberg, "
        "`none` compares each column's own p-value with `fdr`"))
    min_rows: int = Field(contract.DEFAULT_MIN_ROWS, ge=1, description=(
        "fewer rows than this in the window or the baseline make a column `insufficient`: "
        "no verdict either way"))
    learned: Learned | None = Field(None, json_schema_extra=_or_true, description=(
        "learn the divergence thresholds from each column's history (`true`: with every "
        "default); null: the fixed thresholds only"))

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


Thresholds = create_model(
    "Thresholds", __base__=_ThresholdsBase, __doc__=(
        "When a column drifts: a rule fires when its effect size reaches the rule's threshold "
        "(its 99% upper bound does) and the column is significant at `fdr`. A rule set to "
        "null is off. Each rule's figure and test: docs/verdicts.md."),
    **_RULE_FIELDS)


class _ColumnThresholdsBase(_Model):
    min_rows: int | None = Field(None, ge=1, description=(
        "this column's `min_rows`; null: the monitor's `thresholds.min_rows`"))

    @model_validator(mode="before")
    @classmethod
    def _no_p_value(cls, data: Any) -> Any:
        if isinstance(data, dict) and "p_value" in data:
            raise ValueError("a per-column p_value is no longer used: significance is "
                             "controlled per window by thresholds.fdr")
        return data


def _unset(schema: dict[str, Any]) -> None:
    """Unset is not null here: unset keeps the monitor's threshold, null switches it off."""
    del schema["default"]


_COLUMN_RULE_FIELDS: dict[str, Any] = {
    name: (float | None, Field(None, gt=0, json_schema_extra=_unset, description=(
        f"this column's `{name}` threshold instead of `thresholds.{name}`; null: the rule is "
        "off for this column")))
    for name in _RULE_FIELDS}
# Per column, a rule key present (even as null) overrides the monitor's threshold.
ColumnThresholds = create_model(
    "ColumnThresholds", __base__=_ColumnThresholdsBase, __doc__=(
        "One column's thresholds: a key set here, even to null, replaces the monitor's for "
        "this column; a key left out keeps the monitor's."),
    **_COLUMN_RULE_FIELDS)


class Baseline(_Model):
    """Exactly one source: a time range, a Delta version, or the previous N windows.

    A rolling baseline (previous_windows) still needs frozen bins: they are built from
    start/end when given, else from the first N windows of the table.
    """

    start: Instant | None = Field(None, description=(
        "start of the reference time range (inclusive): an ISO date or timestamp, UTC unless "
        "it has an offset; with `end`"))
    end: Instant | None = Field(None, description=(
        "end of the reference time range (exclusive), after `start`"))
    version: int | None = Field(None, ge=0, description=(
        "a Delta version of the table: the whole table as it was then (time travel); "
        "alone"))
    previous_windows: int | None = Field(None, ge=1, description=(
        "rolling: the N windows before each window, summed from their stored counts"))

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
    """Bounds of a window's row count."""

    min: int = Field(1, ge=0, description="fewest rows a window may have (1: an empty one fails)")
    max: int | None = Field(None, ge=0, description="most rows; null: no upper bound")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise ValueError("row_count max must be at least its min")
        return self


class ValueRange(_Model):
    """Bounds of a column's non-null values (inclusive): min, max or both."""

    min: float | None = Field(None, description="smallest value allowed; null: no lower bound")
    max: float | None = Field(None, description="largest value allowed; null: no upper bound")

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min and/or max")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("range max must be at least its min")
        return self


class Quality(_Model):
    """The data-quality gate of each window (Great Expectations, kl_udfs/quality/gate.py):
    one expectation per check. The drift rows of a window that fails it are stored as
    `quality_failed`. Every column named must exist in the table."""

    row_count: RowCount = Field(default_factory=RowCount, description=(
        "bounds of the window's row count"))
    not_null: list[str] | None = Field(None, description=(
        "columns that must have no nulls; null: [`timestamp_column`]"))
    value_sets: dict[str, list[str | int | float | bool]] = Field({}, description=(
        "per column name, the values its non-null values must be among"))
    ranges: dict[str, ValueRange] = Field({}, description=(
        "per column name, the bounds of its non-null values"))
    types: dict[str, str] = Field({}, description=(
        "per column name, its Spark type: a class name of pyspark.sql.types, e.g. "
        "DoubleType"))
    mostly: float = Field(1.0, gt=0, le=1, description=(
        "share of the values that must pass `not_null` (of all rows), `value_sets` and "
        "`ranges` (of the non-null values)"))

    @field_validator("value_sets")
    @classmethod
    def _non_empty_sets(
        cls, value: dict[str, list[str | int | float | bool]]
    ) -> dict[str, list[str | int | float | bool]]:
        empty = [column for column, allowed in value.items() if not allowed]
        if empty:
            raise ValueError(f"value set of '{empty[0]}' is empty")
        return value


_VOLUME = VolumeSettings()


class Volume(_Model):
    """The volume verdict of each window: its row count against the prediction interval the
    monitor's earlier windows give (kl_udfs/core/volume.py, docs/verdicts.md), written to
    `volume_results`."""

    enabled: bool = Field(True, description="judge each window's row count")
    history_windows: int = Field(_VOLUME.history_windows, ge=2, description=(
        "latest earlier windows (of the same weekday or hour with `seasonality`) the "
        "prediction is made from"))
    min_history: int = Field(_VOLUME.min_history, ge=2, description=(
        "earlier windows needed before a count is judged; until then it is `insufficient`"))
    seasonality: Seasonality | None = Field(None, description=(
        "predict each window from earlier windows of the same weekday or hour of the day; "
        "null: `thresholds.learned.seasonality` when thresholds are learned, else `none`"))

    @model_validator(mode="after")
    def _enough_history(self) -> Self:
        if self.min_history > self.history_windows:
            raise ValueError(f"volume min_history ({self.min_history}) cannot exceed "
                             f"history_windows ({self.history_windows})")
        return self


class Freshness(_Model):
    """How recent the monitored table's last Delta commit must be when a window is computed."""

    max_age: str | None = Field(None, examples=["36 hours", "2 days"], description=(
        "the longest time since the table's last commit, `<n> <unit>`, before its windows are "
        "`stale` (and alerted); null: recorded, not judged"))

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_duration(value)
            except ValueError:
                raise ValueError(f"max_age '{value}' is not '<n> <unit>' with unit in "
                                 f"{', '.join(UNITS)}") from None
        return value

    @property
    def max_age_delta(self) -> timedelta | None:
        return None if self.max_age is None else parse_duration(self.max_age)


def _or_learned(schema: dict[str, Any]) -> None:
    """`thresholds: learned` is short for `{learned: {}}` (_ThresholdsBase._learned_shorthand)."""
    ref = {key: schema.pop(key) for key in ("$ref", "anyOf") if key in schema}
    schema["anyOf"] = [ref, {"const": LEARNED, "description": "learned thresholds, every "
                                                                "default"}]


class Monitor(_Model):
    """One monitored table: which columns, how windows are cut and binned, how each window is
    judged and checked."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", description=(
        "the monitor's name, unique in the config: `--monitor`, the DAG ids and the "
        "`monitor` column of every table"))
    table: str = Field(min_length=1, description=(
        f"a Delta path (local, relative to the config's folder, or {_OBJECT_STORE}) or a "
        "catalog table name"))
    timestamp_column: str = Field(min_length=1, description=(
        "the date or timestamp column windows are cut on"))
    window: str = Field("1 day", examples=["1 day", "6 hours", "1 month"], description=(
        f"window length, `<n> <unit>`: fixed ({', '.join(UNITS)}), aligned to midnight UTC "
        f"(weeks start on Monday), or calendar ({', '.join(CALENDAR_UNITS)}), which must "
        "divide a year; windows are [start, end) in UTC"))
    baseline: Baseline = Field(description="what each window is compared with")
    columns: list[str] | None = Field(None, description=(
        "the columns to monitor; null: every column of the table but `timestamp_column` and "
        "`exclude_columns` (unsupported types are recorded as skipped)"))
    categorical_columns: list[str] = Field([], description=(
        "numeric columns binned by value, as categories (codes), instead of by quantiles"))
    exclude_columns: list[str] = Field([], description=(
        "columns left out when `columns` is null"))
    bins: int = Field(20, ge=2, le=1000, description=(
        "quantile bins of each numeric column, learnt once from the baseline"))
    top_k: int = Field(50, ge=1, le=10_000, description=(
        "most frequent baseline values kept per categorical column; the rest are `<other>`"))
    smoothing: float = Field(DEFAULT_PSEUDO_COUNT, gt=0, description=(
        "pseudo-count added to every bin before the divergences are computed (0.5: the "
        "Jeffreys prior)"))
    thresholds: Thresholds = Field(default_factory=Thresholds, json_schema_extra=_or_learned,
                                   description=(f"the rules' thresholds and significance; "
                                                f"`{LEARNED}`: learned thresholds"))
    column_thresholds: dict[str, ColumnThresholds] = Field({}, description=(
        "per column name, thresholds that replace the monitor's"))
    quality: Quality = Field(default_factory=Quality, description=(
        "the data-quality gate each window is checked with"))
    volume: Volume = Field(default_factory=Volume, description=(
        "the row-count verdict of each window"))
    freshness: Freshness = Field(default_factory=Freshness, description=(
        "how recent the table's last commit must be"))
    catchup: bool = Field(False, description=(
        "Airflow: when the DAG is turned on, schedule every window since the baseline's end; "
        "false: the latest only"))
    schedule: Literal["window", "source"] = Field("window", description=(
        "Airflow: `window` runs the drift DAG once a window, on its cron; `source` runs it on "
        "each event of the source table's Asset (the outlet of the task that loads it), for "
        "every complete window not computed yet"))
    late_data: Literal["recompute", "ignore"] = Field("recompute", description=(
        "rows that change windows already computed (a late append, a backfilled fix, an "
        "overwritten partition): `recompute` those windows in the next `run`; `ignore` leaves "
        "them as computed"))
    late_data_max_windows: int = Field(DEFAULT_LATE_WINDOWS, ge=1, description=(
        "most changed windows one `run` recomputes: the newest ones; the rest are left as "
        "they were and counted in `runs.late_windows_skipped`"))
    source_asset: str | None = Field(None, min_length=1, description=(
        "the Asset URI of the source table for `schedule: source`; null: the table's location "
        "(`s3://…`, `file:///…`), which a catalog table does not have"))

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

    def volume_settings(self) -> VolumeSettings:
        """The volume verdict's settings, its seasonality resolved."""
        learned = self.thresholds.learned
        seasonality = self.volume.seasonality or (learned.seasonality if learned else "none")
        return VolumeSettings(self.volume.history_windows, self.volume.min_history,
                              seasonality)

    def threshold(self, rule: str, column: str) -> float | None:
        return self.policy().threshold(rule, column)[0]


class Monitoring(_Model):
    """Where the monitoring Delta tables (docs/data-dictionary.md) are written."""

    path: str = Field("./lakehouse/monitoring", description=(
        f"folder of the monitoring tables: local, relative to the config's folder, or "
        f"{_OBJECT_STORE}"))
    database: str = Field("monitoring", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description=(
        "catalog database the tables are registered in, for SQL "
        "(`monitoring.drift_results`)"))


class SparkSettings(_Model):
    """The Spark session of the jobs kldrift starts."""

    master: str | None = Field(None, description=(
        f"Spark master; `--master` wins, and so does spark-submit's own. null: "
        f"`${environment.SPARK_MASTER}`, else `local[*]`"))
    conf: dict[str, str] = Field({}, description=(
        "extra Spark settings, which win over kl-drift's own (such as "
        "spark.sql.shuffle.partitions)"))


class Config(_Model):
    """A kl-drift monitors config: where the results go, how Spark and object storage are
    reached, and the monitors."""

    monitoring: Monitoring = Field(default_factory=Monitoring, description=(
        "where the monitoring tables are written"))
    spark: SparkSettings = Field(default_factory=SparkSettings, description=(
        "the jobs' Spark session"))
    storage: ObjectStorage | None = Field(None, description=(
        f"S3 or an S3-compatible server; null: AWS S3 itself, when a path is {_OBJECT_STORE}. "
        "Credentials come from the environment, never from the config"))
    monitors: list[Monitor] = Field(min_length=1, description=(
        "the monitored tables, one entry each"))

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
