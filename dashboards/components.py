"""Small shared pieces of the pages: badges, empty states, command hints."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboards.queries import DRIFT, ERROR, NO_DATA, OK, QUALITY_FAILED
from dashboards.store import Snapshot

STATUS_TEXT = {OK: "ok", DRIFT: "drift", QUALITY_FAILED: "quality gate failed", ERROR: "error",
               NO_DATA: "no data"}


def attrs(**values: object) -> dict[str, Any]:
    """HTML data-* attributes (data_status= -> data-status=) for a component's kwargs."""
    return {name.replace("_", "-"): value for name, value in values.items()}


def status_badge(status: str) -> html.Span:
    return html.Span(STATUS_TEXT.get(status, status), className=f"badge status-{status}")


def badge(text: str, tone: str = "neutral", **extra: Any) -> html.Span:
    return html.Span(text, className=f"badge tone-{tone}", **extra)


def config_arg(snap: Snapshot) -> str:
    return snap.source.config_path or "monitors.yaml"


def command(text: str) -> html.Pre:
    return html.Pre(html.Code(text), className="command")


def empty_state(kind: str, title: str, *body: Any) -> html.Div:
    """A panel that says why there is nothing to show and what to run next."""
    return html.Div([html.H3(title), *body], className="empty-state", **attrs(data_empty=kind))


def link(text: str, href: str, **extra: Any) -> dcc.Link:
    return dcc.Link(text, href=href, **extra)
