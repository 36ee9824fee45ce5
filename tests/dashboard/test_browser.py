"""The dashboard in a real headless Chromium on the demo's monitoring tables.

One server for the module (`kldrift dashboard --config <demo>/monitors.yaml`); the expected
verdicts come from the demo generator's ground truth and are checked against drift_results
before the page is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from deltalake import DeltaTable

from dashboards import labels
from kl_udfs.demo import data
from tests.dashboard.conftest import running_dashboard, screenshot

pytestmark = pytest.mark.spark  # the demo lake is built with Spark

HEATMAP = """(monitor) => {
  const gd = document.querySelector(`section[data-monitor="${monitor}"] .js-plotly-plot`);
  const heat = gd.data.find(t => t.uid === 'psi');
  const latest = heat.x[heat.x.length - 1];
  const drift = gd.data.find(t => t.uid === 'status-drift');
  const markers = gd.data.filter(t => String(t.uid).startsWith('status-'));
  return {
    latest: latest, windows: heat.x.length, columns: heat.y,
    marked: drift ? drift.y.filter((y, i) => drift.x[i] === latest) : [],
    markerPoints: markers.reduce((n, t) => n + t.x.length, 0),
    drawnPoints: gd.querySelectorAll('.scatterlayer .trace .point').length,
    heatmapDrawn: gd.querySelector('.heatmaplayer image') !== null,
  };
}"""

CELL = """([monitor, column, x]) => {
  const gd = document.querySelector(`section[data-monitor="${monitor}"] .js-plotly-plot`);
  const layout = gd._fullLayout;
  const box = gd.getBoundingClientRect();
  return {x: box.left + layout._size.l + layout.xaxis.d2p(x),
          y: box.top + layout._size.t + layout.yaxis.d2p(column)};
}"""


@pytest.fixture(scope="module")
def demo_results(demo_lake: Path) -> pd.DataFrame:
    rows = DeltaTable(str(demo_lake / "monitoring" / "drift_results")).to_pandas()
    rows["window_start"] = rows["window_start"].dt.tz_convert(None)
    return rows


@pytest.fixture(scope="module")
def expected(demo_results: pd.DataFrame) -> dict[str, set[str]]:
    """Columns drifting in each monitor's latest window: ground truth, as stored."""
    truth = {}
    for monitor, columns, windows in (
            ("card_transactions", data.DRIFT.columns, data.DRIFT.windows),
            ("server_metrics", data.INCIDENT.columns, data.INCIDENT.windows)):
        mine = demo_results[demo_results["monitor"] == monitor]
        latest = mine["window_start"].max().to_pydatetime()
        should = set(columns) if latest in windows else set()
        stored = set(mine.loc[(mine["window_start"] == latest) & (mine["status"] == "drift"),
                              "column_name"])
        assert stored == should, f"{monitor}: drift_results disagree with the ground truth"
        truth[monitor] = should
    assert truth == {"card_transactions": {"amount", "channel"}, "server_metrics": set()}
    return truth


@pytest.fixture(scope="module")
def server(demo_lake: Path) -> Iterator[str]:
    with running_dashboard(["--config", str(demo_lake / "monitors.yaml")]) as url:
        yield url


def query(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_overview_marks_exactly_the_drifting_columns(page: Any, server: str,
                                                     expected: dict[str, set[str]]) -> None:
    page.goto(server)
    for monitor, drifting in expected.items():
        card = page.locator(f'section[data-monitor="{monitor}"]')
        card.locator(".heatmaplayer image").wait_for()
        heatmap = page.evaluate(HEATMAP, monitor)
        assert heatmap["heatmapDrawn"]
        assert set(heatmap["marked"]) == drifting
        assert heatmap["drawnPoints"] == heatmap["markerPoints"]  # every marker is on screen
        rows = card.locator("tr[data-status=drift]")
        assert {rows.nth(i).get_attribute("data-column") for i in range(rows.count())} == \
            drifting
        assert card.locator("[data-drifting]").get_attribute("data-drifting") == \
            str(len(drifting))
    total = sum(len(v) for v in expected.values())
    assert page.locator("#kpi-drifting").inner_text() == str(total)
    screenshot(page, "dashboard-overview.png")


def test_column_drilldown(page: Any, server: str, demo_results: pd.DataFrame) -> None:
    page.goto(server)
    card = page.locator('section[data-monitor="card_transactions"]')
    card.locator("tr[data-column=amount] a.column-link").click()
    page.locator("#overlay .barlayer").wait_for()
    assert query(page) == {"monitor": "card_transactions", "column": "amount"}

    amount = demo_results[(demo_results["monitor"] == "card_transactions")
                          & (demo_results["column_name"] == "amount")].sort_values(
        "window_start")
    latest = amount.iloc[-1]
    assert page.locator(".column-page").get_attribute("data-window") == \
        latest["window_start"].isoformat(timespec="minutes")

    overlay = page.evaluate("document.querySelector('#overlay .js-plotly-plot').data"
                            ".map(t => ({uid: t.uid, n: t.x.length, y: t.y}))")
    bins = overlay[0]["n"]
    assert bins >= 10 and all(t["n"] == bins for t in overlay)
    assert page.locator("#overlay .barlayer .point path").count() >= bins  # bars drawn

    stored = list(latest["top_contributors"])
    items = page.locator("#contributors li")
    assert items.count() == len(stored) > 0
    first = items.nth(0).locator(".sentence").inner_text()
    assert first == labels.contributor_sentence("amount", "numeric", stored[0])
    assert re.fullmatch(r"([\d.]+ [<≤] )?amount [<≤>≥] [\d.]+: [\d.]+% → [\d.]+%", first)

    history = page.evaluate("document.querySelector('#history .js-plotly-plot').data"
                            ".map(t => ({uid: t.uid, y: t.y}))")
    threshold = next(t for t in history if t["uid"] == "psi-threshold")
    assert set(threshold["y"]) == {0.05}  # the config's column threshold for amount
    psi = next(t for t in history if t["uid"] == "psi")
    assert len(psi["y"]) == len(amount)
    assert page.locator("#reason").inner_text() == latest["reason"]  # which rule fired
    assert page.locator("#checks tr.check-fired").count() == len(latest["fired_rules"]) > 0
    assert page.locator("#nulls .js-plotly-plot").count() == 1
    screenshot(page, "dashboard-column.png")


def test_heatmap_cell_opens_that_window(page: Any, server: str) -> None:
    page.goto(server)
    card = page.locator('section[data-monitor="card_transactions"]')
    card.locator(".heatmaplayer image").wait_for()
    first = page.evaluate(HEATMAP, "card_transactions")
    window = page.evaluate("document.querySelector('section[data-monitor=\"card_transactions\"]"
                           " .js-plotly-plot').data[0].x[0]")
    point = page.evaluate(CELL, ["card_transactions", "channel", window])
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(re.compile(r"column=channel"))
    page.locator("#overlay .barlayer").wait_for()
    assert query(page)["window"] == window
    assert page.locator(".column-page").get_attribute("data-window") == window
    assert first["windows"] == 30
    page.go_back()  # the URL is the state: back is the overview again
    page.locator('section[data-monitor="server_metrics"] .heatmaplayer image').wait_for()


def test_shared_link_reopens_the_same_view(page: Any, server: str) -> None:
    link = (f"{server}?monitor=server_metrics&column=cpu_util&start=2026-03-09&end=2026-03-09"
            "&window=2026-03-09T09:00")
    page.goto(link)
    page.locator("#overlay .barlayer").wait_for()
    assert page.locator(".column-page").get_attribute("data-window") == "2026-03-09T09:00"
    assert page.locator(".title-row .badge.status-drift").count() == 1  # the incident hour
    assert "server_metrics" in page.locator("#f-monitor").inner_text()
    assert "cpu_util" in page.locator("#f-column").inner_text()
    psi = page.evaluate("document.querySelector('#history .js-plotly-plot').data"
                        ".find(t => t.uid === 'psi').x")
    assert len(psi) == 24 and all(x.startswith("2026-03-09") for x in psi)  # one day of hours
    assert datetime.fromisoformat(psi[0]) == datetime(2026, 3, 9)
    assert page.locator("#reason").inner_text().startswith("distribution changed")
