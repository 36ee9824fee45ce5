"""The contract: statuses, rules and the monitoring tables' columns, each defined once.

Everything else is generated from here: the Spark and Arrow schemas of the tables, the pandas
UDF's output schema, the config's threshold keys, the dashboard's status labels, the Delta
column comments and `docs/data-dictionary.md`. Plain Python only (no numpy, no Spark), so any
layer can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMERIC, CATEGORICAL = "numeric", "categorical"


# ---------------------------------------------------------------------------------- statuses

@dataclass(frozen=True)
class Status:
    name: str
    label: str  # what a person reads in the dashboard and the CLI
    rank: int  # most urgent first: 0 is shown before 1
    judged: bool  # the numbers were compared with a threshold (ok or drift)
    meaning: str


STATUSES: tuple[Status, ...] = (
    Status("drift", "drift", 0, True,
           "a rule fired: its effect size reached its threshold and the change is significant "
           "after the multiple-testing correction (`reason` says which)"),
    Status("quality_failed", "quality gate failed", 1, False,
           "the window failed its data-quality gate; figures are stored but not judged"),
    Status("error", "error", 2, False,
           "the column could not be compared (see `message`): dropped, renamed or retyped "
           "since the baseline, new since it (the baseline has no bins for it), or no "
           "baseline"),
    Status("insufficient", "too few rows", 3, False,
           "fewer rows than `min_rows` in the window or the baseline: no verdict either way"),
    Status("no_data", "no data", 4, False, "the window has no rows"),
    Status("ok", "ok", 5, True, "no rule fired"),
)
STATUS = {s.name: s for s in STATUSES}
DRIFT, QUALITY_FAILED, ERROR, INSUFFICIENT, NO_DATA, OK = (s.name for s in STATUSES)


@dataclass(frozen=True)
class Term:
    """A status that is only a name and its meaning (an operation's, a table's freshness)."""

    name: str
    meaning: str


# How an operation (a `runs` row) stands. A row is written `running` when the operation starts
# and replaced by its outcome when it ends; a process killed on the way cannot replace it, so
# the next operation of the monitor does (kl_udfs/spark/runs.py, docs/reliability.md).
RUN_STATUSES: tuple[Term, ...] = (
    Term("running", "started and not ended yet, or its process is not yet known to be gone"),
    Term("succeeded", "ended and wrote everything it computed"),
    Term("failed", "ended with the error in `error`; nothing it computed was written, or its "
         "process ended while running (killed or crashed; see `error`)"),
)
RUNNING, SUCCEEDED, FAILED = (s.name for s in RUN_STATUSES)
PROCESS_GONE = "process ended while running: killed or crashed"
# A `running` row of another host, whose process cannot be looked up, counts as gone this long
# after it started (a process on this host is looked up: its pid and start time).
RUNNING_STALE_AFTER_HOURS = 24


# How recent the monitored table's last commit was when a run computed its windows
# (`volume_results.freshness_status`).
FRESHNESS_STATUSES: tuple[Term, ...] = (
    Term("stale", "the table's last commit is older than `freshness.max_age`"),
    Term("fresh", "the table's last commit is within `freshness.max_age`"),
    Term("unchecked", "no `freshness.max_age` is set, or the table has no Delta history to "
         "read its last commit from"),
)
STALE, FRESH, UNCHECKED = (s.name for s in FRESHNESS_STATUSES)
# The volume verdict's prediction interval: a window's row count outside the central
# VOLUME_LEVEL of what its history predicts is `drift` (kl_udfs/core/volume.py).
VOLUME_LEVEL = 0.99
VOLUME_STATUSES = (DRIFT, INSUFFICIENT, NO_DATA, OK)


# ---------------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class Rule:
    """One way a column can drift: an effect size with a threshold and a test behind it.

    `figure` is the drift_results column holding the effect size (bias-corrected where the
    plug-in estimate is biased), `spread` the column with its standard error. A rule with no
    default threshold is reported but judges nothing unless the config sets one.
    """

    name: str  # the config key under `thresholds`
    figure: str
    spread: str
    kinds: tuple[str, ...]
    default_threshold: float | None
    test: str
    says: str  # the reason text when it fires: "{figure}" and "{threshold}" are filled in
    meaning: str


BOTH = (NUMERIC, CATEGORICAL)
G_TEST = "G-test of the 2 x k table (Monte-Carlo conditional when sparse)"
FISHER = "one-sided Fisher exact test"
WELCH = "Welch's t-test, skewness-corrected"
LOG_SD_TEST = "z-test of the log standard deviations, kurtosis-aware standard errors"
# The moment rules judge columns whose baseline kurtosis (3 for a normal, 9 for an exponential)
# is at most this: in simulation, heavier-tailed columns (lognormal, Pareto, 1% outliers) made
# the standard-deviation test false-alarm at up to 37% (docs/bench/calibration.md, section 6).
MOMENT_KURTOSIS_LIMIT = 10.0
RULES: tuple[Rule, ...] = (
    Rule("psi", "psi_corrected", "psi_sd", BOTH, 0.1,
         G_TEST,
         "distribution changed (PSI {figure:.3f}, up to {upper:.3f} at 99%; threshold "
         "{threshold})",
         "population stability index between the window's and the baseline's bin shares, "
         "minus what it reaches by chance at these row counts"),
    Rule("null_share", "null_share_increase", "null_share_sd", BOTH, 0.02,
         FISHER,
         "more nulls ({current:.1%} of rows, baseline {baseline:.1%})",
         "share of rows that are null (or NaN) in the window minus the baseline's share"),
    Rule("unseen_share", "unseen_share_increase", "unseen_share_sd", (CATEGORICAL,), 0.02,
         FISHER,
         "values the baseline never saw ({current:.1%} of rows, expected {baseline:.1%})",
         "share of rows in `<unseen>` (values no baseline row held) in the window minus the "
         "baseline's leave-one-out share (its values held by one row: the Good-Turing "
         "estimate); columns without `<unseen>` compare `<other>` instead"),
    Rule("out_of_range_share", "out_of_range_share_increase", "out_of_range_share_sd",
         (NUMERIC,), 0.02, FISHER,
         "values beyond the baseline's range ({current:.1%} of rows, baseline {baseline:.1%})",
         "share of rows below the baseline's minimum or above its maximum in the window minus "
         "the baseline's share"),
    Rule("mean_shift", "mean_shift", "mean_shift_sd", (NUMERIC,), 0.3, WELCH,
         "mean moved {figure:.2f} baseline standard deviations ({baseline:.6g} -> "
         "{current:.6g}; threshold {threshold})",
         "|window mean - baseline mean| / baseline standard deviation, of the finite values; "
         "judged only where the baseline's kurtosis is at most "
         f"{MOMENT_KURTOSIS_LIMIT:g} (heavier tails make the mean unstable, and the histogram "
         "rules see those changes)"),
    Rule("std_change", "std_change", "std_change_sd", (NUMERIC,), 0.2, LOG_SD_TEST,
         "spread changed: standard deviation {baseline:.6g} -> {current:.6g} (|ln ratio| "
         "{figure:.2f}; threshold {threshold})",
         "|ln(window standard deviation / baseline standard deviation)|, each corrected for "
         "its small-sample bias; judged only where the baseline's kurtosis is at most "
         f"{MOMENT_KURTOSIS_LIMIT:g}"),
    Rule("kl", "kl_corrected", "kl_sd", BOTH, None,
         G_TEST,
         "distribution changed (KL(baseline||window) {figure:.3f}, up to {upper:.3f} at 99%; "
         "threshold {threshold})",
         "KL(baseline || window) in nats minus its chance level at these row counts"),
    Rule("kl_reverse", "kl_reverse_corrected", "kl_reverse_sd", BOTH, None,
         G_TEST,
         "distribution changed (KL(window||baseline) {figure:.3f}, up to {upper:.3f} at 99%; "
         "threshold {threshold})",
         "KL(window || baseline) in nats minus its chance level at these row counts"),
    Rule("js", "js_corrected", "js_sd", BOTH, None,
         G_TEST,
         "distribution changed (JS {figure:.3f}, up to {upper:.3f} at 99%; threshold "
         "{threshold})",
         "Jensen-Shannon divergence in bits minus its chance level at these row counts"),
)
RULE = {r.name: r for r in RULES}
# The share rules compare one group of bins ("role") of the window with the baseline's.
SHARE_ROLE = {"null_share": "null", "unseen_share": "unseen", "out_of_range_share": "outside"}
# A column without that group's bins is judged on this one (no `<unseen>`: `<other>`).
FALLBACK_GROUP = {"unseen": "other"}
# The moment rules quote the column's mean or standard deviation in their reason.
MOMENT_OF = {"mean_shift": "mean", "std_change": "std"}
FALLBACK_SAYS = {"unseen_share": "values outside the baseline's top categories ({current:.1%} "
                                 "of rows, baseline {baseline:.1%})"}

DEFAULT_FDR = 0.01
DEFAULT_MIN_ROWS = 30
# One-sided z of the confidence bound an effect size must reach its threshold with: a rule
# stays quiet only when the change is below its threshold with 99% confidence.
EFFECT_BOUND_Z = 2.3263478740408408
THRESHOLD_SOURCES = ("default", "monitor", "column", "learned")


def rules_for(kind: str) -> tuple[Rule, ...]:
    return tuple(r for r in RULES if kind in r.kinds)


def p_column(rule: Rule) -> str:
    """The figures column holding the rule's own p-value (divergences share the G-test's)."""
    return "distribution_p_value" if rule.test == G_TEST else f"{rule.name}_p_value"


# Bin roles: which bins a share rule reads, without parsing labels.
BIN_ROLES = ("value", "null", "other", "unseen", "below", "above")
ROLE_GROUPS = {"null": ("null",), "other": ("other",), "unseen": ("unseen",),
               "outside": ("below", "above")}


# ---------------------------------------------------------------------------------- tables

@dataclass(frozen=True)
class Column:
    name: str
    type: str  # see TYPES; structs by name
    meaning: str


# Struct types, by the name the columns use for them.
STRUCTS: dict[str, tuple[Column, ...]] = {
    "contributor": (
        Column("bin", "string", "bin label"),
        Column("contribution", "double", "the bin's PSI term"),
        Column("baseline_fraction", "double", "the bin's share of baseline rows"),
        Column("current_fraction", "double", "the bin's share of window rows"),
    ),
    "check": (
        Column("rule", "string", "rule name (a key under `thresholds`)"),
        Column("figure", "double", "the rule's effect size"),
        Column("threshold", "double", "the threshold it was compared with"),
        Column("threshold_source", "string", "default, monitor or column"),
        Column("p_value", "double", "the rule's own test, before any correction"),
        Column("effect_reached", "boolean",
               "the effect size's 99% upper bound reached the threshold"),
        Column("fired", "boolean", "the rule made the row `drift`"),
    ),
}
SCALARS = ("string", "double", "long", "int", "boolean", "timestamp")
TYPES = (*SCALARS, *(f"array<{t}>" for t in ("string", "double", "long", "timestamp", *STRUCTS)))


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    partitions: tuple[str, ...]
    meaning: str

    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, kind: str, meaning: str) -> Column:
    assert kind in TYPES, kind
    return Column(name, kind, meaning)


_WINDOW = (
    _c("monitor", "string", "monitor name"),
    _c("table_name", "string", "the monitored table"),
    _c("column_name", "string", "the monitored column"),
    _c("column_kind", "string", "numeric or categorical"),
    _c("window_start", "timestamp", "window start (inclusive, UTC)"),
    _c("window_end", "timestamp", "window end (exclusive, UTC)"),
    _c("baseline_id", "string", "the baseline compared with (`baselines.baseline_id`)"),
)
_STAMP = (
    _c("run_id", "string", "the run that wrote the row (`runs.run_id`)"),
    _c("computed_at", "timestamp", "when the row was written"),
)
_ROW_KEY = ("monitor", "column_name", "window_start", "window_end", "baseline_id")


def _share_columns(role: str, what: str) -> tuple[Column, ...]:
    return (
        _c(f"baseline_{role}_fraction", "double", f"share of baseline rows {what}"),
        _c(f"current_{role}_fraction", "double", f"share of window rows {what}"),
    )


def _moment_columns(prefix: str, whose: str) -> tuple[Column, ...]:
    units = " (numeric columns, finite values; dates in days, times in seconds)"
    return (_c(f"{prefix}mean", "double", f"{whose} mean{units}"),
            _c(f"{prefix}std", "double", f"{whose} sample standard deviation{units}"))


MOMENT_SUMS = _c("moment_sums", "array<double>",
                 "n, sum z, sum z^2, sum z^3, sum z^4 over the finite values, z = (value - "
                 "center) / scale with the `center` and `scale` of the baseline's `bins_json`: "
                 "what the mean and std rules are computed from, and what rolling baselines add")


DRIFT_RESULTS = Table("drift_results", (
    *_WINDOW,
    _c("kl_divergence", "double", "KL(baseline || window), nats, on smoothed shares"),
    _c("kl_reverse", "double", "KL(window || baseline), nats, on smoothed shares"),
    _c("js_divergence", "double", "Jensen-Shannon divergence, bits, in [0, 1]"),
    _c("psi", "double", "population stability index (plug-in, on smoothed shares)"),
    _c("g_statistic", "double", "G statistic of the 2 x k table of raw counts"),
    _c("p_value", "double",
       "the column's p-value: the smallest Bonferroni-adjusted p of the rules whose effect "
       "reached their threshold (1 when none did)"),
    _c("current_count", "long", "rows in the window"),
    _c("baseline_count", "long", "rows in the baseline"),
    *_share_columns("null", "that are null or NaN"),
    _c("threshold", "double", "the `psi` threshold applied"),
    _c("p_value_threshold", "double", "the false discovery rate `q_value` is compared with"),
    _c("status", "string", "verdict: " + ", ".join(s.name for s in STATUSES)),
    _c("message", "string", "why a row is error, insufficient or quality_failed"),
    _c("top_contributors", "array<contributor>", "the bins that moved most, by PSI term"),
    _c("run_id", "string", _STAMP[0].meaning),
    _c("computed_at", "timestamp", _STAMP[1].meaning),
    # Added with the verdict rules; existing tables gain them by schema evolution.
    *_share_columns("other", "outside the baseline's top categories (`<other>`)"),
    *_share_columns("outside", "below the baseline's minimum or above its maximum"),
    _c("psi_corrected", "double", "PSI minus its chance level at these row counts, >= 0"),
    _c("psi_sd", "double", "standard error of `psi_corrected`"),
    _c("dof", "int", "degrees of freedom of the G-test: non-empty bins - 1"),
    _c("p_value_method", "string", "chi2, monte_carlo or monte_carlo_tail (see docs/verdicts.md)"),
    _c("q_value", "double",
       "Benjamini-Hochberg adjusted p-value across the judged columns of the window"),
    _c("reason", "string", "in words: which rules fired, or why the row is not drift"),
    _c("fired_rules", "array<string>", "names of the rules that fired"),
    _c("checks", "array<check>", "every rule's figure, threshold, p-value and outcome"),
    _c("threshold_source", "string", "where the `psi` threshold came from: "
       + ", ".join(THRESHOLD_SOURCES)),
    *_share_columns("unseen", "in `<unseen>`: values the baseline never saw (for the baseline, "
                    "values one row holds)"),
    *_moment_columns("baseline_", "the baseline's"),
    *_moment_columns("current_", "the window's"),
), _ROW_KEY, ("monitor", "window_start"),
    "one row per monitor, column, window and baseline: the figures and the verdict")

PROFILES = Table("profiles", (
    *_WINDOW,
    _c("bin_labels", "array<string>", "labels of the column's bins"),
    _c("counts", "array<long>", "the window's count in each bin"),
    _c("count", "long", "rows in the window"),
    _c("null_count", "long", "null or NaN rows"),
    _c("min", "double", "smallest value (numeric columns; dates as days, times as seconds)"),
    _c("max", "double", "largest value"),
    *_STAMP,
    *_moment_columns("", "the window's"),
    MOMENT_SUMS,
), _ROW_KEY, ("monitor", "window_start"), "the window's histogram of every monitored column")

BASELINES = Table("baselines", (
    _c("monitor", "string", "monitor name"),
    _c("baseline_id", "string", "deterministic id of the bins and their source"),
    _c("column_name", "string", "the monitored column"),
    _c("column_idx", "int", "position of the column in the baseline"),
    _c("column_kind", "string", "numeric or categorical"),
    _c("source_type", "string", "Spark type of the column when the baseline was built"),
    _c("bins_json", "string", "the frozen bin definition"),
    _c("edges", "array<double>", "inner quantile edges (numeric)"),
    _c("categories", "array<string>", "top-K categories (categorical)"),
    _c("bin_labels", "array<string>", "labels of the bins"),
    _c("counts", "array<long>",
       "the baseline's count in each bin (`<unseen>`: rows whose value no other row holds)"),
    _c("count", "long", "baseline rows"),
    _c("null_count", "long", "null or NaN baseline rows"),
    _c("min", "double", "smallest baseline value (numeric)"),
    _c("max", "double", "largest baseline value (numeric)"),
    _c("skipped_reason", "string", "why a column is not monitored"),
    _c("source", "string", "what the baseline was learnt from, in words"),
    _c("table_name", "string", "the monitored table"),
    _c("table_version", "long", "Delta version the reference was read at"),
    _c("range_start", "timestamp", "reference range start"),
    _c("range_end", "timestamp", "reference range end"),
    _c("previous_windows", "int", "rolling baselines: how many previous windows"),
    _c("window_length_s", "long", "window length in seconds (calendar windows: the mean)"),
    _c("created_at", "timestamp", "when the baseline was built"),
    _c("run_id", "string", "the run that built it"),
    *_moment_columns("", "the baseline's"),
    MOMENT_SUMS,
), ("monitor", "baseline_id", "column_name"), ("monitor",),
    "frozen bins and reference counts, one row per monitored column")

RUNS = Table("runs", (
    _c("run_id", "string", "unique per run"),
    _c("monitor", "string", "monitor name"),
    _c("table_name", "string", "the monitored table"),
    _c("operation", "string", "baseline, run or backfill"),
    _c("window_start", "timestamp", "first window's start"),
    _c("window_end", "timestamp", "last window's end"),
    _c("baseline_id", "string", "the baseline used"),
    _c("windows", "int", "windows computed"),
    _c("columns", "int", "columns compared"),
    _c("rows_scanned", "long", "rows read"),
    _c("duration_s", "double", "wall-clock seconds"),
    _c("status", "string", ", ".join(s.name for s in RUN_STATUSES) + " (see Run statuses)"),
    _c("error", "string", "the error of a failed run"),
    _c("started_at", "timestamp", "start"),
    _c("finished_at", "timestamp",
       "end (a run whose process was found gone: when the next operation found it)"),
    # Added with the concurrency faults; existing tables gain them by schema evolution.
    _c("conflict_retries", "int",
       "MERGEs of this run retried after a concurrent writer's commit conflicted with them"),
    _c("owner", "string",
       "the process that ran it, `host:pid:start` (start: the process's start time in clock "
       "ticks since boot, `-` where unknown): how a `running` row whose process is gone is "
       "told apart"),
    # Added with late data (docs/reliability.md#late-data); older tables gain them likewise.
    _c("source_version", "long", "the monitored table's Delta version the operation read"),
    _c("late_rows", "long",
       "a run: rows changed since the previous run's `source_version` in windows already "
       "computed (Change Data Feed: exact; otherwise the rows of the changed files)"),
    _c("recomputed_windows", "array<timestamp>",
       "a run: starts of the already-computed windows it recomputed because their rows changed"),
    _c("late_windows_skipped", "int",
       "a run: changed windows left as they were, past `late_data_max_windows` (the oldest "
       "ones; recompute them with a backfill)"),
), ("run_id",), ("monitor",), "one row per job run, failed ones included")

QUALITY_RESULTS = Table("quality_results", (
    _c("monitor", "string", "monitor name"),
    _c("table_name", "string", "the monitored table"),
    _c("window_start", "timestamp", "window start"),
    _c("window_end", "timestamp", "window end"),
    _c("expectation", "string", "Great Expectations expectation type"),
    _c("column_name", "string", "its column (null for table-level expectations)"),
    _c("success", "boolean", "whether it passed"),
    _c("observed_value", "string", "what was observed"),
    _c("details", "string", "in words"),
    *_STAMP,
), ("monitor", "window_start", "window_end", "expectation", "column_name"), ("monitor",),
    "the quality gate's result per window and expectation")

VOLUME_RESULTS = Table("volume_results", (
    _c("monitor", "string", "monitor name"),
    _c("table_name", "string", "the monitored table"),
    _c("window_start", "timestamp", "window start (inclusive, UTC)"),
    _c("window_end", "timestamp", "window end (exclusive, UTC)"),
    _c("row_count", "long", "rows in the window"),
    _c("expected_count", "double",
       "the row count the history predicts (null without enough history)"),
    _c("expected_low", "double",
       f"lower end of the {VOLUME_LEVEL:.0%} prediction interval of the row count"),
    _c("expected_high", "double",
       f"upper end of the {VOLUME_LEVEL:.0%} prediction interval of the row count"),
    _c("history_windows", "int",
       "how many earlier windows (of the same weekday or hour with `volume.seasonality`) the "
       "prediction used"),
    _c("status", "string", "volume verdict: " + ", ".join(VOLUME_STATUSES)
       + " (`drift`: the row count is outside the interval; `insufficient`: fewer than "
       "`volume.min_history` earlier windows; `no_data`: no rows and too little history)"),
    _c("reason", "string", "the verdict in words: the count, what was expected and from what"),
    _c("source_committed_at", "timestamp",
       "when the monitored table's latest Delta commit was made, as the run read it"),
    _c("source_version", "long", "the Delta version of that commit (the version the run read)"),
    _c("max_age_s", "long", "`freshness.max_age` in seconds (null: not set)"),
    _c("freshness_status", "string", "freshness verdict: "
       + ", ".join(s.name for s in FRESHNESS_STATUSES) + " (see Freshness statuses)"),
    *_STAMP,
), ("monitor", "window_start", "window_end"), ("monitor",),
    "one row per monitor and window: its row count against what the monitor's earlier windows "
    "predict, and how recent the monitored table's last commit was")

TABLES: tuple[Table, ...] = (DRIFT_RESULTS, PROFILES, BASELINES, RUNS, QUALITY_RESULTS,
                             VOLUME_RESULTS)
TABLE = {t.name: t for t in TABLES}


def markdown_cell(text: str) -> str:
    """Text in a Markdown table cell: a `|` (as in "KL(baseline || window)") would end it."""
    return text.replace("|", "\\|")


def data_dictionary() -> str:
    """The Markdown data dictionary of every table, status and rule (docs/data-dictionary.md)."""
    lines = ["# Data dictionary", "",
             "Generated from `kl_udfs/core/contract.py` by `python -m kl_udfs.core.contract`; "
             "do not edit by hand.",
             ""]
    for table in TABLES:
        lines += [f"## `{table.name}`", "", table.meaning + ".", "",
                  f"Key: {', '.join(table.keys)}. Partitioned by {', '.join(table.partitions)}.",
                  "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {markdown_cell(c.meaning)} |" for c in table.columns]
        lines.append("")
    for struct, fields in STRUCTS.items():
        lines += [f"### struct `{struct}`", "", "| field | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {markdown_cell(c.meaning)} |" for c in fields]
        lines.append("")
    lines += ["## Statuses", "", "| status | shown as | meaning |", "|---|---|---|"]
    lines += [f"| `{s.name}` | {s.label} | {markdown_cell(s.meaning)} |" for s in STATUSES]
    lines += ["", "## Run statuses", "",
              "The `status` of a `runs` row. A `running` row whose process is gone (on the "
              "same host: its pid ended or belongs to a newer process; elsewhere: started "
              f"over {RUNNING_STALE_AFTER_HOURS} hours ago) is marked `failed` with the error "
              f"\"{PROCESS_GONE}\" by the monitor's next operation.", "",
              "| status | meaning |", "|---|---|"]
    lines += [f"| `{s.name}` | {markdown_cell(s.meaning)} |" for s in RUN_STATUSES]
    lines += ["", "## Freshness statuses", "",
              "The `freshness_status` of a `volume_results` row.", "",
              "| status | meaning |", "|---|---|"]
    lines += [f"| `{s.name}` | {markdown_cell(s.meaning)} |" for s in FRESHNESS_STATUSES]
    lines += ["", "## Rules", "",
              "| rule (`thresholds` key) | column kinds | default threshold | figure | test | "
              "meaning |", "|---|---|---|---|---|---|"]
    for r in RULES:
        default = "off unless set" if r.default_threshold is None else f"{r.default_threshold:g}"
        lines.append(f"| `{r.name}` | {', '.join(r.kinds)} | {default} | `{r.figure}` | "
                     f"{markdown_cell(r.test)} | {markdown_cell(r.meaning)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m kl_udfs.core.contract > docs/data-dictionary.md
    print(data_dictionary(), end="")
