"""Alert messages, the asset event's payload and the webhook connection's URL (no JVM)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from kl_udfs.airflow.alerts import alert_messages, asset_extra, drift_message
from kl_udfs.airflow.notify import connection_url, failure_message
from kl_udfs.core.config import Config, parse_config
from kl_udfs.core.errors import KlDriftError
from kl_udfs.core.windows import Window
from kl_udfs.sql.reads import computed_until, window_rows

START, END = datetime(2026, 3, 1), datetime(2026, 3, 2)


def _config(monitoring: Path) -> Config:
    return parse_config({"monitoring": {"path": str(monitoring)}, "monitors": [
        {"name": "cards", "table": "./t", "timestamp_column": "ts",
         "baseline": {"version": 0}}]}, monitoring)


def _row(column: str, status: str, psi: float) -> dict[str, Any]:
    return {"column_name": column, "status": status, "psi": psi, "psi_corrected": psi,
            "reason": f"{column} moved", "fired_rules": ["psi"], "kl_divergence": psi / 2,
            "p_value": 1e-9, "q_value": 1e-8, "threshold": 0.1,
            "top_contributors": [{"bin": "a", "baseline_fraction": 0.5,
                                  "current_fraction": 0.1, "contribution": 0.3}]}


def test_a_window_without_drift_gives_no_message() -> None:
    assert drift_message("cards", START, END, [_row("amount", "ok", 0.01)]) is None


def test_drift_message_lists_drifted_columns_largest_effect_first() -> None:
    rows = [_row("amount", "drift", 0.3), _row("hour", "ok", 0.01), _row("channel", "drift", 2.0)]
    message = drift_message("cards", START, END, rows)
    assert message is not None and message["kind"] == "drift"
    assert [c["column"] for c in message["columns"]] == ["channel", "amount"]
    assert message["text"].startswith("kl-drift: 2 column(s) of cards drifted in "
                                      "[2026-03-01T00:00:00, 2026-03-02T00:00:00)")
    assert "a 50.0% → 10.0%" in message["text"]


def test_asset_extra_carries_each_drifted_columns_figures() -> None:
    message = drift_message("cards", START, END, [_row("channel", "drift", 2.0)])
    assert message is not None
    extra = asset_extra([message])
    assert extra["window_start"] == "2026-03-01T00:00:00"
    assert extra["drifted_windows"] == [{"window_start": "2026-03-01T00:00:00",
                                         "window_end": "2026-03-02T00:00:00"}]
    assert extra["columns"] == [{"column": "channel", "reason": "channel moved",
                                 "fired_rules": ["psi"], "psi": 2.0, "kl_divergence": 1.0,
                                 "p_value": 1e-9, "q_value": 1e-8, "threshold": 0.1}]


def test_window_rows_reads_one_windows_rows_with_delta_rs(tmp_path: Path) -> None:
    stamp = pa.timestamp("us")
    table = pa.table({
        "monitor": ["cards", "cards", "other"],
        "column_name": ["amount", "amount", "amount"],
        "window_start": pa.array([START, END, START], stamp),
        "window_end": pa.array([END, datetime(2026, 3, 3), END], stamp),
        "status": ["drift", "ok", "ok"]})
    write_deltalake(str(tmp_path / "drift_results"), table)
    rows = window_rows(_config(tmp_path), "cards", START.replace(tzinfo=UTC),
                       END.replace(tzinfo=UTC))
    assert [(r["monitor"], r["window_start"], r["status"]) for r in rows] == [
        ("cards", START, "drift")]


def test_alert_messages_give_one_message_per_drifted_window_oldest_first(
        tmp_path: Path) -> None:
    stamp, days = pa.timestamp("us"), [datetime(2026, 3, d) for d in (1, 2, 3, 4)]
    statuses = ["drift", "ok", "drift"]
    rows = [{**_row("amount", status, 0.5), "monitor": "cards", "window_start": start,
             "window_end": end} for status, (start, end) in zip(statuses, pairwise(days),
                                                                 strict=True)]
    rows.append({**_row("amount", "drift", 0.5), "monitor": "other", "window_start": days[1],
                 "window_end": days[2]})
    table = pa.Table.from_pylist(rows)
    assert table.schema.field("window_start").type == stamp
    write_deltalake(str(tmp_path / "drift_results"), table)
    config = _config(tmp_path)
    windows = [Window(a, b) for a, b in pairwise(days)]
    messages, read = alert_messages(config, "cards", windows)
    assert read == 3  # the other monitor's row is not read
    assert [m["window_start"] for m in messages] == ["2026-03-01T00:00:00", "2026-03-03T00:00:00"]
    extra = asset_extra(messages)
    assert extra["window_start"] == "2026-03-03T00:00:00"
    assert [w["window_start"] for w in extra["drifted_windows"]] == [
        "2026-03-01T00:00:00", "2026-03-03T00:00:00"]
    assert computed_until(config, "cards") == days[-1]
    assert computed_until(config, "nobody") is None


def test_computed_until_before_any_table_is_none(tmp_path: Path) -> None:
    assert computed_until(_config(tmp_path / "monitoring"), "cards") is None


def test_window_rows_without_the_table_is_an_error_naming_the_monitor(tmp_path: Path) -> None:
    with pytest.raises(KlDriftError, match=r"monitor 'cards': no drift_results table at "):
        window_rows(_config(tmp_path / "monitoring"), "cards", START, END)


@pytest.mark.parametrize(("conn", "url"), [
    (SimpleNamespace(conn_type="http", host="127.0.0.1", port=8123, schema="hooks/abc",
                     extra_dejson={}), "http://127.0.0.1:8123/hooks/abc"),
    (SimpleNamespace(conn_type="https", host="hooks.slack.com", port=None,
                     schema="services/T1/B2/X3", extra_dejson={}),
     "https://hooks.slack.com/services/T1/B2/X3"),
    (SimpleNamespace(conn_type="http", host="https://example.org/hook", port=None, schema=None,
                     extra_dejson={}), "https://example.org/hook"),
    (SimpleNamespace(conn_type="http", host="ignored", port=None, schema=None,
                     extra_dejson={"url": "https://example.org/x"}), "https://example.org/x"),
], ids=["uri", "https uri", "url in host", "url in extra"])
def test_connection_url(conn: Any, url: str) -> None:
    assert connection_url(conn) == url


def test_failure_message_names_task_monitor_window_and_error() -> None:
    ti = SimpleNamespace(task_id="quality_gate", dag_id="kldrift_drift__cards", try_number=1)
    message = failure_message("cards", {
        "ti": ti, "run_id": "r1", "exception": ValueError("bad\n input"),
        "data_interval_start": START.replace(tzinfo=UTC),
        "data_interval_end": END.replace(tzinfo=UTC)})
    assert message["kind"] == "failure" and message["error"] == "bad input"
    assert message["text"] == ("kl-drift: quality_gate of monitor cards failed for "
                               "[2026-03-01T00:00:00+00:00, 2026-03-02T00:00:00+00:00): bad input")


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        _Receiver.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("shape", ["kl-drift", "slack"])
def test_the_notifier_posts_in_the_format_its_connection_names(
        shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection from the environment, as Airflow reads it; a real HTTP receiver."""
    from kl_udfs.airflow.notify import KlDriftWebhookNotifier

    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received.clear()
    monkeypatch.setenv("AIRFLOW_CONN_CHAT", json.dumps({
        "conn_type": "http", "host": f"http://127.0.0.1:{server.server_port}/hook",
        "extra": {"format": shape}}))
    message = drift_message("cards", START, END, [_row("channel", "drift", 2.0)])
    assert message is not None
    try:
        assert KlDriftWebhookNotifier("cards", "chat").send(message)
    finally:
        server.shutdown()
    (posted,) = _Receiver.received
    if shape == "slack":
        assert set(posted) == {"text", "blocks"} and posted["text"] == message["text"]
        assert posted["blocks"][0]["text"]["text"] == f"*{message['text'].splitlines()[0]}*"
        assert "channel" in posted["blocks"][1]["text"]["text"]
    else:
        assert posted == json.loads(json.dumps(message))


def test_without_the_connection_nothing_is_posted() -> None:
    from kl_udfs.airflow.notify import KlDriftWebhookNotifier

    assert KlDriftWebhookNotifier("cards", "no_such_connection").send({"text": "x"}) is False


def _volume_row(start: datetime, end: datetime, status: str, freshness: str) -> dict[str, Any]:
    return {"monitor": "cards", "window_start": start, "window_end": end, "row_count": 412,
            "expected_count": 1020.0, "expected_low": 880.0, "expected_high": 1170.0,
            "history_windows": 28, "status": status,
            "reason": "412 rows, expected 1,020 (880–1,170) from 28 previous windows",
            "source_committed_at": datetime(2026, 2, 27, 6), "source_version": 12,
            "max_age_s": 36 * 3600, "freshness_status": freshness,
            "computed_at": datetime(2026, 3, 2, 6)}


def test_volume_drift_and_a_stale_source_give_volume_messages_apart_from_drift(
        tmp_path: Path) -> None:
    days = [datetime(2026, 3, d) for d in (1, 2, 3, 4)]
    write_deltalake(str(tmp_path / "drift_results"), pa.Table.from_pylist([
        {**_row("amount", "drift" if start == days[0] else "ok", 0.5), "monitor": "cards",
         "window_start": start, "window_end": end} for start, end in pairwise(days)]))
    write_deltalake(str(tmp_path / "volume_results"), pa.Table.from_pylist([
        _volume_row(days[0], days[1], "ok", "fresh"),
        _volume_row(days[1], days[2], "drift", "unchecked"),
        _volume_row(days[2], days[3], "ok", "stale")]))
    messages, read = alert_messages(_config(tmp_path), "cards",
                                    [Window(a, b) for a, b in pairwise(days)])
    assert read == 3
    assert [(m["kind"], m["window_start"]) for m in messages] == [
        ("drift", "2026-03-01T00:00:00"), ("volume", "2026-03-02T00:00:00"),
        ("volume", "2026-03-03T00:00:00")]
    counted, stale = messages[1], messages[2]
    assert counted["text"] == (
        "kl-drift: volume or freshness of cards in [2026-03-02T00:00:00, 2026-03-03T00:00:00)\n"
        "• row count: 412 rows, expected 1,020 (880–1,170) from 28 previous windows")
    assert (counted["row_count"], counted["expected_low"], counted["status"]) == (
        412, 880.0, "drift")
    assert stale["text"].endswith(
        "• stale source: last commit 2026-02-27 06:00 UTC (version 12), 72.0 hours before "
        "the run; max age 36 hours")
    assert stale["freshness_status"] == "stale"
    assert stale["source_committed_at"] == "2026-02-27T06:00:00"
    # the retraining asset hears of the column drift only
    assert asset_extra(messages)["drifted_windows"] == [
        {"window_start": "2026-03-01T00:00:00", "window_end": "2026-03-02T00:00:00"}]


def test_a_lake_without_volume_results_alerts_drift_only(tmp_path: Path) -> None:
    write_deltalake(str(tmp_path / "drift_results"), pa.Table.from_pylist([
        {**_row("amount", "drift", 0.5), "monitor": "cards", "window_start": START,
         "window_end": END}]))
    messages, _ = alert_messages(_config(tmp_path), "cards", [Window(START, END)])
    assert [m["kind"] for m in messages] == ["drift"]
