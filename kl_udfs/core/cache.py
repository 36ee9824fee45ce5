"""Where kl-drift keeps what it downloads and scratches (jars, Spark and Airflow homes)."""

from __future__ import annotations

import os
from pathlib import Path

from kl_udfs.core import environment

CACHE_ENV = environment.CACHE


def cache_dir() -> Path:
    """Project cache (jars, Spark scratch): $KLDRIFT_CACHE_DIR, else ./.cache of a checkout."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").exists():
        return checkout / ".cache"
    return Path.home() / ".cache" / "kl-drift"
