"""The column drill-down: histograms on the frozen bins, metric history, what changed."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from dashboards import figures, labels
from dashboards.components import (
    attrs,
    command,
    config_arg,
    empty_state,
    link,
    status_badge,
    status_meaning,
)
from dashboards.queries import (
    Histogram,
    TimeRange,
    checks,
    column_history,
    contributors,
    histogram,
    monitor_columns,
    monitor_names,
    pick_window,
    windows,
)
from dashboards.state import ViewState
from dashboards.store import Snapshot
from kl_udfs.core.contract import STATUS

# Without a time range, a column page reads its last windows only (a few years of daily
# windows would be a file per day to open, and more points than a chart can show).
HISTORY_WINDOWS = 180


def page(snap: Snapshot, state: ViewState) -> html.Div:
    assert state.monitor is not None and state.column is not None
    monitor, column = state.monitor, state.column
    crumbs = html.Nav([link("Overview", state.href(monitor=None, column=None, window=None)),
                       html.Span("›"), link(monitor, state.href(column=None, window=None)),
                       html.Span("›"), html.Span(column)], className="crumbs")
    if monitor not in monitor_names(snap):
        return _empty(crumbs, empty_state("unknown-monitor", f"No monitor named '{monitor}'",
                                          link("Back to the overview", state.href(
                                              monitor=None, column=None, window=None))))
    if column not in monitor_columns(snap, monitor):
        return _empty(crumbs, empty_state(
            "unknown-column", f"{monitor} has no monitored column '{column}'",
            html.P("Monitored: " + (", ".join(monitor_columns(snap, monitor)) or "none yet")),
            command(f"kldrift baseline --config {config_arg(snap)} --monitor {monitor}")))
    span, note = history_range(snap, state)
    rows = column_history(snap, monitor, column, span)
    if rows.empty:
        anywhere = bool(windows(snap, monitor))
        return _empty(crumbs, empty_state(
            "no-runs", f"No windows of {column} to show",
            html.P("There are results outside this time range." if anywhere else
                   "No window has been computed for this monitor yet:"),
            link("Show all windows", state.href(start=None, end=None)) if anywhere else
            command(f"kldrift backfill --config {config_arg(snap)} --monitor {monitor} "
                    "--start YYYY-MM-DD --end YYYY-MM-DD")))
    row = pick_window(rows, state.window)
    assert row is not None
    start = row["window_start"].to_pydatetime()
    window = labels.window_label(start, row["window_end"].to_pydatetime())
    kind = row["column_kind"] if isinstance(row["column_kind"], str) else None
    top = contributors(snap, row)
    hist = histogram(snap, row)
    positions = list(rows["window_start"])
    at = positions.index(row["window_start"])
    step = [
        link("‹ previous window", state.href(window=positions[at - 1].to_pydatetime()),
             id="prev-window") if at > 0 else html.Span(),
        link("next window ›", state.href(window=positions[at + 1].to_pydatetime()),
             id="next-window") if at < len(positions) - 1 else html.Span(),
    ]
    head = html.Div([
        crumbs,
        html.Div([html.H2(column), html.Span(kind or "", className="badge tone-neutral"),
                  status_badge(str(row["status"]))], className="title-row"),
        html.Div([html.Span(["window ", html.B(window)]), *step], className="window-row"),
        html.P(_reason(row), id="reason", className=f"reason reason-{row['status']}"),
        html.P(_figures(row), className="explain"),
    ], className="column-head")
    return html.Div([
        head,
        html.Div([
            html.Section([html.H3("Baseline vs this window, on the frozen bins"),
                          _overlay(hist, column, kind, top)], className="card pane-wide"),
            html.Section([html.H3("What changed most"), _contributors(column, kind, top),
                          _metrics(row)], className="card"),
        ], className="grid"),
        html.Section([html.H3("Rules checked in this window"),
                      _checks(checks(snap, row), str(row["status"]))],
                     className="card"),
        html.Section([
            html.H3("PSI, KL, Jensen–Shannon and q-value per window"),
            html.P("Red lines: the PSI threshold (dashed) and the false discovery rate "
                   "(dotted). A window drifts on PSI when its 99% upper bound reaches the "
                   "threshold and its q-value is at most the FDR; null, unseen-category and "
                   "out-of-range shares have rules of their own (see the rules above). Click a "
                   "point to show that window.", className="hint"),
            *note,
            dcc.Graph(id="history", figure=figures.history(rows, start), config=figures.CONFIG),
        ], className="card"),
        html.Section([html.H3("Null share per window"),
                      dcc.Graph(id="nulls", figure=figures.nulls(rows), config=figures.CONFIG)],
                     className="card"),
    ], className="page column-page", **attrs(data_monitor=monitor, data_column=column,
                                             data_window=start.isoformat(timespec="minutes")))


def history_range(snap: Snapshot, state: ViewState) -> tuple[TimeRange, list[html.P]]:
    """The windows the page reads: the URL's range, else the last HISTORY_WINDOWS (from the
    day of the first of them, or of the window asked for if older), and a note saying so."""
    if not state.time_range.is_all or state.monitor is None:
        return state.time_range, []
    every = windows(snap, state.monitor)
    if len(every) <= HISTORY_WINDOWS:
        return state.time_range, []
    first = every[-HISTORY_WINDOWS]
    if state.window is not None and state.window < first:
        first = state.window
    note = html.P(["Showing the windows from ", first.date().isoformat(), f" ({len(every):,} "
                   "in all): ", link("show every window",
                                     state.href(start=every[0].date()), id="all-windows")],
                  className="hint", id="history-range")
    return TimeRange(first.date()), [note]


def _empty(crumbs: html.Nav, panel: html.Div) -> html.Div:
    return html.Div([html.Div(crumbs, className="column-head"), panel], className="page")


def _reason(row: pd.Series) -> str:
    """The verdict in words: which rules fired, or why the row is not drift."""
    return (labels.text(row.get("reason")) or labels.text(row["message"])
            or status_meaning(str(row["status"])))


def _figures(row: pd.Series) -> str:
    """The numbers behind the verdict: PSI against its threshold, q-value against the FDR."""
    if row["current_count"] == 0 or pd.isna(row["psi"]):
        return "No figures: nothing to compare in this window."
    psi = row["psi_corrected"] if pd.notna(row.get("psi_corrected")) else row["psi"]
    source = labels.text(row.get("threshold_source"))
    q = row["q_value"] if pd.notna(row.get("q_value")) else None
    text = f"PSI {labels.number(psi)} vs threshold {labels.number(row['threshold'])}" + (
        f" ({source})" if source else "") + "; "
    if q is None:
        return text + f"p-value {labels.p_value(row['p_value'])}."
    return text + (f"q-value {labels.p_value(q)} vs false discovery rate "
                   f"{labels.number(row['p_value_threshold'])}.")


def _overlay(hist: Histogram | str, column: str, kind: str | None,
             top: list[dict[str, Any]]) -> html.Div | dcc.Graph:
    if isinstance(hist, str):
        return empty_state("no-baseline", "No histogram for this window", html.P(hist))
    marked = {str(c["bin"]) for c in top}
    return dcc.Graph(id="overlay", figure=figures.overlay(hist, column, kind, marked),
                     config=figures.CONFIG)


def _contributors(column: str, kind: str | None,
                  top: list[dict[str, Any]]) -> html.Div | html.P:
    if not top:
        return html.P("No bin stands out: nothing to compare in this window.", className="hint")
    total = sum(float(c["contribution"] or 0) for c in top) or 1.0
    items = [html.Li([
        html.Div(labels.contributor_sentence(column, kind, c), className="sentence"),
        html.Div(html.Div(className="bar-fill",
                          style={"width": f"{100 * float(c['contribution'] or 0) / total:.0f}%"}),
                 className="bar", title=f"PSI term {labels.number(c['contribution'])}"),
    ], className="contributor", **attrs(data_bin=str(c["bin"]))) for c in top]
    return html.Div([html.Ol(items, id="contributors", className="contributors"),
                     html.P("Bar: each bin's share of the PSI among these bins.",
                            className="hint")])


def _metrics(row: pd.Series) -> html.Table:
    def cell(value: Any) -> str:
        return "–" if value is None or pd.isna(value) else f"{int(value):,}"

    def shares(group: str) -> str:
        return (f"{labels.percent(_value(row, f'current_{group}_fraction'))} / "
                f"{labels.percent(_value(row, f'baseline_{group}_fraction'))}")

    pairs = [
        ("PSI: plug-in / bias-corrected", f"{labels.number(row['psi'])} / "
                                          f"{labels.number(_value(row, 'psi_corrected'))}"),
        ("KL(baseline‖window)", labels.number(row["kl_divergence"])),
        ("KL(window‖baseline)", labels.number(row["kl_reverse"])),
        ("Jensen–Shannon", labels.number(row["js_divergence"])),
        ("p-value / q-value", f"{labels.p_value(row['p_value'])} / "
                              f"{labels.p_value(_value(row, 'q_value'))}"),
        ("rows: window / baseline", f"{cell(row['current_count'])} / "
                                    f"{cell(row['baseline_count'])}"),
        ("null share: window / baseline", shares("null")),
    ]
    pairs += [(f"{what}: window / baseline", shares(group)) for group, what in
              (("other", "other values"), ("unseen", "never-seen values"),
               ("outside", "outside the range"))
              if _value(row, f"current_{group}_fraction") is not None]
    return html.Table(html.Tbody([html.Tr([html.Th(k), html.Td(v, className="num")])
                                  for k, v in pairs]), className="table metrics")


def _value(row: pd.Series, name: str) -> float | None:
    """A float column of the row; None when missing (older tables) or null."""
    value = row.get(name)
    return None if value is None or pd.isna(value) else float(value)


def _checks(rules: list[dict[str, Any]], status: str) -> html.Div | html.P:
    if not rules:
        return html.P("No rule was applied to this window (no verdict, or a row written "
                      "before the rules).", className="hint")
    known = STATUS.get(status)
    # Figures of an unjudged window are stored, but no rule can fire on them.
    note = [] if known is None or known.judged else [html.P(
        f"Not judged ({known.label}): the figures are shown, no rule can fire.",
        className="hint", id="not-judged")]
    head = html.Thead(html.Tr([html.Th("rule"), html.Th("figure", className="num"),
                               html.Th("threshold", className="num"),
                               html.Th("p-value", className="num"), html.Th("outcome")]))
    body = [html.Tr([
        html.Td(str(c["rule"])), html.Td(labels.number(c["figure"]), className="num"),
        html.Td(f"{labels.number(c['threshold'])} ({c['threshold_source']})", className="num"),
        html.Td(labels.p_value(c["p_value"]), className="num"), html.Td(_outcome(c)),
    ], className="check-fired" if c["fired"] else "check", **attrs(data_rule=str(c["rule"])))
        for c in rules]
    return html.Div([*note, html.Table([head, html.Tbody(body)], id="checks",
                                       className="table checks")])


def _outcome(check: dict[str, Any]) -> str:
    if check["fired"]:
        return "fired"
    return "could reach its threshold; did not fire" if check["effect_reached"] else "below"
