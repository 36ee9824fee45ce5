"""The overview page: every monitor's latest windows as a columns × windows PSI heatmap."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from dash import dcc, html

from dashboards import figures, labels
from dashboards.components import (
    attrs,
    badge,
    command,
    config_arg,
    empty_state,
    link,
    status_badge,
    status_meaning,
)
from dashboards.queries import (
    MonitorSummary,
    contributors,
    latest_windows,
    monitor_names,
    monitor_summary,
    quality_failures,
)
from dashboards.state import ViewState
from dashboards.store import Snapshot
from kl_udfs.core.contract import OK, RULE, RUNNING, STATUS, STATUSES, SUCCEEDED

TABLE_ROWS = 10  # latest-window table: every non-ok column, then the largest PSI up to this
SEVERITY = {s.name: s.rank for s in STATUSES}  # most urgent first; unknown statuses last
DEFAULT_PSI_THRESHOLD = RULE["psi"].default_threshold


def page(snap: Snapshot, state: ViewState) -> html.Div:
    names = monitor_names(snap)
    if not names:
        return html.Div(no_monitors(snap), className="page")
    if state.monitor and state.monitor not in names:
        return html.Div(empty_state(
            "unknown-monitor", f"No monitor named '{state.monitor}'",
            html.P(["Known monitors: ", ", ".join(names), ". "],),
            link("Show every monitor", state.href(monitor=None, column=None))), className="page")
    shown = [state.monitor] if state.monitor else names
    summaries = [monitor_summary(snap, name, state.time_range) for name in shown]
    notice = [] if snap.has_tables else [empty_state(
        "no-tables", "No monitoring tables yet",
        html.P(f"Nothing has been written to {snap.source.monitoring_path} yet. The tables "
               "appear with the first baseline; the dashboard reads them within seconds (reload "
               "the page)."))]
    return html.Div([*notice, kpis(summaries),
                     *(monitor_card(snap, state, s) for s in summaries)], className="page")


def no_monitors(snap: Snapshot) -> html.Div:
    path = snap.source.monitoring_path
    where = ("no monitoring tables" if not snap.has_tables else "monitoring tables with no rows")
    return empty_state(
        "no-monitors", "No monitors yet",
        html.P(f"{path} has {where}. Declare the tables to watch in a monitors YAML, "
               "build each monitor's baseline, then compute its windows:"),
        command(f"kldrift baseline --config {config_arg(snap)} --monitor NAME\n"
                f"kldrift backfill --config {config_arg(snap)} --monitor NAME "
                "--start 2026-03-01 --end 2026-04-01"),
        html.P(["Or try it on generated data: ", html.Code("make demo"), ", then ",
                html.Code("make dashboard"), "."]),
    )


def kpis(summaries: list[MonitorSummary]) -> html.Div:
    ready = [s for s in summaries if s.state == "ready"]
    drifting = sum(len(s.drifting) for s in ready)
    columns = sum(sum(s.statuses.values()) for s in ready)
    failures = sum(s.quality_failures for s in summaries)
    runs = [s.last_run for s in summaries if s.last_run and s.last_run.finished_at]
    last = max(runs, key=lambda r: r.finished_at or datetime.min) if runs else None
    return html.Div([
        _kpi("monitors", str(len(summaries)), f"{len(ready)} with results", "kpi-monitors"),
        _kpi("drifting columns", str(drifting), f"of {columns} in the latest windows",
             "kpi-drifting", tone="bad" if drifting else "good"),
        _kpi("quality failures", str(failures), "failed checks in the range", "kpi-quality",
             tone="warn" if failures else "good"),
        _kpi("last run", labels.instant(last.finished_at) if last else "–",
             f"{last.operation} · {last.status}" if last else "no run recorded", "kpi-last-run"),
    ], className="kpis")


def _kpi(title: str, value: str, note: str, ident: str, tone: str = "neutral") -> html.Div:
    return html.Div([html.Div(title, className="kpi-title"),
                     html.Div(value, className=f"kpi-value tone-{tone}", id=ident),
                     html.Div(note, className="kpi-note")], className="kpi")


def _meta(summary: MonitorSummary) -> html.Div:
    parts = [("table", summary.table), ("window", summary.window),
             ("baseline", summary.baseline)]
    return html.Div([html.Span([html.Span(k, className="meta-key"), v], className="meta")
                     for k, v in parts if v], className="metas")


def _run_badge(summary: MonitorSummary) -> html.Span:
    run = summary.last_run
    if run is None:
        return badge("no run recorded")
    tone = {SUCCEEDED: "good", RUNNING: "neutral"}.get(str(run.status), "bad")
    text = f"last run: {run.operation} {run.status} {labels.instant(run.finished_at)}"
    return badge(text, tone, title=run.error or "")


def monitor_card(snap: Snapshot, state: ViewState, summary: MonitorSummary) -> html.Section:
    name = summary.name
    head = html.Div([
        html.H2(link(name, state.href(monitor=name, column=None)), className="card-title"),
        _meta(summary),
    ], className="card-head")
    body: list[Any]
    badges: list[Any] = [_run_badge(summary)]
    if summary.state == "no_baseline":
        body = [empty_state(
            "no-baseline", f"No baseline yet for {name}",
            html.P("Drift is measured against a stored baseline (its frozen bins and counts). "
                   "Build it first:"),
            command(f"kldrift baseline --config {config_arg(snap)} --monitor {name}"))]
    elif summary.state == "no_runs":
        body = [empty_state(
            "no-runs", f"No windows computed yet for {name}",
            html.P("The baseline is stored; compute the windows to compare with it:"),
            command(f"kldrift backfill --config {config_arg(snap)} --monitor {name} "
                    "--start YYYY-MM-DD --end YYYY-MM-DD"))]
    elif summary.state == "no_results_in_range":
        body = [empty_state(
            "no-results-in-range", f"No windows of {name} in this time range",
            html.P(f"Its results run from {labels.instant(summary.first_start)} to "
                   f"{labels.instant(summary.latest_start)}."),
            link("Show all windows", state.href(start=None, end=None)))]
    else:
        total = sum(summary.statuses.values())
        drifting = len(summary.drifting)
        window = labels.window_label(summary.latest_start, summary.latest_end) \
            if summary.latest_start and summary.latest_end else "–"
        badges = [
            badge(f"{drifting} of {total} columns drifting" if drifting else
                  f"no drift in {total} columns", "bad" if drifting else "good",
                  **attrs(data_drifting=str(drifting))),
            badge(f"latest window {window}"),
            _run_badge(summary),
            badge(f"{summary.quality_failures} failed quality "
                  f"check{'' if summary.quality_failures == 1 else 's'}",
                  "warn" if summary.quality_failures else "good"),
        ]
        cells = latest_windows(snap, name, state.time_range, state.windows)
        body = [html.Div([
            html.Div([
                html.H3(f"PSI of the latest {cells['window_start'].nunique()} windows"),
                html.Div([psi_legend(),
                          html.Span("Click a cell to open the column at that window.")],
                         className="hint legend-row"),
                dcc.Graph(id={"type": "heatmap", "monitor": name},
                          figure=figures.heatmap(cells, summary.columns),
                          config=figures.HEATMAP_CONFIG,
                          className="heatmap"),
            ], className="pane pane-wide"),
            html.Div([latest_table(snap, state, summary),
                      quality_list(snap, state, summary)], className="pane"),
        ], className="card-body")]
    if summary.skipped:
        body.append(html.P("Not monitored: " + "; ".join(f"{c} ({r})" for c, r in
                                                       summary.skipped), className="hint"))
    return html.Section([head, html.Div(badges, className="badges"), *body],
                        className="card monitor-card", **attrs(data_monitor=name))


def psi_legend() -> html.Div:
    """The heatmap's colour scale, one step per PSI decade (as `figures.PSI_COLORS`), with
    the value each step begins at under the edge between two steps."""
    steps = [html.Span(className="psi-step", style={"background": c})
             for c in figures.PSI_DECADE_COLORS]
    ticks = [_tick(stop) for stop in figures.PSI_STOPS]
    half_step = {"padding": f"0 {50 / len(steps):g}%"}  # so each tick is centred on its edge
    return html.Div([html.Span("PSI (baseline vs window)", className="psi-title"),
                     html.Div([html.Div(steps, className="psi-steps"),
                               html.Div(ticks, className="psi-ticks", style=half_step)],
                              className="psi-scale")], className="psi-legend")


def _tick(stop: float) -> html.Span:
    """The edge at the default PSI threshold stands out: above it is what drifts by default."""
    if stop == DEFAULT_PSI_THRESHOLD:
        return html.Span(labels.number(stop), className="threshold",
                         title="the default PSI threshold")
    return html.Span(labels.number(stop))


def latest_table(snap: Snapshot, state: ViewState, summary: MonitorSummary) -> html.Div:
    rows = latest_windows(snap, summary.name, state.time_range, 1)
    rows = rows.assign(severity=rows["status"].map(SEVERITY).fillna(len(SEVERITY))).sort_values(
        ["severity", "psi"], ascending=[True, False], na_position="last")
    flagged = rows[rows["status"] != OK]
    shown = pd.concat([flagged, rows[rows["status"] == OK].head(
        max(TABLE_ROWS - len(flagged), 0))])
    body = [_latest_row(snap, state, r) for r in shown.itertuples(index=False)]
    hidden = len(rows) - len(shown)
    note = [html.P(f"{hidden} more columns are ok.", className="hint")] if hidden else []
    return html.Div([
        html.H3("Latest window"),
        html.Table([html.Thead(html.Tr([html.Th("column"), html.Th("status"),
                                        html.Th("PSI", className="num"),
                                        html.Th("biggest change")])),
                    html.Tbody(body)], className="table latest-table"),
        *note,
    ])


def _latest_row(snap: Snapshot, state: ViewState, r: Any) -> html.Tr:
    href = state.href(monitor=r.monitor, column=r.column_name, window=None)
    return html.Tr([
        html.Td(link(r.column_name, href, className="column-link")),
        html.Td(status_badge(str(r.status))),
        html.Td(labels.number(r.psi), className="num"),
        html.Td(_change(snap, r), className="change" if r.status != OK else "change quiet"),
    ], className=f"row-{r.status}", **attrs(data_column=r.column_name, data_status=r.status))


def _change(snap: Snapshot, r: Any) -> str:
    """The bin that moved most; for a row with no verdict (too few rows, an error...) why."""
    status = STATUS.get(str(r.status))
    if status is not None and not status.judged:
        return labels.text(r.message) or labels.text(r.reason) or status_meaning(status.name)
    top = contributors(snap, r)
    if top:
        return labels.contributor_sentence(r.column_name, r.column_kind, top[0])
    return labels.text(r.message)


def quality_list(snap: Snapshot, state: ViewState, summary: MonitorSummary) -> html.Div:
    failed = quality_failures(snap, summary.name, state.time_range)
    if failed.empty:
        return html.Div()
    items = [html.Li([html.Span(labels.window_label(pd.Timestamp(r["window_start"]).to_pydatetime(),
                                                    pd.Timestamp(r["window_end"]).to_pydatetime()),
                                className="when"), " ", str(r["details"] or r["expectation"])])
             for r in failed.to_dict("records")]
    return html.Div([html.H3("Quality failures"), html.Ul(items, className="quality-list")],
                    className="quality")
