"""A drift, a baseline and a backfill DAG per monitor, generated from the monitors config.

Parse time stays cheap: the config (YAML + pydantic) is read, nothing else: no Spark session,
no table I/O, no numpy. A monitor whose config entry is broken still gets its DAGs; their one
task fails with the error, so the problem shows in Airflow and other monitors are unaffected.
"""

from __future__ import annotations

import os
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from kl_udfs.core import environment
from kl_udfs.core.config import Config, Monitor, parse_config
from kl_udfs.core.config_errors import Origin, key_lines
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.resources import packaged
from kl_udfs.core.storage import ObjectStorage
from kl_udfs.core.windows import Window

CONFIG_ENV = environment.CONFIG
SPARK_CONN_ENV = environment.SPARK_CONN_ID
# kl_udfs as a zip or wheel for cluster deploy mode, where the driver has no checkout either.
PY_FILES_ENV = environment.PY_FILES
CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = CHECKOUT / "lakehouse" / "monitors.yaml"
DEFAULT_START = datetime(2026, 1, 1)
RETRY_DELAY_ENV = environment.RETRY_DELAY


def default_args(monitor: str | None = None, conn_id: str | None = None) -> dict[str, Any]:
    """Retries for every kl-drift task: transient failures (a restart, a lost executor) pass.
    A monitor's tasks also post their final failure to the webhook connection."""
    delay = timedelta(seconds=float(os.environ.get(RETRY_DELAY_ENV, "60")))
    args: dict[str, Any] = {"retries": 2, "retry_delay": delay}
    if monitor is not None:
        from kl_udfs.airflow.notify import KlDriftWebhookNotifier

        args["on_failure_callback"] = KlDriftWebhookNotifier(monitor, conn_id)
    return args


def config_file(config_path: str | Path | None = None) -> Path:
    """The monitors config: `config_path`, else $KLDRIFT_CONFIG, else the demo's."""
    return Path(config_path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()


def drift_asset_uri(monitor: str) -> str:
    return f"kldrift://{monitor}/drift"


def load_monitors(path: Path) -> tuple[list[Monitor | tuple[str, str]], Config | None]:
    """Valid monitors, and (name, error) for each broken entry; None config if all is broken."""
    try:
        text = path.read_text()
        data = yaml.safe_load(text)
        entries = list(data.get("monitors") or []) if isinstance(data, dict) else None
    except (OSError, yaml.YAMLError) as error:
        return [("config", f"{path}: {' '.join(str(error).split())}")], None
    if entries is None:
        return [("config", f"{path}: expected a mapping with 'monitors'")], None
    shared = {k: v for k, v in data.items() if k != "monitors"}
    lines = key_lines(text)
    results: list[Monitor | tuple[str, str]] = []
    config = None
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        try:
            one = parse_config({**shared, "monitors": [entry]}, path.parent.resolve(), str(path),
                               Origin(lines, (i,)))
            results.append(one.monitors[0])
            config = config or one
        except KlDriftError as error:
            results.append((str(name or f"monitor_{i}"), str(error)))
    return results, config


# The run's data interval, as spark-submit arguments rendered by Airflow.
DATA_INTERVAL = ("{{ data_interval_start.isoformat() }}", "{{ data_interval_end.isoformat() }}")


def kldrift_job_task(task_id: str, job: str, config_path: Path, monitor: str,
                     window_args: bool | tuple[str, str], extra_args: tuple[str, ...] = (),
                     storage: ObjectStorage | None = None, **kwargs: Any) -> Any:
    """A spark-submit of one packaged job (`compute_drift.py`, …) for one monitor; with
    `window_args` True the range is the run's data interval, with a (start, end) pair of
    templates it is theirs; `storage` adds the s3a jars."""
    from kl_udfs.airflow.operators import KlDriftSubmitOperator
    from kl_udfs.core.cache import cache_dir
    from kl_udfs.spark.session import excluded_packages, job_packages

    args = ["--config", str(config_path), "--monitor", monitor]
    if window_args:
        span = DATA_INTERVAL if isinstance(window_args, bool) else window_args
        args += ["--start", span[0], "--end", span[1]]
    args += extra_args
    python = os.environ.get("PYSPARK_PYTHON", sys.executable)
    return KlDriftSubmitOperator(
        task_id=task_id,
        application=str(packaged("kl_udfs.submit", job)),  # in the package: no checkout needed
        application_args=args,
        conn_id=os.environ.get(SPARK_CONN_ENV, "spark_default"),
        packages=job_packages(storage),
        exclude_packages=excluded_packages(storage),
        conf={"spark.jars.ivy": str(cache_dir() / "ivy"),
              "spark.sql.session.timeZone": "UTC",
              "spark.pyspark.python": python,
              "spark.pyspark.driver.python": python},
        env_vars={"PYSPARK_PYTHON": python, environment.CACHE: str(cache_dir())},
        name=f"kldrift-{task_id}-{monitor}",
        py_files=os.environ.get(PY_FILES_ENV) or None,
        **kwargs,
    )


def _doc(monitor: Monitor) -> str:
    from kl_udfs.core.policy import describe_rules

    baseline = monitor.baseline
    return (f"### kl-drift monitor `{monitor.name}`\n\n"
            f"* table: `{monitor.table}` (timestamp `{monitor.timestamp_column}`)\n"
            f"* window: {monitor.window} ({_runs(monitor)})\n"
            f"* baseline: {baseline.kind} {baseline.model_dump(exclude_none=True)}\n"
            f"* rules: {describe_rules(monitor.policy())}"
            f"\n* drift events: asset `{drift_asset_uri(monitor.name)}`\n")


def _runs(monitor: Monitor) -> str:
    if monitor.schedule == "source":
        return (f"runs on each event of asset `{monitor.source_asset_uri}`, for every complete "
                "window not computed yet")
    return "the data interval of each run"


def _broken_dag(dag_id: str, monitor: str, error: str) -> Any:
    from airflow.sdk import DAG, task

    from kl_udfs.airflow.notify import KlDriftWebhookNotifier

    doc = "Config error:\n\n" + textwrap.indent(error, "    ")  # a code block, line by line
    with DAG(dag_id=dag_id, schedule=None, start_date=DEFAULT_START, catchup=False,
             tags=["kl-drift", "config-error"], doc_md=doc) as dag:
        @task(task_id="config_error", retries=0,
              on_failure_callback=KlDriftWebhookNotifier(monitor))
        def config_error() -> None:
            head, *problems = error.splitlines()  # a config's problems, one a line
            raise KlDriftError(head, problems=problems)

        config_error()
    return dag


def window_schedule(monitor: Monitor) -> Any:
    """The monitor's schedule: a timetable whose data intervals are its windows (UTC,
    aligned), or with `schedule: source` the source table's Asset."""
    from airflow.sdk import Asset, CronDataIntervalTimetable

    if monitor.schedule == "source":
        return Asset(monitor.source_asset_uri)
    return CronDataIntervalTimetable(monitor.cadence.cron(), timezone="UTC")


def _pending_task(monitor: Monitor, config: Config, task_args: dict[str, Any]) -> Any:
    """A source-triggered run's first task: the range of complete windows not computed yet
    (pushed as {"start", "end"}), or a skip of every task after it when there is none."""
    from airflow.sdk import task

    @task.short_circuit(task_id="pending_windows", **task_args)
    def pending_windows() -> dict[str, str] | None:
        from kl_udfs.sql.reads import computed_until

        now = datetime.now(UTC).replace(tzinfo=None)
        found = monitor.cadence.pending(computed_until(config, monitor.name), now,
                                        monitor.baseline.end or DEFAULT_START, monitor.catchup)
        return None if found is None else {"start": found.start.isoformat(),
                                           "end": found.end.isoformat()}

    return pending_windows()


def drift_tasks(monitor: Monitor, config: Config, config_path: Path,
                conn_id: str | None = None) -> tuple[Any, Any, Any]:
    """quality_gate >> compute_drift >> alert, in the DAG or task group being defined: for the
    run's data interval, or with `schedule: source` for the windows `pending_windows` finds.
    Each task retries and posts its final failure itself, so the same tasks behave the same
    in a user's DAG with other default_args."""
    from airflow.sdk import Asset, task

    task_args = default_args(monitor.name, conn_id)
    storage = config.object_storage()
    pending = _pending_task(monitor, config, task_args) if monitor.schedule == "source" else None
    pending_id = pending.operator.task_id if pending is not None else None
    span: bool | tuple[str, str] = True
    if pending_id is not None:
        start, end = (f"{{{{ ti.xcom_pull(task_ids='{pending_id}')['{key}'] }}}}"
                      for key in ("start", "end"))
        span = (start, end)
    # A failed gate turns this task red at once (its exit status is not retried: the data
    # would fail again) while the drift task still runs and marks the rows quality_failed.
    quality = kldrift_job_task("quality_gate", "check_quality.py", config_path, monitor.name,
                               span, ("--fail-on-gate",), storage, **task_args)
    # Several windows (a source-triggered run) go through the backfill job: one Spark pass.
    job = "backfill.py" if pending is not None else "compute_drift.py"
    drift = kldrift_job_task("compute_drift", job, config_path, monitor.name, span,
                             storage=storage, trigger_rule="all_done", **task_args)
    asset = Asset(drift_asset_uri(monitor.name))

    @task(task_id="alert", outlets=[asset], **task_args)
    def alert(data_interval_start: datetime | None = None,
              data_interval_end: datetime | None = None, ti: Any = None,
              outlet_events: Any = None) -> list[dict[str, Any]]:
        from airflow.sdk.exceptions import AirflowSkipException

        from kl_udfs.airflow.alerts import alert_messages, asset_extra
        from kl_udfs.airflow.notify import KlDriftWebhookNotifier
        from kl_udfs.sql.reads import naive_utc

        if pending_id is not None:
            found = ti.xcom_pull(task_ids=pending_id)
            windows = monitor.cadence.split(datetime.fromisoformat(found["start"]),
                                            datetime.fromisoformat(found["end"]))
        else:
            assert data_interval_start is not None and data_interval_end is not None
            windows = [Window(naive_utc(data_interval_start), naive_utc(data_interval_end))]
        messages, rows = alert_messages(config, monitor.name, windows)
        if not messages:  # skipped: no asset event, so no retraining is requested
            raise AirflowSkipException(f"no drift in {rows} column rows")
        notifier = KlDriftWebhookNotifier(monitor.name, conn_id)
        for message in messages:
            notifier.send(message)
        if not any(m["kind"] == "drift" for m in messages):  # volume or freshness only
            raise AirflowSkipException(f"no drift in {rows} column rows; {len(messages)} "
                                       "volume or freshness alert(s) posted")
        if outlet_events is not None:
            outlet_events[asset].extra = asset_extra(messages)
        return messages

    # The alert waits for both: after a failed gate it is upstream_failed, which also makes
    # the run itself fail (a leaf that did not succeed), so the failure cannot go unseen.
    notify = alert()
    if pending is not None:
        pending >> quality
    quality >> drift >> notify
    quality >> notify
    return quality, drift, notify


def _drift_dag(monitor: Monitor, config: Config, config_path: Path) -> Any:
    from airflow.sdk import DAG

    start = monitor.baseline.end or DEFAULT_START
    with DAG(dag_id=f"kldrift_drift__{monitor.name}", schedule=window_schedule(monitor),
             start_date=start, catchup=monitor.catchup,
             # source-triggered runs each take every pending window: one at a time
             max_active_runs=1 if monitor.schedule == "source" else 4,
             tags=["kl-drift", "drift", monitor.name], doc_md=_doc(monitor)) as dag:
        drift_tasks(monitor, config, config_path)
    return dag


def _baseline_dag(monitor: Monitor, config: Config, config_path: Path) -> Any:
    from airflow.sdk import DAG

    with DAG(dag_id=f"kldrift_baseline__{monitor.name}", schedule=None,
             start_date=DEFAULT_START, catchup=False, tags=["kl-drift", "baseline", monitor.name],
             default_args=default_args(monitor.name), doc_md=_doc(monitor)) as dag:
        kldrift_job_task("build_baseline", "build_baseline.py", config_path, monitor.name, False,
                         storage=config.object_storage())
    return dag


def _backfill_dag(monitor: Monitor, config: Config, config_path: Path) -> Any:
    from airflow.sdk import DAG, Param

    # One Spark pass per batch of windows: history is filled in minutes, not one run a window.
    start = monitor.baseline.end or DEFAULT_START
    if monitor.cadence.is_calendar:  # the first whole month (quarter) after the baseline
        start = monitor.cadence.ceil(start)
    end = monitor.cadence.shift(start, 7)
    params = {
        "start": Param(start.isoformat(), type="string", description="first window's start"),
        "end": Param(end.isoformat(), type="string", description="last window's end"),
        "batch": Param(31, type="integer", minimum=1, description="windows per Spark pass"),
    }
    with DAG(dag_id=f"kldrift_backfill__{monitor.name}", schedule=None,
             start_date=DEFAULT_START, catchup=False, params=params,
             tags=["kl-drift", "backfill", monitor.name], default_args=default_args(monitor.name),
             doc_md=_doc(monitor) + "\nTrigger with `{\"start\": ..., \"end\": ...}`: one "
                                    "drift row per column per window in [start, end).\n") as dag:
        kldrift_job_task("backfill", "backfill.py", config_path, monitor.name, False,
                    ("--start", "{{ params.start }}", "--end", "{{ params.end }}",
                     "--batch", "{{ params.batch }}"), config.object_storage())
    return dag


def build_dags(config_path: str | Path | None = None) -> dict[str, Any]:
    """{dag_id: DAG} for the config at `config_path` (default: $KLDRIFT_CONFIG, else demo)."""
    path = config_file(config_path)
    monitors, config = load_monitors(path)
    dags: dict[str, Any] = {}
    for item in monitors:
        if isinstance(item, tuple):
            name, error = item
            for kind in ("drift", "baseline", "backfill"):
                dag_id = f"kldrift_{kind}__{name}"
                dags[dag_id] = _broken_dag(dag_id, name, error)
            continue
        assert config is not None
        dags[f"kldrift_drift__{item.name}"] = _drift_dag(item, config, path)
        dags[f"kldrift_baseline__{item.name}"] = _baseline_dag(item, config, path)
        dags[f"kldrift_backfill__{item.name}"] = _backfill_dag(item, config, path)
    return dags
