"""How long each DAG file takes to parse, the way Airflow's DagBag parses it.

Each file is parsed in a fresh interpreter (after `import airflow`, which every DAG
processor has already paid for), several times, and the table prints the median.
`--monitors N` parses the files against a config of N monitors (copies of the demo's two,
renamed) instead of the demo's own; Airflow gives up on a file after its
`dagbag_import_timeout` (30 s by default).

    .venv/bin/python bench/dag_parse.py [--repeat 5] [--monitors 100] [--file kldrift_monitors.py]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys, time
import airflow.sdk  # already imported in a DAG processor
from airflow.dag_processing.dagbag import DagBag
began = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - began
print(json.dumps({"seconds": elapsed, "dags": len(bag.dags), "errors": len(bag.import_errors),
                  "heavy": sorted(m for m in ("numpy", "scipy", "pyspark.sql", "pandas",
                                              "great_expectations") if m in sys.modules)}))
"""


def write_config(monitors: int, folder: Path) -> Path:
    """A config of `monitors` monitors in `folder`: the demo's, copied in turn and renamed."""
    import yaml

    demo = yaml.safe_load((ROOT / "kl_udfs" / "demo" / "monitors.yaml").read_text())
    copies = []
    for i in range(monitors):
        monitor = dict(demo["monitors"][i % len(demo["monitors"])])
        monitor["name"] = f"{monitor['name']}_{i:03d}"
        copies.append(monitor)
    path = folder / "monitors.yaml"
    path.write_text(yaml.safe_dump({**demo, "monitors": copies}, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--config", default=str(ROOT / "kl_udfs" / "demo" / "monitors.yaml"))
    parser.add_argument("--monitors", type=int, help="parse against N copies of the demo's "
                        "monitors instead of --config")
    parser.add_argument("--file", action="append", help="parse only this file of dags/ "
                        "(repeatable); default: all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(args.monitors, Path(folder)) if args.monitors else args.config
        report(str(config), args.repeat, args.file)


def report(config: str, repeat: int, only: list[str] | None = None) -> None:
    env = {**os.environ, "KLDRIFT_CONFIG": config, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    print(f"{'dag file':<28} {'dags':>4} {'errors':>6} {'median s':>9} {'max s':>7}  "
          "heavy modules imported")
    for path in sorted((ROOT / "dags").glob("*.py")):
        if only and path.name not in only:
            continue
        runs = [json.loads(subprocess.run([sys.executable, "-c", PROBE, str(path)], env=env,
                                          check=True, capture_output=True, text=True)
                           .stdout.strip().splitlines()[-1]) for _ in range(repeat)]
        times = [r["seconds"] for r in runs]
        print(f"{path.name:<28} {runs[0]['dags']:>4} {runs[0]['errors']:>6} "
              f"{statistics.median(times):>9.3f} {max(times):>7.3f}  "
              f"{', '.join(runs[0]['heavy']) or 'none'}")


if __name__ == "__main__":
    main()
