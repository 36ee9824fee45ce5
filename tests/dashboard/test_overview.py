"""The overview's PSI heatmap, its legend and the latest-window table: what is coloured and
sorted by PSI, that the default PSI threshold is a colour step, and tables without `psi`."""

from __future__ import annotations

import json
from bisect import bisect_right
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from dashboards import app as dash_app
from dashboards import figures, labels, overview, schema
from dashboards.store import Snapshot, load_snapshot, source_from_config, source_from_monitoring
from dashboards.synthetic import SyntheticMonitor, monitor_tables, write_monitoring
from kl_udfs.core import contract
from tests.dashboard.conftest import CARDS, find, text, tree

THRESHOLD = contract.RULE["psi"].default_threshold or 0.0
VENDOR = Path(figures.__file__).parent / "assets" / "vendor" / "plotly-cartesian-4.1.1.min.js"


@pytest.fixture(scope="module")
def snap(synthetic_lake: Path) -> Snapshot:
    return load_snapshot(source_from_config(synthetic_lake / "monitors.yaml"))


def card(snap: Snapshot, monitor: str = "cards") -> Any:
    page = tree(dash_app.render(snap, "")[1])
    return find(page, className="card monitor-card", data_monitor=monitor)[0]


def cells_trace(figure: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in figure["data"] if t["uid"] == "psi")


def heatmap_of(card: Any) -> dict[str, Any]:
    figure: dict[str, Any] = find(card, className="heatmap")[0]["props"]["figure"]
    return figure


def one_row(values: list[float]) -> pd.DataFrame:
    """One column's windows with these PSI values (all ok: no markers)."""
    starts = [datetime(2025, 1, 1) + timedelta(days=i) for i in range(len(values))]
    return pd.DataFrame({"column_name": "x", "window_start": starts, "psi": values,
                         "kl_divergence": 0.0, "status": contract.OK})


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def painted(trace: dict[str, Any], z: float) -> tuple[int, ...]:
    """The colour plotly gives a heatmap value: its place on [zmin, zmax] (clamped) on the
    trace's colorscale, blended between the stops around it; where two stops share a place,
    the later one applies (d3's bisect-right, checked in a browser below)."""
    place = min(max((z - trace["zmin"]) / (trace["zmax"] - trace["zmin"]), 0.0), 1.0)
    scale = trace["colorscale"]
    i = min(max(bisect_right([p for p, _ in scale], place) - 1, 0), len(scale) - 2)
    (a, low), (b, high) = scale[i], scale[i + 1]
    t = (place - a) / (b - a) if b > a else 0.0
    return tuple(round(lo + (hi - lo) * t) for lo, hi in zip(_rgb(low), _rgb(high), strict=True))


def stored_rows(lake: Path, monitor: str) -> pd.DataFrame:
    """The monitor's drift rows as the Delta table holds them (naive UTC window starts)."""
    rows = DeltaTable(str(lake / "drift_results")).to_pandas()
    rows = rows[rows["monitor"] == monitor].copy()
    rows["window_start"] = rows["window_start"].dt.tz_convert(None)
    return rows


def test_heatmap_cells_are_the_rows_psi(snap: Snapshot, synthetic_lake: Path) -> None:
    trace = cells_trace(heatmap_of(card(snap)))
    rows = stored_rows(synthetic_lake / "monitoring", "cards")
    by_cell = rows.set_index(["column_name", "window_start"])
    starts = [pd.Timestamp(x) for x in trace["x"]]

    def matrix(name: str) -> list[list[float]]:
        grid = by_cell[name].unstack().reindex(index=trace["y"], columns=starts)
        return [[float(f"{v:.4g}") for v in row] for row in grid.to_numpy(dtype=float)]

    assert trace["z"] == matrix("psi")
    assert trace["z"] != matrix("kl_divergence")  # so the check above can tell them apart
    assert "PSI %{z" in trace["hovertemplate"] and "KL" not in trace["hovertemplate"]


def test_the_default_psi_threshold_is_a_colour_step() -> None:
    trace = cells_trace(figures.heatmap(one_row([0.0]), ["x"]))
    below, at = painted(trace, THRESHOLD * 0.999), painted(trace, THRESHOLD)
    assert below != at
    # a step, not a blend: the colours stay put on either side of the threshold
    assert painted(trace, THRESHOLD * 0.9) == below
    assert painted(trace, THRESHOLD * 1.5) == at
    assert sum(abs(x - y) for x, y in zip(below, at, strict=True)) > 60  # clearly another shade


def test_plotly_paints_the_threshold_step(page: Any) -> None:
    """The same in Chromium with the vendored plotly.js: the pixels of four cells."""
    values = [THRESHOLD * 0.9, THRESHOLD * 0.999, THRESHOLD, THRESHOLD * 1.5]
    figure = figures.heatmap(one_row(values), ["x"])
    page.set_content('<div id="g" style="width:600px;height:200px"></div>')
    page.add_script_tag(path=str(VENDOR))
    pixels = page.evaluate("""async (figure) => {
      const gd = document.getElementById('g');
      await Plotly.newPlot(gd, figure.data, {...figure.layout, height: 200, width: 600});
      const image = new Image();
      const drawn = gd.querySelector('.heatmaplayer image');
      image.src = drawn.getAttribute('href') || drawn.getAttribute('xlink:href');
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
      const context = canvas.getContext('2d');
      context.drawImage(image, 0, 0);
      const n = figure.data[0].x.length;
      return [...Array(n).keys()].map(i => Array.from(context.getImageData(
        Math.floor((i + 0.5) * canvas.width / n), Math.floor(canvas.height / 2), 1, 1).data
        .slice(0, 3)));
    }""", json.loads(json.dumps(figure)))
    colours = [tuple(p) for p in pixels]
    assert colours[0] == colours[1] != colours[2] == colours[3]
    legend = [_rgb(s["props"]["style"]["background"])
              for s in find(tree(overview.psi_legend()), className="psi-step")]
    assert colours[1] in legend and colours[2] in legend  # the legend's own steps


def test_legend_draws_the_heatmaps_steps(snap: Snapshot) -> None:
    legend = find(card(snap), className="psi-legend")[0]
    assert text(find(legend, className="psi-title")[0]).startswith("PSI")
    steps = [s["props"]["style"]["background"] for s in find(legend, className="psi-step")]
    trace = cells_trace(heatmap_of(card(snap)))
    scale = trace["colorscale"]
    assert steps == [c for i, (_, c) in enumerate(scale) if i == 0 or c != scale[i - 1][1]]
    # a tick under every edge where the colour changes, at the PSI it changes at
    edges = [p * trace["zmax"] for (p, c), (_, before) in zip(scale[1:], scale, strict=False)
             if c != before]
    ticks = find(legend, className="psi-ticks")[0]["props"]["children"]
    assert [t["props"]["children"] for t in ticks] == [labels.number(e) for e in edges]
    marked = [t["props"]["children"] for t in ticks if t["props"].get("className") == "threshold"]
    assert marked == [labels.number(THRESHOLD)]


def test_heading_says_psi(snap: Snapshot) -> None:
    headings = text(find(card(snap), className="pane pane-wide")[0])
    assert "PSI of the latest 20 windows" in headings and "KL" not in headings


def latest_rows(card: Any) -> list[tuple[str, str, str]]:
    """(column, status, PSI cell) of the latest-window table, top to bottom."""
    table = find(card, className="table latest-table")[0]
    rows = [r for r in find(table) if "data-column" in r["props"]]
    return [(r["props"]["data-column"], r["props"]["data-status"],
             text(r["props"]["children"][2])) for r in rows]


def test_latest_table_sorts_by_severity_then_psi(snap: Snapshot, tmp_path: Path) -> None:
    # KL in the opposite order to PSI: sorting or showing KL would show here
    tables = monitor_tables(CARDS)
    results = tables["drift_results"]
    tables["drift_results"] = results.set_column(
        results.schema.get_field_index("kl_divergence"), "kl_divergence",
        pc.divide(1.0, results["psi"]))
    for name, table in tables.items():
        write_deltalake(str(tmp_path / name), table, partition_by=schema.PARTITIONS[name])
    shown = latest_rows(card(load_snapshot(source_from_monitoring(tmp_path))))
    table = find(card(snap), className="table latest-table")[0]
    assert "PSI" in text(find(table, className="num")[0]) and "KL" not in text(table)
    cards = stored_rows(tmp_path, "cards")
    latest = cards[cards["window_start"] == cards["window_start"].max()].set_index("column_name")
    assert [s for _, s, _ in shown] == ["drift", "drift", "ok", "ok", "ok", "ok"]
    for status in ("drift", "ok"):
        mine = [c for c, s, _ in shown if s == status]
        psi = latest.loc[mine, "psi"].tolist()
        assert psi == sorted(psi, reverse=True) and len(set(psi)) == len(psi)
    assert [v for _, _, v in shown] == [labels.number(latest.loc[c, "psi"]) for c, _, _ in shown]


def test_a_table_without_psi_still_renders(tmp_path: Path) -> None:
    """Tables written before a column existed read it as null: blank cells, '–' in the table."""
    write_monitoring(tmp_path, [SyntheticMonitor("old", columns=2, windows=3)])
    path = str(tmp_path / "drift_results")
    older = DeltaTable(path).to_pyarrow_table().drop_columns(["psi", "psi_corrected", "q_value"])
    write_deltalake(path, older, mode="overwrite", schema_mode="overwrite",
                    partition_by=schema.PARTITIONS["drift_results"])
    assert "psi" not in DeltaTable(path).to_pyarrow_table().column_names
    old = card(load_snapshot(source_from_monitoring(tmp_path)), "old")
    z = cells_trace(heatmap_of(old))["z"]
    assert len(z) == 2 and all(v is None for row in z for v in row)
    assert {v for _, _, v in latest_rows(old)} == {"–"}
