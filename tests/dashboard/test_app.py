"""The pages and callbacks without a browser: the callbacks as plain functions, and the app
through Flask's test client (Dash's own request path: layout, dependencies, callbacks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dash import no_update

from dashboards import app as dash_app
from dashboards import figures
from dashboards.state import ViewState
from dashboards.store import (
    Snapshot,
    Store,
    load_snapshot,
    source_from_config,
    source_from_monitoring,
)
from dashboards.synthetic import SyntheticMonitor, write_monitoring
from kl_udfs.core import contract
from tests.dashboard.conftest import CARDS, find, nodes, text, tree, write_config


@pytest.fixture(scope="module")
def snap(synthetic_lake: Path) -> Snapshot:
    return load_snapshot(source_from_config(synthetic_lake / "monitors.yaml"))


def page_of(snap: Snapshot, search: str) -> Any:
    return tree(dash_app.render(snap, search)[1])


def test_overview_lists_each_monitor_and_its_drifting_columns(snap: Snapshot) -> None:
    page = page_of(snap, "")
    cards = {c["props"]["data-monitor"]: c for c in find(page, className="card monitor-card")}
    assert list(cards) == ["cards", "servers"]
    drifting = {n["props"]["data-column"] for n in find(cards["cards"], data_status="drift")}
    assert drifting == {"n000", "c001"}
    assert not find(cards["servers"], data_status="drift")
    assert find(cards["cards"], data_drifting="2")
    heatmap = find(cards["cards"], id={"type": "heatmap", "monitor": "cards"})[0]
    traces = {t["uid"]: t for t in heatmap["props"]["figure"]["data"]}
    latest = traces["psi"]["x"][-1]
    marked = {y for x, y in zip(traces["status-drift"]["x"], traces["status-drift"]["y"],
                                strict=True) if x == latest}
    assert marked == {"n000", "c001"}
    assert "1 failed quality check" in text(cards["cards"])
    assert "row count 640" in text(cards["cards"])  # the failure is listed


def test_filters_follow_the_url(snap: Snapshot) -> None:
    filters = tree(dash_app.render(snap, "?monitor=cards&column=n000&start=2025-01-02")[0])
    values = {n["props"]["id"]: n["props"] for n in nodes(filters) if "id" in n["props"]}
    assert values["f-monitor"]["value"] == "cards"
    assert values["f-column"]["value"] == "n000"
    assert [o["value"] for o in values["f-column"]["options"]] == CARDS.column_names()
    assert values["f-dates"]["start_date"] == "2025-01-02"
    assert values["share-link"]["href"] == "/?monitor=cards&column=n000&start=2025-01-02"


def test_column_page(snap: Snapshot) -> None:
    page = page_of(snap, "?monitor=cards&column=n000")
    overlay = find(page, id="overlay")[0]["props"]["figure"]
    bars = {t["uid"]: t for t in overlay["data"]}
    # below the baseline's range, 20 bins inside it, above it, null
    assert len(bars["baseline"]["x"]) == 23
    assert bars["baseline"]["x"][0].startswith("< ") and bars["baseline"]["x"][-2].startswith(
        "> ")
    assert bars["baseline"]["y"][0] == bars["baseline"]["y"][-2] == 0  # nothing out of range
    assert abs(sum(bars["baseline"]["y"]) - 1) < 1e-9
    shown = [a if a is not None else b for a, b in
             zip(bars["current"]["y"], bars["current-top"]["y"], strict=True)]
    assert abs(sum(shown) - 1) < 1e-9
    items = find(page, className="contributor")
    assert 1 <= len(items) <= 5
    assert "→" in text(items[0]) and "n000" in text(items[0])
    history = {t["uid"]: t for t in find(page, id="history")[0]["props"]["figure"]["data"]}
    assert set(history["psi-threshold"]["y"]) == {CARDS.psi_threshold}
    assert set(history["fdr"]["y"]) == {CARDS.fdr}
    assert len(history["drift"]["x"]) == CARDS.windows - CARDS.drift_from
    # the drift markers sit on the bias-corrected PSI, above the threshold
    assert min(history["drift"]["y"]) > CARDS.psi_threshold
    assert all(q <= CARDS.fdr for q in history["q"]["y"][CARDS.drift_from:])
    assert find(page, id="nulls")


def test_a_drift_window_says_which_rule_fired(snap: Snapshot) -> None:
    page = page_of(snap, "?monitor=cards&column=c001")  # the latest window drifts
    assert find(page, className="badge status-drift")
    reason = text(find(page, id="reason")[0])
    assert reason.startswith("distribution changed (PSI ")
    assert f"threshold {CARDS.psi_threshold}" in reason
    rules = {n["props"]["data-rule"]: n for n in find(page, id="checks")[0]["props"]
             ["children"][1]["props"]["children"]}
    assert set(rules) == {"psi", "null_share", "unseen_share"}  # a categorical column's rules
    assert rules["psi"]["props"]["className"] == "check-fired"
    assert "fired" in text(rules["psi"]) and "fired" not in text(rules["null_share"])


def test_an_ok_window_says_why(snap: Snapshot) -> None:
    page = page_of(snap, "?monitor=cards&column=c000")
    assert find(page, className="badge status-ok")
    assert text(find(page, id="reason")[0]).startswith("every rule below its threshold (PSI ")


def test_too_few_rows_render_with_the_contract_label(tmp_path: Path) -> None:
    thin = SyntheticMonitor("thin", columns=2, windows=3, short_windows=(2,))
    write_monitoring(tmp_path / "monitoring", [thin])
    snap = load_snapshot(source_from_config(write_config(tmp_path, ["thin"])))
    label = contract.STATUS[contract.INSUFFICIENT].label
    overview = page_of(snap, "")
    rows = find(overview, data_status=contract.INSUFFICIENT)
    assert {r["props"]["data-column"] for r in rows} == {"n000", "c000"}
    assert all(label in text(r) and "only 12 rows in the window" in text(r) for r in rows)
    heatmap = find(overview, id={"type": "heatmap", "monitor": "thin"})[0]["props"]["figure"]
    marks = next(t for t in heatmap["data"] if t["uid"] == "status-insufficient")
    assert marks["name"] == label and len(marks["y"]) == 2
    column = page_of(snap, "?monitor=thin&column=n000")
    badge = find(column, className=f"badge status-{contract.INSUFFICIENT}")[0]
    assert badge["props"]["children"] == label
    assert text(find(column, id="reason")[0]) == "only 12 rows in the window (min_rows 30)"
    # the figures are still shown against the rules, but none can fire
    assert find(column, id="checks") and not find(column, className="check-fired")
    assert label in text(find(column, id="not-judged")[0])


def test_every_status_has_a_label_and_marker() -> None:
    from dashboards.components import status_label

    assert [status_label(s.name) for s in contract.STATUSES] == [
        s.label for s in contract.STATUSES]
    assert set(figures.MARKER_STYLES) == {s.name for s in contract.STATUSES} - {contract.OK}
    ranks = [contract.STATUS[name].rank for name in figures.STATUS_MARKERS]
    assert ranks == sorted(ranks)


def test_column_page_at_a_chosen_window(snap: Snapshot) -> None:
    page = page_of(snap, "?monitor=cards&column=n000&window=2025-01-03T00:00")
    column_page = find(page, className="page column-page")[0]
    assert column_page["props"]["data-window"] == "2025-01-03T00:00"
    assert find(page, id="prev-window") and find(page, id="next-window")


@pytest.mark.parametrize(("search", "kind"), [
    ("?monitor=nope", "unknown-monitor"),
    ("?monitor=cards&column=nope", "unknown-column"),
    ("?monitor=cards&start=2030-01-01", "no-results-in-range"),
])
def test_explained_empty_pages(snap: Snapshot, search: str, kind: str) -> None:
    assert find(page_of(snap, search), data_empty=kind)


def test_empty_state_no_monitoring_dir(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["cards"], monitoring="./not-yet")
    page = page_of(load_snapshot(source_from_config(config)), "")
    assert find(page, data_empty="no-tables")
    panel = find(page, data_empty="no-baseline")[0]
    assert f"kldrift baseline --config {config} --monitor cards" in text(panel)


def test_empty_state_no_monitors(tmp_path: Path) -> None:
    page = page_of(load_snapshot(source_from_monitoring(tmp_path)), "")
    assert find(page, data_empty="no-monitors")
    assert "make demo" in text(page)


def test_empty_state_tables_but_no_runs(tmp_path: Path) -> None:
    write_monitoring(tmp_path / "monitoring", [SyntheticMonitor("fresh", with_results=False)])
    config = write_config(tmp_path, ["fresh"])
    page = page_of(load_snapshot(source_from_config(config)), "")
    panel = find(page, data_empty="no-runs")[0]
    assert "kldrift backfill" in text(panel)
    assert not find(page, data_empty="no-tables")
    column = page_of(load_snapshot(source_from_config(config)), "?monitor=fresh&column=n000")
    assert find(column, data_empty="no-runs")


def test_empty_state_no_baseline(tmp_path: Path) -> None:
    write_monitoring(tmp_path / "monitoring", [SyntheticMonitor("other", columns=2,
                                                                windows=2)])
    config = write_config(tmp_path, ["other", "new_one"])
    page = page_of(load_snapshot(source_from_config(config)), "")
    cards = {c["props"]["data-monitor"]: c for c in find(page, className="card monitor-card")}
    assert find(cards["new_one"], data_empty="no-baseline")
    assert not find(cards["other"], data_empty="no-baseline")


def test_navigate(snap: Snapshot) -> None:
    nav = dash_app.navigate
    assert nav(snap, "", "cards", None, None, None, 30) == "?monitor=cards"
    assert nav(snap, "?monitor=cards", "cards", None, None, None, 30) is no_update
    # a column of another monitor is dropped when the monitor changes
    assert nav(snap, "?monitor=cards&column=n002", "servers", "n002", None, None, 30) == \
        "?monitor=servers"
    # the chosen window survives a date change, not a column change
    here = "?monitor=cards&column=n000&window=2025-01-03T00%3A00"
    assert "window=" in nav(snap, here, "cards", "n000", "2025-01-01", "2025-01-20", 30)
    assert "window=" not in nav(snap, here, "cards", "n001", None, None, 30)


def test_clicks_open_a_window() -> None:
    click = {"points": [{"x": "2025-01-05T00:00", "y": "c001", "z": 0.2}]}
    query = dash_app.heatmap_click("cards", click, "?start=2025-01-01")
    assert ViewState.from_query(query) == ViewState.from_query(
        "?monitor=cards&column=c001&start=2025-01-01&window=2025-01-05T00:00")
    assert dash_app.heatmap_click("cards", None, "") is no_update
    point = {"points": [{"x": "2025-01-07", "customdata": "2025-01-07T00:00"}]}
    assert "window=2025-01-07T00%3A00" in dash_app.history_click(point, "?monitor=m&column=c")


@pytest.fixture(scope="module")
def client(synthetic_lake: Path) -> Any:
    store = Store(source_from_config(synthetic_lake / "monitors.yaml"), refresh_s=0)
    return dash_app.create_app(store).server.test_client()


def test_index_loads_the_small_plotly_bundle(client: Any) -> None:
    index = client.get("/?monitor=cards")
    assert index.status_code == 200
    html = index.get_data(as_text=True)
    assert f"/assets/vendor/{dash_app.PLOTLY_BUNDLE}" in html
    assert client.get(f"/assets/vendor/{dash_app.PLOTLY_BUNDLE}").status_code == 200


def test_layout_comes_filled_in_for_the_page_url(client: Any) -> None:
    filled = client.get("/_dash-layout",
                        headers={"Referer": "http://127.0.0.1/?monitor=cards&column=c001"})
    layout = filled.get_json()
    assert find(layout, className="page column-page")[0]["props"]["data-column"] == "c001"
    assert find(layout, id="rendered-for")[0]["props"]["data"] == "?monitor=cards&column=c001"
    bare = client.get("/_dash-layout").get_json()  # no Referer: the render callback fills it
    assert not find(bare, className="page column-page")
    assert find(bare, id="rendered-for")[0]["props"]["data"] is None


def _dispatch(client: Any, search: str, rendered: str | None) -> Any:
    dependencies = client.get("/_dash-dependencies").get_json()
    render = next(d for d in dependencies if d["output"].startswith("..filters.children"))
    body = {"output": render["output"], "outputs": [
        {"id": o.split(".")[0], "property": o.split(".")[1]}
        for o in render["output"].strip(".").split("...")],
        "inputs": [{"id": "url", "property": "search", "value": search}],
        "state": [{"id": "rendered-for", "property": "data", "value": rendered}],
        "changedPropIds": ["url.search"]}
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")


def test_render_callback_over_http(client: Any) -> None:
    response = _dispatch(client, "?monitor=servers", None)
    assert response.status_code == 200
    page = response.get_json()["response"]["page"]["children"]
    cards = find(page, className="card monitor-card")
    assert [c["props"]["data-monitor"] for c in cards] == ["servers"]
    # the layout already showed this URL: nothing is sent again, and the marker is spent
    again = _dispatch(client, "?monitor=servers", "?monitor=servers").get_json()["response"]
    assert set(again) == {"rendered-for"} and again["rendered-for"]["data"] is None
