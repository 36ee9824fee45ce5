"""Dashboard fixtures: synthetic monitoring tables (delta-rs, no Spark), the dashboard as a
real server process, and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboards.synthetic import SyntheticMonitor, write_monitoring
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")

# Two monitors with known verdicts: "cards" drifts in n000 and c001 from window 14 of 20,
# and its window 10 failed the quality gate; "servers" (hourly) never drifts.
CARDS = SyntheticMonitor("cards", columns=6, windows=20, drift_columns=frozenset({"n000", "c001"}),
                         drift_from=14, quality_failures=(10,))
SERVERS = SyntheticMonitor("servers", columns=4, windows=48, window=timedelta(hours=1),
                           start=datetime(2025, 1, 10, tzinfo=UTC), rows_per_window=2_000)


def write_config(directory: Path, monitors: Sequence[str], monitoring: str = "./monitoring"
                 ) -> Path:
    """A monitors YAML naming these monitors (their source tables need not exist)."""
    lines = ["monitoring:", f"  path: {monitoring}", "monitors:"]
    for name in monitors:
        lines += [f"  - name: {name}", f"    table: ./raw/{name}", "    timestamp_column: ts",
                  "    window: 1 day", "    baseline: {start: 2024-12-01, end: 2024-12-31}"]
    path = directory / "monitors.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def synthetic_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`<dir>/monitors.yaml` and `<dir>/monitoring/<table>` for CARDS and SERVERS."""
    directory = tmp_path_factory.mktemp("synthetic-lake")
    write_monitoring(directory / "monitoring", [CARDS, SERVERS])
    write_config(directory, ["cards", "servers"])
    return directory


@contextlib.contextmanager
def running_dashboard(args: Sequence[str], timeout: float = 90.0,
                      cwd: Path = ROOT) -> Iterator[str]:
    """`kldrift dashboard ARGS` as a subprocess on a free 127.0.0.1 port, run in `cwd`; yields
    its URL and stops that process (by its PID) afterwards."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kl_udfs.cli", "dashboard", *args, "--host", "127.0.0.1",
         "--port", str(port), "--refresh", "0"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                output = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"the dashboard exited with {proc.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the dashboard did not answer on {url} in {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run 'bash infra/bootstrap.sh --browser' "
                    "(installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; browser errors fail the test, not just the screenshot."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(30_000)
    yield tab
    context.close()
    assert not errors, f"errors in the page: {errors}"


def screenshot(tab: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    tab.screenshot(path=str(path), full_page=True)
    return path


def tree(component: Any) -> Any:
    """A Dash component as the JSON the browser receives."""
    import json

    from plotly.utils import PlotlyJSONEncoder

    return json.loads(json.dumps(component, cls=PlotlyJSONEncoder))


def nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every component in a JSON tree (depth first)."""
    if isinstance(data, list | tuple):
        for item in data:
            yield from nodes(item)
    elif isinstance(data, dict) and "props" in data:
        yield data
        for value in data["props"].values():
            yield from nodes(value)


def find(data: Any, **props: Any) -> list[dict[str, Any]]:
    """Components whose props include all of `props` (use data_x for data-x)."""
    wanted = {k.replace("_", "-") if k.startswith("data_") else k: v for k, v in props.items()}
    return [n for n in nodes(data) if all(n["props"].get(k) == v for k, v in wanted.items())]


def text(data: Any) -> str:
    """All the text under a JSON tree, space separated."""
    if isinstance(data, str):
        return data
    if isinstance(data, list | tuple):
        return " ".join(text(item) for item in data)
    if isinstance(data, dict) and "props" in data:
        return text(data["props"].get("children"))
    return ""


def drifting_columns_in_chromium(url: str, monitor: str, picture: str) -> set[str]:
    """The columns the overview marks as drifting for `monitor`, read by Debian's Chromium
    (a screenshot in artifacts/`picture`). Run in a thread of its own: Playwright's sync API
    refuses a thread whose asyncio loop is running, which an earlier test in the same worker
    (Airflow's) may leave behind."""
    from playwright.sync_api import sync_playwright

    found: dict[str, Any] = {}

    def look() -> None:
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
                page = chromium.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(30_000)
                page.goto(url)
                card = page.locator(f'section[data-monitor="{monitor}"]')
                card.locator(".heatmaplayer image").wait_for()
                rows = card.locator("tr[data-status=drift]")
                found["columns"] = {rows.nth(i).get_attribute("data-column")
                                    for i in range(rows.count())}
                screenshot(page, picture)
                chromium.close()
        except BaseException as error:  # re-raised in the test's thread
            found["error"] = error

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    if "error" in found:
        raise found["error"]
    return set(found["columns"])
