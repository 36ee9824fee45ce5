"""Files that ship inside the package (job entry points, ready SQL, the demo's config).

Found through `importlib.resources`, so they are where the package is: a checkout, a wheel in
site-packages or an image. spark-submit and Airflow need real paths, so a package imported
from a zip (shipped to executors) has none to give, and asking is an error.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def packaged(package: str, name: str) -> Path:
    """The on-disk path of `name` inside `package` (a file or a folder)."""
    path = Path(str(resources.files(package).joinpath(name)))
    if not path.exists():
        raise FileNotFoundError(f"{package} has no {name} on disk (imported from an archive?)")
    return path
