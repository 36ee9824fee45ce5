"""Drift alerts: read a window's drift rows without a JVM and post one JSON message.

The message is Slack-compatible (a top-level "text") and carries the structured facts
(monitor, window, drifted columns with the rules that fired, their reason in words, PSI,
q-value and top contributing bins) for any other receiver.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kl_udfs.core.contract import DRIFT as DRIFT_STATUS


def window_rows(monitoring_path: str, monitor: str, start: datetime,
                end: datetime) -> list[dict[str, Any]]:
    """The `drift_results` rows of one window, read with delta-rs (fast, no Spark)."""
    from deltalake import DeltaTable

    table = Path(monitoring_path) / "drift_results"
    if not (table / "_delta_log").exists():
        return []
    rows = DeltaTable(str(table)).to_pyarrow_table(
        filters=[("monitor", "=", monitor)]).to_pylist()
    return [r for r in rows if _naive(r["window_start"]) == _naive(start)
            and _naive(r["window_end"]) == _naive(end)]


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None) if instant.tzinfo else instant


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
    window = f"[{_naive(start).isoformat()}, {_naive(end).isoformat()})"
    text = f"kl-drift: {len(columns)} column(s) of {monitor} drifted in {window}\n" + \
        "\n".join(lines)
    return {"text": text, "monitor": monitor, "window_start": _naive(start).isoformat(),
            "window_end": _naive(end).isoformat(), "columns": columns}


def post(url: str, message: dict[str, Any], timeout: float = 10.0) -> int:
    """POST the message as JSON; raises on a non-2xx answer so the task retries."""
    request = urllib.request.Request(url, data=json.dumps(message).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)
