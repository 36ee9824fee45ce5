"""Small shared pieces of the pages: badges, empty states, command hints."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboards.store import Snapshot
from kl_udfs.core.contract import STATUS


def attrs(**values: object) -> dict[str, Any]:
    """HTML data-* attributes (data_status= -> data-status=) for a component's kwargs."""
    return {name.replace("_", "-"): value for name, value in values.items()}


def status_label(status: str) -> str:
    """What a person reads for a status (the contract's label; unknown ones as stored)."""
    known = STATUS.get(status)
    return known.label if known else status


def status_meaning(status: str) -> str:
    """The contract's explanation of a status, as plain text ('' for an unknown one)."""
    known = STATUS.get(status)
    return known.meaning.replace("`", "") if known else ""


def status_badge(status: str) -> html.Span:
    return html.Span(status_label(status), className=f"badge status-{status}",
                     title=status_meaning(status))


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
