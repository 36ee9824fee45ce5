"""The `kldrift` command: validate, baseline, run, backfill, quality, status, check, sql,
dashboard, demo, schema."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from kl_udfs.core.errors import BAD_INPUT_EXIT, GATE_FAILED_EXIT, KlDriftError
from kl_udfs.core.output import FORMATS, format_json_object, progress_note

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from kl_udfs.core.config import Config
from kl_udfs.core.windows import Window, parse_instant


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO date or timestamp") from None


def _window(args: argparse.Namespace) -> Window:
    try:
        return Window(args.start, args.end)
    except ValueError as error:
        raise KlDriftError(str(error), monitor=args.monitor) from None


def _windows(args: argparse.Namespace, config: Config) -> list[Window]:
    """[start, end) cut into the monitor's windows (one, when it is a single window)."""
    _window(args)
    try:
        return config.monitor(args.monitor).cadence.split(args.start, args.end)
    except ValueError as error:
        raise KlDriftError(str(error), monitor=args.monitor) from None


class _Version(argparse.Action):
    """`--version`, read from the package metadata only when asked: a job shipped to a cluster
    as a zip (--py-files) parses its arguments here too, and has no metadata."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: object) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                         nargs=0, help="print kldrift's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"kldrift {version('kl-drift')}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kldrift", description=__doc__)
    parser.add_argument("--version", action=_Version)
    parser.add_argument("--master", help="Spark master (default: $KLDRIFT_SPARK_MASTER, "
                                         "the config's spark.master, else local[*])")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(name: str, text: str, monitor: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--config", required=True, type=Path, help="monitors YAML file")
        if monitor:
            sub.add_argument("--monitor", required=True, help="monitor name in the config")
        return sub

    with_config("baseline", "build and store a monitor's baseline (bins + counts)")
    for name, text in (("run", "compute drift for one window [start, end)"),
                       ("backfill", "compute drift for every window in [start, end)")):
        sub = with_config(name, text)
        sub.add_argument("--start", required=True, type=_instant)
        sub.add_argument("--end", required=True, type=_instant)
        sub.add_argument("--baseline-id", help="default: the monitor's latest baseline")
        if name == "backfill":
            sub.add_argument("--batch", type=int, default=31, help="windows per Spark pass")
        sub.add_argument("--format", choices=FORMATS, default="table",
                         help="text, or one JSON object (progress then goes to stderr)")
    quality = with_config("quality", "run the data-quality gate (Great Expectations) of one "
                                     "window [start, end)")
    quality.add_argument("--start", required=True, type=_instant)
    quality.add_argument("--end", required=True, type=_instant)
    quality.add_argument("--fail-on-gate", action="store_true",
                         help="exit 3 when the gate fails (a red task in Airflow)")
    with_config("validate", "check every monitor of the config, without starting Spark",
                monitor=False)
    commands.add_parser("schema", help="print the config's JSON Schema, for editors",
                        description="Print the JSON Schema of the monitors config, which "
                        "editors check and complete a config with (docs/config-reference.md).")
    status = with_config("status", "latest result per monitored column", monitor=False)
    status.add_argument("--monitor")
    with_config("check", "are the monitor's windows whole? (after an interrupted run: which "
                         "are pending; exit 1 on an inconsistency)")
    sql = commands.add_parser("sql", help="run one SQL query on the monitoring tables",
                              description="Run one query against monitoring.drift_results, "
                              "monitoring.profiles, monitoring.baselines, monitoring.runs and "
                              "monitoring.quality_results, and print a table.")
    sql.add_argument("query", nargs="?", help="the SQL text (or use --file / --ready)")
    sql.add_argument("--file", type=Path, help="a .sql file with ${var} placeholders")
    sql.add_argument("--ready", metavar="NAME",
                     help="a ready query from kl_udfs/sql/ready/ by name (e.g. latest_status)")
    sql.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                     help="value for a ${NAME} placeholder (repeatable)")
    sql.add_argument("--limit", type=int, default=200, help="rows to print at most")
    for sub in (status, sql):  # the commands that print one result table and nothing else
        sub.add_argument("--format", choices=FORMATS, default="table",
                         help="an aligned table, or a JSON array of one object per row")
    server = commands.add_parser("sql-server", help="start or stop the Spark Thrift server "
                                 "(HiveServer2, for beeline and BI tools)")
    server.add_argument("--port", type=int, default=10000)
    server.add_argument("--run-dir", type=Path,
                        help="pid, logs and metastore (default: <cache>/sql-server)")
    action = server.add_mutually_exclusive_group()
    action.add_argument("--stop", action="store_true", help="stop the running server by its PID")
    action.add_argument("--status", action="store_true", help="say whether it runs")
    for sub in (sql, server):
        sub.add_argument("--config", type=Path, default=Path("lakehouse/monitors.yaml"),
                         help="monitors YAML naming the monitoring path (default: the demo's)")
        sub.add_argument("--monitoring", help="monitoring tables path (instead of --config)")
    dashboard = commands.add_parser(
        "dashboard", help="start the web dashboard over the monitoring tables",
        description="Start the drift dashboard (reads the Delta tables without Spark).")
    source = dashboard.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path,
                        help="monitors YAML (default: lakehouse/monitors.yaml, the demo's)")
    source.add_argument("--monitoring", type=Path,
                        help="monitoring tables path, when there is no config at hand")
    dashboard.add_argument("--host", default="127.0.0.1", help="address to bind")
    dashboard.add_argument("--port", type=int, default=8050)
    dashboard.add_argument("--refresh", type=float, default=10.0, metavar="SECONDS",
                           help="how often to look for new table versions (0: never)")
    demo = commands.add_parser("demo", help="generate the demo tables and monitor them")
    demo.add_argument("--dir", type=Path, default=Path("lakehouse"),
                      help="where the demo config, data and monitoring tables go")
    demo.add_argument("--scale", type=float, default=1.0,
                      help="fraction of the demo's row counts (1.0: 100k card rows per day)")
    demo.add_argument("--airflow", action="store_true",
                      help="run the monitors' DAGs with Airflow (SQLite home in the cache) "
                           "instead of calling the jobs in this process")
    return parser


def _spark(args: argparse.Namespace, config: Config | None = None) -> SparkSession:
    from kl_udfs.spark.session import get_spark, under_spark_submit

    settings = config.spark if config else None
    # spark-submit's --master (an Airflow connection) wins over the config's default.
    configured = None if under_spark_submit() or not settings else settings.master
    master = args.master or configured
    return get_spark(master, settings.conf if settings else None,
                     config.object_storage() if config else None)


def run(args: argparse.Namespace) -> int:
    if args.command == "schema":  # from the config's models alone: no config, no Spark
        from kl_udfs.core.config_reference import schema_text

        print(schema_text(), end="")
        return 0
    if args.command == "dashboard":  # before any Spark import: the dashboard needs no JVM
        for extra in ("dash", "plotly"):  # the dashboard extra, which a job does not need
            try:
                importlib.import_module(extra)
            except ImportError as missing:
                raise KlDriftError(f"kldrift dashboard needs {extra}: "
                                   "pip install 'kl-drift[dashboard]'") from missing
        from dashboards.cli import run_dashboard

        return run_dashboard(args.config, args.monitoring, args.host, args.port, args.refresh)
    from kl_udfs.core.config import load_config
    from kl_udfs.jobs import runner
    from kl_udfs.spark import report
    from kl_udfs.sql import reads

    if args.command == "demo":
        if args.airflow:
            from kl_udfs.demo.airflow_run import run_demo_via_airflow

            return run_demo_via_airflow(args.dir, args.scale, args.master)
        from kl_udfs.demo.run import run_demo

        return run_demo(args.dir, args.scale, args.master)
    if args.command in ("sql", "sql-server"):
        from kl_udfs.sql.commands import run_sql_command

        return run_sql_command(args)
    # Only the named monitor is validated: another monitor's broken entry is not this job's.
    config = load_config(args.config, getattr(args, "monitor", None))
    if args.command == "validate":  # load_config refused any problem, every one of them
        names = ", ".join(m.name for m in config.monitors)
        print(f"{args.config}: valid, {len(config.monitors)} monitor(s): {names}")
        return 0
    if args.command == "status":  # delta-rs reads it: no JVM to start
        print(reads.render_status(reads.status_rows(config, args.monitor), args.format))
        if args.format != "json":  # JSON stays the one array of column rows
            for note in reads.volume_notes(config, args.monitor):
                print(f"volume: {note}")
        return 0
    spark = _spark(args, config)
    if args.command == "baseline":
        identifier = runner.build_baseline(spark, config, args.monitor)
        print(f"baseline {identifier} stored for monitor '{args.monitor}'")
    elif args.command == "quality":
        from kl_udfs.quality.gate import check_window

        # A range of several windows (a source-triggered run) is gated window by window.
        passed = True
        for window in _windows(args, config):
            outcome = check_window(spark, config, args.monitor, window)
            total = len(outcome.results)
            verdict = (f"passed {total}/{total} expectations" if outcome.success else
                       f"FAILED {len(outcome.failed)}/{total}: " + "; ".join(outcome.failed))
            print(f"quality {outcome.monitor} {window}: {verdict}, {outcome.row_count} rows, "
                  f"run {outcome.run_id}")
            passed = passed and outcome.success
        return GATE_FAILED_EXIT if args.fail_on_gate and not passed else 0
    elif args.command == "run":
        window = _window(args)
        done = runner.compute_windows(spark, config, args.monitor, [window], args.baseline_id)
        if args.format == "json":
            rows = reads.window_rows(config, args.monitor, window.start, window.end)
            print(format_json_object({
                "monitor": args.monitor, "run_id": done.run_id, "baseline_id": done.baseline_id,
                "window_start": window.start, "window_end": window.end,
                "rows_scanned": done.rows_scanned,
                "results": [dict(zip(reads.STATUS_HEADERS, reads.status_row(r), strict=True))
                            for r in sorted(rows, key=lambda r: r["column_name"])]}))
            return 0
        print(f"window {done.windows[0]}: {done.rows_scanned} rows, run {done.run_id}")
        if done.recomputed:
            print(f"recomputed {len(done.recomputed)} earlier window(s) whose rows changed: "
                  + ", ".join(w.start.isoformat() for w in done.recomputed))
        print(reads.status_table(config, args.monitor))
    elif args.command == "backfill":
        began = time.monotonic()
        # A JSON result keeps stdout one document; a terminal gets one line redrawn.
        stream = sys.stderr if args.format == "json" else sys.stdout
        drawn = stream.isatty()

        def progress(finished: int, total: int, batch: runner.WindowsDone) -> None:
            note = progress_note(finished, total, time.monotonic() - began, 30 if drawn else 0)
            line = f"{note}; windows up to {batch.windows[-1].end.isoformat()}: " \
                f"{batch.rows_scanned} rows"
            last = finished >= total
            print(("\r" + line + "\x1b[K") if drawn else line,
                  end="\n" if last or not drawn else "", file=stream, flush=True)

        batches = runner.backfill(spark, config, args.monitor, args.start, args.end,
                                  args.batch, args.baseline_id, progress)
        if args.format == "json":
            summary = report.drift_summary_rows(spark, config, args.monitor)
            print(format_json_object({
                "monitor": args.monitor, "start": args.start, "end": args.end,
                "windows": sum(len(b.windows) for b in batches),
                "rows_scanned": sum(b.rows_scanned for b in batches),
                "run_ids": [b.run_id for b in batches],
                "seconds": round(time.monotonic() - began, 1),
                "summary": [dict(zip(report.SUMMARY_HEADERS, row, strict=True))
                            for row in summary]}))
            return 0
        print(report.drift_summary(spark, config, args.monitor))
    elif args.command == "check":
        from kl_udfs.spark.integrity import audit_windows

        audit = audit_windows(spark, config, args.monitor)
        print(audit.summary())
        return 1 if audit.problems else 0
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KlDriftError as error:
        print(f"kldrift: error: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT


if __name__ == "__main__":
    sys.exit(main())
