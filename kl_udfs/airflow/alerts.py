"""Alerts: one JSON message for a window's drift rows, one for its volume or freshness problem
(read by `kl_udfs.sql.reads`).

A message is Slack-compatible (a top-level "text") and carries the structured facts
(monitor, window, drifted columns with the rules that fired, their reason in words, PSI,
q-value and top contributing bins) for any other receiver.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from typing import Any

from kl_udfs.core.config import Config
from kl_udfs.core.contract import DRIFT as DRIFT_STATUS
from kl_udfs.core.windows import Window
from kl_udfs.sql.reads import naive_utc, rows_between, volume_between, volume_problems


def _share(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.1f}%"


def drift_message(monitor: str, start: datetime, end: datetime,
                  rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One message for the window, or None when no column drifted."""
    drifted = sorted((r for r in rows if r["status"] == DRIFT_STATUS),
                     key=lambda r: -(r.get("psi_corrected") or r["psi"] or 0.0))
    if not drifted:
        return None
    columns = [{
        "column": r["column_name"],
        "reason": r.get("reason"),
        "fired_rules": list(r.get("fired_rules") or []),
        "psi": r.get("psi_corrected"),
        "kl_divergence": r["kl_divergence"],
        "p_value": r["p_value"],
        "q_value": r.get("q_value"),
        "threshold": r["threshold"],
        "top_contributors": [
            {"bin": c["bin"], "baseline_fraction": c["baseline_fraction"],
             "current_fraction": c["current_fraction"], "contribution": c["contribution"]}
            for c in (r["top_contributors"] or [])[:3]
        ],
    } for r in drifted]
    lines = [
        f"• {c['column']}: {c['reason'] or 'drift'}; "
        + ", ".join(f"{t['bin']} {_share(t['baseline_fraction'])} → "
                    f"{_share(t['current_fraction'])}" for t in c["top_contributors"][:2])
        for c in columns
    ]
    window = f"[{naive_utc(start).isoformat()}, {naive_utc(end).isoformat()})"
    text = f"kl-drift: {len(columns)} column(s) of {monitor} drifted in {window}\n" + \
        "\n".join(lines)
    return {"kind": "drift", "text": text, "monitor": monitor,
            "window_start": naive_utc(start).isoformat(), "window_end": naive_utc(end).isoformat(),
            "columns": columns}


def volume_message(monitor: str, start: datetime, end: datetime,
                   row: dict[str, Any] | None) -> dict[str, Any] | None:
    """One message for the window's volume drift or stale source, or None when neither."""
    problems = volume_problems(row) if row is not None else []
    if row is None or not problems:
        return None
    window = f"[{naive_utc(start).isoformat()}, {naive_utc(end).isoformat()})"
    text = f"kl-drift: volume or freshness of {monitor} in {window}\n" + "\n".join(
        f"• {p}" for p in problems)
    committed = row["source_committed_at"]
    return {"kind": "volume", "text": text, "monitor": monitor,
            "window_start": naive_utc(start).isoformat(), "window_end": naive_utc(end).isoformat(),
            "status": row["status"], "reason": row["reason"], "row_count": row["row_count"],
            "expected_count": row["expected_count"], "expected_low": row["expected_low"],
            "expected_high": row["expected_high"], "freshness_status": row["freshness_status"],
            "source_committed_at": None if committed is None else
            naive_utc(committed).isoformat(),
            "source_version": row["source_version"]}


def post(url: str, message: dict[str, Any], timeout: float = 10.0) -> int:
    """POST the message as JSON; raises on a non-2xx answer so the task retries."""
    request = urllib.request.Request(url, data=json.dumps(message).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


def alert_messages(config: Config, monitor: str,
                   windows: list[Window]) -> tuple[list[dict[str, Any]], int]:
    """Per window, oldest first: a message when columns drifted (kind `drift`) and one when
    its row count drifted or the source was stale (kind `volume`); and the count of drift
    rows read."""
    rows = rows_between(config, monitor, windows[0].start, windows[-1].end)
    volumes = volume_between(config, monitor, windows[0].start, windows[-1].end)

    def of(window: Window, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in found if naive_utc(r["window_start"]) == window.start
                and naive_utc(r["window_end"]) == window.end]

    messages = []
    for window in windows:
        volume = of(window, volumes)
        for message in (drift_message(monitor, window.start, window.end, of(window, rows)),
                        volume_message(monitor, window.start, window.end,
                                       volume[0] if volume else None)):
            if message is not None:
                messages.append(message)
    return messages, len(rows)


def asset_extra(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The drift asset event's payload: the latest drifted window and, per drifted column,
    what fired and its figures, so a consumer (a retraining DAG) need not read the tables to
    decide; `drifted_windows` lists every window of the run that drifted. Only `drift`
    messages count: a volume or freshness problem asks for no retraining."""
    messages = [m for m in messages if m["kind"] == "drift"]
    latest = messages[-1]
    return {"monitor": latest["monitor"], "window_start": latest["window_start"],
            "window_end": latest["window_end"],
            "columns": [{key: column[key] for key in
                         ("column", "reason", "fired_rules", "psi", "kl_divergence",
                          "p_value", "q_value", "threshold")}
                        for column in latest["columns"]],
            "drifted_windows": [{"window_start": m["window_start"],
                                 "window_end": m["window_end"]} for m in messages]}
