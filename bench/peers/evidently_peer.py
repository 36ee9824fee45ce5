"""Evidently's data-drift report with KL divergence on pandas (runs in its own virtualenv).

Reads a JSON spec on stdin: {"reference": dir, "window": dir, "columns": [names]}, reads
both days' Parquet with pandas, runs `DataDriftPreset(method="kl_div")`, and prints one JSON
line: {"seconds", "peak_rss_mib", "kl": {column: value}}. Evidently re-bins every numeric
column itself (Sturges' rule on reference + current) and replaces empty bins with 1e-4, so
its KL is not kl-drift's number on kl-drift's bins: the harness reports it, not compares it.
"""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Any

from peer_io import peak_rss_mib


def _kl_values(snapshot: Any, columns: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for metric in snapshot.dict().get("metrics", []):
        label = str(metric.get("metric_name") or metric.get("metric_id") or "")
        match = re.search(r"column=([^,)\s]+)", label)
        value = metric.get("value")
        if "ValueDrift" in label and match and match.group(1) in columns \
                and isinstance(value, int | float):
            found[match.group(1)] = float(value)
    return found



def main() -> None:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    spec = json.load(sys.stdin)
    started = time.perf_counter()
    reference = pd.read_parquet(spec["reference"], columns=spec["columns"])
    current = pd.read_parquet(spec["window"], columns=spec["columns"])
    report = Report([DataDriftPreset(method="kl_div")])
    snapshot = report.run(current_data=current, reference_data=reference)
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak,
                      "kl": _kl_values(snapshot, spec["columns"])}))


if __name__ == "__main__":
    main()
