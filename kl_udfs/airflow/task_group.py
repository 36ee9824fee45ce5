"""kl-drift inside a DAG of one's own: the gate >> drift >> alert tasks as one task group.

    from kl_udfs.airflow.task_group import drift_task_group, monitor_schedule

    with DAG("cards_pipeline", schedule=monitor_schedule("cards"), start_date=...):
        load = ...                      # the user's own tasks
        load >> drift_task_group("cards")

The window is the DAG run's data interval, so the DAG's schedule must give intervals of the
monitor's window: `monitor_schedule` is that timetable. The group's tasks are the generated
drift DAG's tasks (same retries, failure callback, alert and asset event).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kl_udfs.airflow.dags import config_file, drift_tasks, load_monitors, window_schedule
from kl_udfs.core.config import Config, Monitor
from kl_udfs.core.errors import KlDriftError


def _monitor(name: str, config_path: str | Path | None) -> tuple[Monitor, Config, Path]:
    path = config_file(config_path)
    monitors, config = load_monitors(path)
    for item in monitors:
        if isinstance(item, Monitor) and item.name == name and config is not None:
            return item, config, path
        if isinstance(item, tuple) and item[0] == name:
            raise KlDriftError(item[1])
    known = sorted(m.name for m in monitors if isinstance(m, Monitor))
    raise KlDriftError(f"{path}: no monitor {name!r} (monitors: {', '.join(known) or 'none'})")


def monitor_schedule(monitor: str, config_path: str | Path | None = None) -> Any:
    """The timetable whose data intervals are the monitor's windows (with `schedule: source`,
    its source table's Asset)."""
    return window_schedule(_monitor(monitor, config_path)[0])


def source_asset(monitor: str, config_path: str | Path | None = None) -> Any:
    """The Asset of the monitor's source table: the outlet of the task that loads the table,
    so that a monitor with `schedule: source` runs after each load."""
    from airflow.sdk import Asset

    return Asset(_monitor(monitor, config_path)[0].source_asset_uri)


def drift_task_group(monitor: str, config_path: str | Path | None = None,
                     group_id: str | None = None, conn_id: str | None = None) -> Any:
    """A task group `kldrift_<monitor>` (or `group_id`) with quality_gate >> compute_drift >>
    alert for the run's data interval; `conn_id` is the webhook connection for alerts."""
    from airflow.sdk import TaskGroup

    found, config, path = _monitor(monitor, config_path)
    with TaskGroup(group_id or f"kldrift_{monitor}") as group:
        drift_tasks(found, config, path, conn_id)
    return group
