"""Airflow itself lists kl-drift as a provider, with its notifier (the installed entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kl_udfs

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _airflow_json(*args: str) -> list[dict[str, str]]:
    done = subprocess.run([AIRFLOW, *args, "-o", "json"], capture_output=True, text=True,
                          env=os.environ.copy())
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout[done.stdout.index("["):]))


@pytest.mark.usefixtures("airflow_db")
def test_airflow_lists_the_provider_and_its_notifier() -> None:
    providers = {p["package_name"]: p for p in _airflow_json("providers", "list")}
    assert providers["kl-drift"]["version"] == kl_udfs.__version__
    notifications = {n["notification_class_name"] for n in
                     _airflow_json("providers", "notifications")}
    assert "kl_udfs.airflow.notify.KlDriftWebhookNotifier" in notifications
