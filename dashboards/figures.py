"""Plotly figures as plain dicts (no plotly.graph_objects validation: it costs more than the
data on a 200-column heatmap), built from query results; pure functions, testable as data."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from dashboards import labels
from dashboards.queries import Histogram
from kl_udfs.core.contract import DRIFT, ERROR, INSUFFICIENT, NO_DATA, OK, QUALITY_FAILED, STATUSES

Figure = dict[str, Any]

FONT = {"family": "Inter, system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12,
        "color": "#1f2937"}
# The overview heatmap colours each cell by its plug-in PSI, one flat colour per decade (the
# overview's legend draws the same steps): below 0.001 (nothing to act on), 0.001, 0.01, 0.1,
# and 1 up (a wholesale change). Flat steps, not a blend, and the default PSI threshold 0.1 is
# a step edge: a cell at or above it is a shade darker than one just below, not a hair darker.
PSI_STOPS = (1e-3, 1e-2, 1e-1, 1.0)  # where each colour after the first begins
PSI_MAX = 10.0  # zmax: the top step spans 1 .. 10 (a step needs a width); beyond keeps its colour
PSI_DECADE_COLORS = ("#f7fcf0", "#ccebc5", "#7bccc4", "#2b8cbe", "#084081")


def _stepped(stops: tuple[float, ...], colors: tuple[str, ...], top: float) -> list[list[Any]]:
    """A plotly colorscale flat between stops: each stop is listed twice, with the colour
    ending and the one beginning there (plotly paints a value on a stop with the latter)."""
    scale: list[list[Any]] = [[0.0, colors[0]]]
    for stop, below, above in zip(stops, colors[:-1], colors[1:], strict=True):
        scale += [[stop / top, below], [stop / top, above]]
    return [*scale, [1.0, colors[-1]]]


PSI_COLORS = _stepped(PSI_STOPS, PSI_DECADE_COLORS, PSI_MAX)
BASELINE_COLOR, CURRENT_COLOR, DRIFT_COLOR = "#cbd5e1", "#2563eb", "#dc2626"
# How each non-ok status of the contract is drawn on the heatmap: the cell colour is the PSI,
# the marker says what the verdict is. Names and labels come from kl_udfs.core.contract.
MARKER_STYLES: dict[str, dict[str, Any]] = {
    DRIFT: {"symbol": "circle", "color": DRIFT_COLOR, "size": 10,
            "line": {"color": "#ffffff", "width": 1.5}},
    QUALITY_FAILED: {"symbol": "triangle-up", "color": "#f59e0b", "size": 10,
                       "line": {"color": "#ffffff", "width": 1}},
    ERROR: {"symbol": "x-thin", "color": "#111827", "size": 9,
              "line": {"color": "#111827", "width": 2}},
    INSUFFICIENT: {"symbol": "diamond-open", "color": "#7c3aed", "size": 8,
                     "line": {"color": "#7c3aed", "width": 1.5}},
    NO_DATA: {"symbol": "circle-open", "color": "#6b7280", "size": 8,
                "line": {"color": "#6b7280", "width": 1.5}},
}
_UNKNOWN_MARKER = {"symbol": "square-open", "color": "#6b7280", "size": 8,
                   "line": {"color": "#6b7280", "width": 1.5}}
# Most urgent first, so the legend reads in the contract's order.
STATUS_MARKERS: dict[str, dict[str, Any]] = {
    s.name: {**MARKER_STYLES.get(s.name, _UNKNOWN_MARKER), "label": s.label}
    for s in sorted(STATUSES, key=lambda s: s.rank) if s.name != OK}
CONFIG: Any = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}
HEATMAP_CONFIG: Any = {**CONFIG, "displayModeBar": False}


def _base_layout(**extra: Any) -> dict[str, Any]:
    layout = {"font": FONT, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#ffffff",
              "margin": {"l": 60, "r": 20, "t": 10, "b": 40}, "hoverlabel": {"align": "left"}}
    layout.update(extra)
    return layout


def tick_label(start: datetime, hourly: bool) -> str:
    return start.strftime("%m-%d %H:%M") if hourly else start.strftime("%b %d")


def _is_hourly(starts: list[datetime]) -> bool:
    return any(s.hour or s.minute for s in starts)


def heatmap(cells: pd.DataFrame, columns: list[str]) -> Figure:
    """Columns × latest windows; colour = PSI, a marker on every cell that is not ok.

    The plug-in `psi` (on smoothed shares) is what compares across columns; the markers carry
    the verdict, which tests the bias-corrected PSI against each column's own threshold. Kept
    small on the wire (a year × 200 columns must paint fast): z is the raw PSI and the colour
    scale steps at every decade, so colours follow log10 PSI while the hover shows the true
    value; a null PSI is a blank cell. x is each window's start (ISO), which a click hands back.
    """
    starts = pd.DatetimeIndex(np.sort(cells["window_start"].unique()))
    present = set(cells["column_name"])
    rows = [c for c in columns if c in present]
    keys = [s.isoformat(timespec="minutes") for s in starts]
    hourly = _is_hourly(list(starts))
    ticks = [tick_label(s, hourly) for s in starts]
    by_cell = cells.set_index(["column_name", "window_start"])
    z = by_cell["psi"].unstack().reindex(index=rows, columns=starts)
    status = by_cell["status"].unstack().reindex(index=rows, columns=starts)
    data: list[dict[str, Any]] = [{
        "type": "heatmap", "x": keys, "y": rows, "z": _json_matrix(z.to_numpy(dtype=float)),
        "text": status.fillna("").to_numpy(dtype=object).tolist(),
        "hovertemplate": "<b>%{y}</b> · %{x}<br>PSI %{z:.3g} · %{text}<extra></extra>",
        "zmin": 0.0, "zmax": PSI_MAX, "colorscale": PSI_COLORS, "showscale": False,
        "xgap": 1, "ygap": 1, "hoverongaps": False, "name": "PSI", "uid": "psi",
    }]
    flagged = cells[cells["status"].isin(list(STATUS_MARKERS)) & cells["column_name"].isin(rows)]
    for state, style in STATUS_MARKERS.items():
        mine = flagged[flagged["status"] == state]
        if mine.empty:
            continue
        data.append({
            "type": "scatter", "mode": "markers", "name": style["label"], "uid": f"status-{state}",
            "x": [pd.Timestamp(s).isoformat(timespec="minutes") for s in mine["window_start"]],
            "y": mine["column_name"].astype(str).tolist(), "hoverinfo": "skip",
            "marker": {"symbol": style["symbol"], "color": style["color"], "size": style["size"],
                       "line": style["line"]},
        })
    row_px = 26 if len(rows) <= 12 else 20 if len(rows) <= 40 else 15
    # Fixed margins sized from the labels: plotly's automargin would draw everything twice.
    left = 16 + 7 * max((len(r) for r in rows), default=4)
    bottom = 14 + (5 * max((len(t) for t in ticks), default=4) if len(keys) > 8 else 14)
    layout = _base_layout(
        height=max(170, 40 + bottom + row_px * len(rows)),
        margin={"l": left, "r": 10, "t": 8, "b": bottom},
        xaxis={"type": "category", "tickangle": -45 if len(keys) > 8 else 0, "showgrid": False,
               "ticks": "", "fixedrange": True, "tickvals": keys, "ticktext": ticks},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False,
               "fixedrange": True, "tickfont": {"size": 11}},
        showlegend=len(data) > 1,
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom",
                "font": {"size": 11}},
    )
    return {"data": data, "layout": layout}


def _json_matrix(z: np.ndarray) -> list[list[float | None]]:
    rounded = np.vectorize(lambda v: float(f"{v:.4g}"), otypes=[float])(z) if z.size else z
    return [[None if math.isnan(v) else v for v in row] for row in rounded.tolist()]


def overlay(hist: Histogram, column: str, kind: str | None,
            highlight: set[str] | None = None) -> Figure:
    """Baseline vs current share of every frozen bin; top contributing bins are outlined."""
    b_total, c_total = max(sum(hist.baseline), 1), max(sum(hist.current), 1)
    b_share = [c / b_total for c in hist.baseline]
    c_share = [c / c_total for c in hist.current]
    ticks = [labels.axis_label(label, kind) for label in hist.labels]
    phrases = [labels.bin_phrase(column, label, kind) for label in hist.labels]
    hover = [f"<b>{p}</b><br>baseline {labels.percent(bs)} ({bc:,} rows)<br>"
             f"current {labels.percent(cs)} ({cc:,} rows)"
             for p, bs, bc, cs, cc in zip(phrases, b_share, hist.baseline, c_share,
                                          hist.current, strict=True)]
    marked = [label in (highlight or set()) for label in hist.labels]
    common = {"type": "bar", "x": ticks, "text": hover, "textposition": "none",
              "hovertemplate": "%{text}<extra></extra>"}
    data = [
        {**common, "y": b_share, "name": "baseline", "uid": "baseline",
         "marker": {"color": BASELINE_COLOR}, "width": 0.85},
        {**common, "y": [None if m else v for v, m in zip(c_share, marked, strict=True)],
         "name": "this window", "uid": "current", "width": 0.45,
         "marker": {"color": CURRENT_COLOR}},
    ]
    if any(marked):  # the bins the "what changed" list names, in the drift colour
        data.append({**common, "y": [v if m else None for v, m in zip(c_share, marked,
                                                                       strict=True)],
                     "name": "this window: top contributors", "uid": "current-top",
                     "width": 0.45, "marker": {"color": DRIFT_COLOR}})
    layout = _base_layout(
        barmode="overlay", height=340, bargap=0.1, hovermode="closest",
        margin={"l": 50, "r": 10, "t": 10, "b": 10},
        xaxis={"type": "category", "tickangle": -40 if len(ticks) > 8 else 0,
               "automargin": True, "title": {"text": column}},
        yaxis={"tickformat": ".0%", "title": {"text": "share of rows"}, "gridcolor": "#eef2f7",
               "rangemode": "tozero"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return {"data": data, "layout": layout}


def _clean(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in values]


P_FLOOR = 1e-16  # q-values below this (often exactly 0 in float) are drawn at the floor


def _either(rows: pd.DataFrame, name: str, fallback: str) -> pd.Series:
    """`name`, or `fallback` where it is missing: rows written before a column existed."""
    values = rows[name] if name in rows else pd.Series(np.nan, index=rows.index)
    return values.astype("Float64").fillna(rows[fallback].astype("Float64"))


def history(rows: pd.DataFrame, selected: datetime | None) -> Figure:
    """Per window: PSI against its threshold, KL and JS, and q-value against the FDR.

    PSI is the bias-corrected figure the verdict compares with `threshold`; the q-value is
    compared with `p_value_threshold` (the FDR). Older rows have neither: their plug-in PSI and
    p-value are drawn instead.
    """
    x = [pd.Timestamp(s).isoformat() for s in rows["window_start"]]
    drift = (rows["status"] == DRIFT).to_numpy()
    keys = [pd.Timestamp(s).isoformat(timespec="minutes") for s in rows["window_start"]]
    psi = _clean(_either(rows, "psi_corrected", "psi"))
    q = [None if v is None else max(v, P_FLOOR) for v in
         _clean(_either(rows, "q_value", "p_value"))]
    hover = "%{x}<br>%{y:.4g}<extra>%{fullData.name}</extra>"

    def line(uid: str, name: str, y: list[float | None], axis: str, color: str,
             **extra: Any) -> dict[str, Any]:
        return {"type": "scatter", "mode": "lines+markers", "x": x, "y": y, "name": name,
                "uid": uid, "yaxis": axis, "customdata": keys, "hovertemplate": hover,
                "line": {"color": color, "width": 1.5}, "marker": {"size": 3}, **extra}

    def level(uid: str, name: str, y: list[float | None], axis: str, dash: str) -> dict[str, Any]:
        return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "uid": uid,
                "yaxis": axis, "hovertemplate": hover,
                "line": {"color": DRIFT_COLOR, "dash": dash, "width": 1.5, "shape": "hv"}}

    data = [
        line("psi", "PSI (bias-corrected)", psi, "y", CURRENT_COLOR,
             line={"color": CURRENT_COLOR, "width": 2}, marker={"size": 4}),
        level("psi-threshold", "PSI threshold", _clean(rows["threshold"]), "y", "dash"),
        {"type": "scatter", "mode": "markers", "x": [v for v, d in zip(x, drift, strict=True)
                                                     if d],
         "y": [v for v, d in zip(psi, drift, strict=True) if d], "name": "drift",
         "uid": "drift", "yaxis": "y", "hoverinfo": "skip",
         "marker": {"color": DRIFT_COLOR, "size": 8, "symbol": "circle"}},
        line("kl", "KL(baseline‖window)", _clean(rows["kl_divergence"]), "y2", "#0891b2"),
        line("js", "Jensen–Shannon", _clean(rows["js_divergence"]), "y2", "#7c3aed"),
        line("q", "q-value", q, "y3", "#0f766e",
             hovertemplate="%{x}<br>%{y:.2e}<extra>q-value</extra>"),
        level("fdr", "false discovery rate", _clean(rows["p_value_threshold"]), "y3", "dot"),
    ]
    shapes = []
    if selected is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper",
                       "x0": pd.Timestamp(selected).isoformat(),
                       "x1": pd.Timestamp(selected).isoformat(), "y0": 0, "y1": 1,
                       "line": {"color": "#94a3b8", "width": 1, "dash": "dot"}})
    axis = {"gridcolor": "#eef2f7", "zeroline": False, "automargin": True}
    layout = _base_layout(
        height=470, hovermode="x unified", shapes=shapes,
        margin={"l": 60, "r": 10, "t": 10, "b": 30},
        xaxis={"type": "date", "anchor": "y3", "showgrid": False},
        yaxis={**axis, "domain": [0.6, 1.0], "title": {"text": "PSI"}, "rangemode": "tozero"},
        yaxis2={**axis, "domain": [0.35, 0.53], "title": {"text": "KL · JS"},
                "rangemode": "tozero"},
        yaxis3={**axis, "domain": [0.0, 0.28], "title": {"text": "q-value"}, "type": "log",
                "exponentformat": "power", "dtick": 4 if min(
                    (v for v in q if v is not None), default=1.0) < 1e-8 else 1},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return {"data": data, "layout": layout}


def nulls(rows: pd.DataFrame) -> Figure:
    """Null share of every window against the baseline's."""
    x = [pd.Timestamp(s).isoformat() for s in rows["window_start"]]
    hover = "%{x}<br>%{y:.2%}<extra>%{fullData.name}</extra>"
    shares = [v for v in _clean(rows["current_null_fraction"]) + _clean(
        rows["baseline_null_fraction"]) if v is not None]
    top = max(shares, default=0.0)
    data = [
        {"type": "scatter", "mode": "lines+markers", "x": x,
         "y": _clean(rows["current_null_fraction"]), "name": "window", "uid": "null-current",
         "line": {"color": CURRENT_COLOR, "width": 1.5}, "marker": {"size": 3},
         "hovertemplate": hover},
        {"type": "scatter", "mode": "lines", "x": x, "y": _clean(rows["baseline_null_fraction"]),
         "name": "baseline", "uid": "null-baseline",
         "line": {"color": "#64748b", "dash": "dash", "width": 1.5}, "hovertemplate": hover},
    ]
    layout = _base_layout(
        height=220, hovermode="x unified", margin={"l": 60, "r": 10, "t": 10, "b": 30},
        xaxis={"type": "date", "showgrid": False},
        yaxis={"tickformat": ".1%", "gridcolor": "#eef2f7", "title": {"text": "null share"},
               # all-zero shares: a 0-1% axis, not plotly's default -1..1
               "range": [0, max(top * 1.15, 0.01)]},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return {"data": data, "layout": layout}
