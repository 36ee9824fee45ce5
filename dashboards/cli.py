"""`kldrift dashboard`: resolve where the tables are, check the address, serve."""

from __future__ import annotations

import socket
from pathlib import Path

from dashboards.store import Source, source_from_config, source_from_monitoring
from kl_udfs.core.errors import KlDriftError

DEMO_CONFIG = Path("lakehouse/monitors.yaml")


def resolve_source(config: Path | None, monitoring: Path | None) -> Source:
    if monitoring is not None:
        return source_from_monitoring(monitoring)
    if config is None:
        if not DEMO_CONFIG.is_file():
            raise KlDriftError(f"no demo lakehouse at {DEMO_CONFIG.parent}/: run 'make demo' "
                               "first, or pass --config or --monitoring")
        config = DEMO_CONFIG
    return source_from_config(config)


def check_port(host: str, port: int) -> None:
    """Fail with one line now rather than with the server's multi-line message later."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise KlDriftError(f"cannot listen on {host}:{port}: {error.strerror} "
                               "(pick another --port)") from None


def run_dashboard(config: Path | None, monitoring: Path | None, host: str, port: int,
                  refresh_s: float) -> int:
    from dashboards.app import serve

    source = resolve_source(config, monitoring)
    check_port(host, port)
    return serve(source, host, port, refresh_s)
