"""What a job needs on the executors of a remote cluster: the kl_udfs package as a zip.

Pandas UDFs and Delta writes run kl_udfs code on the executors, which on a real cluster have
no checkout. The zip goes with the job, by `spark-submit --py-files` or by `addPyFile` from a
driver whose session the CLI opened; the Delta jars travel through `spark.jars.packages`.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from kl_udfs.core.cache import cache_dir

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # same sources, same bytes, same file name


def package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def loaded_from_archive() -> bool:
    """True when kl_udfs itself was imported from a zip or wheel (it was shipped already)."""
    return not Path(__file__).is_file()


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def package_zip(dest: Path | None = None) -> Path:
    """kl_udfs as `kl_udfs-<content hash>.zip` in `dest` (default: <cache>/dist), built once.

    Named by content so a changed package is a new file (executors cache files by name), and
    written to a temp file then renamed so concurrent jobs never see a half-written zip.
    """
    root = package_dir()
    files = _sources(root)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    target_dir = dest or cache_dir() / "dist"
    target = target_dir / f"kl_udfs-{digest.hexdigest()[:12]}.zip"
    if target.exists():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target_dir, suffix=".zip.tmp")
    os.close(handle)
    with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            name = str(Path(root.name) / path.relative_to(root))
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    os.replace(temp, target)
    return target


def is_local(master: str | None) -> bool:
    return master is not None and master.startswith("local")


def ship_package(spark: SparkSession) -> Path | None:
    """Add the kl_udfs zip to a non-local session unless it travels with the job already."""
    if is_local(spark.sparkContext.master) or loaded_from_archive():
        return None
    path = package_zip()
    spark.sparkContext.addPyFile(str(path))
    return path


def main() -> int:
    """`python -m kl_udfs.spark.shipping [DIR]`: build the zip, print its path (--py-files)."""
    print(package_zip(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
