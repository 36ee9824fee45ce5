"""The Dash app: a shell (URL, header, page) and the callbacks between URL and page.

The URL is the only state. One callback renders the filters and the page from it; the
filters, heatmap cells and history points only write a new URL, so every view is a link that
can be shared. A first visit needs no callback at all: its layout arrives filled in.

The callbacks are thin wrappers around the plain functions `render`, `navigate`,
`heatmap_click` and `history_click`, which tests call directly.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask import has_request_context, request

from dashboards import column_view, overview
from dashboards.queries import monitor_columns, monitor_names
from dashboards.state import DEFAULT_WINDOWS, WINDOW_CHOICES, ViewState
from dashboards.store import Snapshot, Source, Store

ASSETS = Path(__file__).with_name("assets")
# plotly.js' official "cartesian" partial bundle (scatter, bar, heatmap: all these pages use),
# 1.5 MB instead of the full 4.8 MB. It is added once the page's own scripts have run, so it
# compiles while the app waits for its first layout rather than before asking for it.
# dcc.Graph uses an already loaded window.Plotly and then never fetches the full bundle.
PLOTLY_BUNDLE = "plotly-cartesian-4.1.1.min.js"
INDEX = """<!DOCTYPE html>
<html>
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
        <link rel="preload" href="PLOTLY_URL" as="script">
        <script>
          document.addEventListener("DOMContentLoaded", function () {
            var plotly = document.createElement("script");
            plotly.src = "PLOTLY_URL";
            document.head.appendChild(plotly);
          });
        </script>
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def shell(snap: Snapshot | None = None, search: str | None = None) -> html.Div:
    """The page frame; with a snapshot, already filled in for `search` (see `create_app`)."""
    parts = render(snap, search) if snap is not None else (
        [], html.Div("Loading…", className="hint"), [])
    return html.Div([
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="rendered-for", data=search if snap is not None else None),
        html.Header([
            html.A([html.Span("kl-drift", className="brand"),
                    html.Span("drift dashboard", className="brand-sub")], href="/",
                   className="brand-link"),
            html.Div(parts[2], id="data-info", className="data-info"),
        ], className="topbar"),
        html.Div(parts[0], id="filters", className="filters"),
        html.Main(parts[1], id="page"),
    ], className="app")


def _page_query() -> str | None:
    """The query string of the page that asks for the layout (its Referer), if known."""
    if not has_request_context() or not request.referrer:
        return None
    return "?" + urlsplit(request.referrer).query if urlsplit(request.referrer).query else ""


def _options(values: list[str]) -> list[dict[str, str]]:
    return [{"label": v, "value": v} for v in values]


def filters(snap: Snapshot, state: ViewState) -> list[Any]:
    columns = monitor_columns(snap, state.monitor) if state.monitor else []
    windows = sorted({*WINDOW_CHOICES, state.windows})
    return [
        dcc.Dropdown(id="f-monitor", options=_options(monitor_names(snap)), value=state.monitor,
                     placeholder="All monitors", clearable=True,
                     className="filter filter-monitor"),
        dcc.Dropdown(id="f-column", options=_options(columns), value=state.column,
                     placeholder="Column: open its drill-down" if state.monitor else
                     "Column (pick a monitor first)", disabled=not state.monitor,
                     clearable=True, className="filter filter-column"),
        dcc.DatePickerRange(id="f-dates", clearable=True, display_format="YYYY-MM-DD",
                            start_date=state.start.isoformat() if state.start else None,
                            end_date=state.end.isoformat() if state.end else None,
                            start_date_placeholder_text="from (window start)",
                            end_date_placeholder_text="to", updatemode="bothdates",
                            className="filter-dates"),
        dcc.Dropdown(id="f-windows", clearable=False, searchable=False, value=state.windows,
                     className="filter filter-windows",
                     options=[{"label": f"latest {n} windows", "value": n} for n in windows]),
        html.A("link to this view", href=state.href(), id="share-link", className="share"),
    ]


def render(snap: Snapshot, search: str | None) -> tuple[Any, Any, Any]:
    """(filters, page, header info) of the URL's query string."""
    state = ViewState.from_query(search)
    page = column_view.page(snap, state) if state.is_column else overview.page(snap, state)
    read = snap.loaded_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    info = [html.Span(snap.source.monitoring_path, className="path"),
            html.Span(f"tables read {read}", className="read")]
    return filters(snap, state), page, info


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def navigate(snap: Snapshot, search: str | None, monitor: str | None, column: str | None,
             start: str | None, end: str | None, windows: int | None) -> Any:
    """The URL of the filters' values (no_update when it does not change)."""
    previous = ViewState.from_query(search)
    if column not in (monitor_columns(snap, monitor) if monitor else []):
        column = None
    same_column = (monitor, column) == (previous.monitor, previous.column)
    state = ViewState(monitor=monitor or None, column=column, start=_day(start), end=_day(end),
                      window=previous.window if same_column else None,
                      windows=windows or DEFAULT_WINDOWS)
    query = state.to_query()
    return query if query != (search or "") else no_update


def heatmap_click(monitor: str | None, click: dict[str, Any] | None,
                  search: str | None) -> Any:
    """A heatmap cell opens that column's drill-down at that window."""
    if not monitor or not click or not click.get("points"):
        return no_update
    point = click["points"][0]
    state = ViewState.from_query(search)
    return ViewState(monitor=monitor, column=str(point["y"]), start=state.start, end=state.end,
                     window=_instant(point.get("x")), windows=state.windows).to_query()


def history_click(click: dict[str, Any] | None, search: str | None) -> Any:
    """A point of the metric history shows that window."""
    if not click or not click.get("points"):
        return no_update
    point = click["points"][0]
    window = _instant(point.get("customdata")) or _instant(point.get("x"))
    if window is None:
        return no_update
    state = ViewState.from_query(search)
    return ViewState(state.monitor, state.column, state.start, state.end, window,
                     state.windows).to_query()


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
    except ValueError:
        return None


def create_app(store: Store) -> Dash:
    app = Dash(__name__, title="kl-drift", assets_folder=str(ASSETS),
               update_title=None,  # type: ignore[arg-type]  # documented: None keeps the title
               assets_ignore=re.escape(PLOTLY_BUNDLE),  # loaded async by INDEX instead
               suppress_callback_exceptions=True)  # page components come and go
    app.index_string = INDEX.replace("PLOTLY_URL", app.get_asset_url(f"vendor/{PLOTLY_BUNDLE}"))

    def layout() -> html.Div:
        # The first paint needs no callback round trip: the layout request already carries
        # the page's URL (as its Referer), so the layout comes filled in for it. Should the
        # Referer be missing or stale, the render callback's first call fixes the page.
        search = _page_query()
        return shell(store.snapshot(), search) if search is not None else shell()

    app.layout = layout
    to_url = Output("url", "search", allow_duplicate=True)

    @app.callback(Output("filters", "children"), Output("page", "children"),
                  Output("data-info", "children"), Output("rendered-for", "data"),
                  Input("url", "search"), State("rendered-for", "data"))
    def _render(search: str | None, rendered: str | None) -> tuple[Any, ...]:
        # `rendered-for` is used once: Location reports the first URL, and nothing more.
        if rendered is not None and rendered == (search or ""):
            return no_update, no_update, no_update, None  # the layout already shows it
        return (*render(store.snapshot(), search), None)

    @app.callback(to_url, Input("f-monitor", "value"), Input("f-column", "value"),
                  Input("f-dates", "start_date"), Input("f-dates", "end_date"),
                  Input("f-windows", "value"), State("url", "search"),
                  prevent_initial_call=True)
    def _navigate(monitor: str | None, column: str | None, start: str | None,
                  end: str | None, windows: int | None, search: str | None) -> Any:
        return navigate(store.snapshot(), search, monitor, column, start, end, windows)

    @app.callback(to_url, Input({"type": "heatmap", "monitor": ALL}, "clickData"),
                  State("url", "search"), prevent_initial_call=True)
    def _heatmap_click(clicks: list[dict[str, Any] | None], search: str | None) -> Any:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict):
            return no_update
        ids = [item["id"] for item in ctx.inputs_list[0]]
        click = clicks[ids.index(trigger)] if trigger in ids else None
        return heatmap_click(str(trigger["monitor"]), click, search)

    @app.callback(to_url, Input("history", "clickData"), State("url", "search"),
                  prevent_initial_call=True)
    def _history_click(click: dict[str, Any] | None, search: str | None) -> Any:
        return history_click(click, search)

    return app


def serve(source: Source, host: str = "127.0.0.1", port: int = 8050,
          refresh_s: float = 10.0) -> int:
    """Load the tables, then serve until interrupted (Ctrl-C)."""
    store = Store(source, refresh_s)
    snap = store.snapshot()
    store.start()
    app = create_app(store)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    monitors = len(monitor_names(snap))
    print(f"kl-drift dashboard: http://{host}:{port}/ — {monitors} monitor(s) in "
          f"{source.monitoring_path} (logs read in {snap.load_seconds:.2f} s; each page "
          "reads its windows)", flush=True)
    app.run(host=host, port=port, debug=False)
    store.stop()
    return 0
