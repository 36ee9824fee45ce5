"""Alerts through an Airflow Connection: a Notifier for drift messages and task failures.

The webhook's address is an Airflow Connection (default id `kldrift_webhook`, or
$KLDRIFT_WEBHOOK_CONN_ID), so it is managed like every other secret of a deployment: in the
UI, a secrets backend, or `AIRFLOW_CONN_KLDRIFT_WEBHOOK='https://hooks.slack.com/services/…'`.
Without that connection nothing is posted: alerts are optional, a drift row is the record.
The messages are Slack-compatible (a top-level "text") and carry the structured facts too;
with `{"format": "slack"}` in the connection's extra they are Slack's own text and blocks.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import BaseNotifier

from kl_udfs.core import environment

WEBHOOK_CONN_ID = "kldrift_webhook"
WEBHOOK_CONN_ENV = environment.WEBHOOK_CONN_ID


def webhook_conn_id() -> str:
    return os.environ.get(WEBHOOK_CONN_ENV) or WEBHOOK_CONN_ID


def connection_url(conn: Any) -> str:
    """The URL a connection names: its extra `url`, a full URL in `host`, or the parts of a URI
    connection (`https://host:port/path` gives conn_type https and the path as `schema`)."""
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    if extra.get("url"):
        return str(extra["url"])
    host = conn.host or ""
    path = (conn.schema or "").lstrip("/")
    if "://" in host:  # the URL as it was given
        return f"{host.rstrip('/')}/{path}" if path else host
    scheme = "https" if conn.conn_type == "https" else "http"
    return f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "") + f"/{path}"


# What a webhook receives, chosen by the connection's extra `format`: the whole kl-drift
# message (any receiver, including Slack's, which shows its "text"), or Slack's own message
# of text and blocks (Slack and the chat tools that take its format).
FORMATS = ("kl-drift", "slack")


def webhook_target(conn_id: str) -> tuple[str, str] | None:
    """(URL, format) of the webhook connection, or None when it is not defined."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:  # not defined: alerts are off
        return None
    shape = str(conn.extra_dejson.get("format") or FORMATS[0])
    if shape not in FORMATS:
        raise ValueError(f"connection {conn_id!r}: format {shape!r} is not one of "
                         f"{', '.join(FORMATS)}")
    return connection_url(conn), shape


def slack_payload(message: dict[str, Any]) -> dict[str, Any]:
    """Slack's incoming-webhook message: the text, and one mrkdwn section per line of it."""
    head, *lines = message["text"].splitlines()
    blocks: list[dict[str, Any]] = [{"type": "section",
                                     "text": {"type": "mrkdwn", "text": f"*{head}*"}}]
    if lines:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    return {"text": message["text"], "blocks": blocks}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def failure_message(monitor: str, context: Any) -> dict[str, Any]:
    """What failed, for which window and why, from a task's callback context."""
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    dag_id = getattr(ti, "dag_id", "?")
    error = " ".join(str(context.get("exception") or "unknown error").split())
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    window = f" for [{_iso(start)}, {_iso(end)})" if start is not None else ""
    return {"kind": "failure", "monitor": monitor, "dag_id": dag_id, "task_id": task_id,
            "run_id": context.get("run_id"), "try_number": getattr(ti, "try_number", None),
            "window_start": _iso(start), "window_end": _iso(end), "error": error,
            "text": f"kl-drift: {task_id} of monitor {monitor} failed{window}: {error}"}


class KlDriftWebhookNotifier(BaseNotifier):
    """Posts kl-drift messages to the webhook of an Airflow Connection.

    As a callback (`on_failure_callback=KlDriftWebhookNotifier(monitor="cards")`) it posts
    the failure of the task; `send(message)` posts a drift message from a task.
    """

    template_fields = ("conn_id", "monitor")

    def __init__(self, monitor: str = "", conn_id: str | None = None) -> None:
        super().__init__()
        self.monitor = monitor
        self.conn_id = conn_id or webhook_conn_id()

    def send(self, message: dict[str, Any]) -> bool:
        """Post one message; False (and a log line) when the connection is not defined."""
        from kl_udfs.airflow.alerts import post

        target = webhook_target(self.conn_id)
        if target is None:
            self.log.info("no connection %r: kl-drift alert not posted", self.conn_id)
            return False
        url, shape = target
        post(url, slack_payload(message) if shape == "slack" else message)
        return True

    def notify(self, context: Any) -> None:
        self.send(failure_message(self.monitor, context))
