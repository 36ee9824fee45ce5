"""Virtualenvs of their own for peers kl-drift does not depend on, made with uv once.

They live in <cache>/bench-venvs/<name>, are rebuilt when their requirements change, and keep
the product's own environment free of the peers' packages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from kl_udfs.core.cache import cache_dir

PEERS: dict[str, list[str]] = {
    "duckdb": ["duckdb==2.0.0"],
    "evidently": ["evidently==0.7.23", "pandas<3", "pyarrow"],  # 0.7 imports a pandas-2 internal
    # whylogs 1.6 uses numpy-1 names (np.unicode_); pyarrow 21+ needs numpy 2
    "whylogs": ["whylogs[viz]==1.6.4", "pyspark==4.2.0", "pandas<3", "numpy<2",
                "pyarrow>=18,<21"],
    "plots": ["matplotlib==3.11.2"],  # bench/peers/plot.py draws the curves
}


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        raise SystemExit("uv is needed to build the peers' virtualenvs (make setup installs it)")
    return found


def python_of(peer: str) -> Path:
    """The interpreter of the peer's virtualenv, built unless it is up to date."""
    requirements = PEERS[peer]
    root = cache_dir() / "bench-venvs" / peer
    marker = root / "requirements.json"
    python = root / "bin" / "python"
    if marker.exists() and json.loads(marker.read_text()) == requirements and python.exists():
        return python
    shutil.rmtree(root, ignore_errors=True)
    uv = _uv()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(root)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *requirements],
                   check=True)
    marker.write_text(json.dumps(requirements))
    return python
