"""Draw bench/calibration.py's figures to PNG; runs in the "plots" virtualenv (matplotlib).

    python calibration_plot.py <calibration.json> <out dir>
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, PercentFormatter


def _axes(ax: Any, title: str, ylabel: str) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,g}"))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("window rows")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def _lines(ax: Any, rows: list[dict[str, Any]], label: str, value: str) -> None:
    for name in dict.fromkeys(r[label] for r in rows):
        points = sorted((r["n"], r[value]) for r in rows if r[label] == name)
        ax.plot(*zip(*points, strict=True), marker="o", label=name,
                linestyle="--" if name.endswith(", without") else "-")


def main(source: Path, out: Path) -> None:
    found = json.loads(source.read_text())
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    _lines(left, found["false_alarms"], "cell", "rate")
    left.axhline(found["target"], color="black", linestyle="--", label="target (FDR)")
    _axes(left, "False alarms, histograms (section 1)", "windows flagged")
    _lines(right, found["moments"], "cell", "rate")
    right.axhline(found["target"], color="black", linestyle="--", label="target (FDR)")
    _axes(right, "False alarms, real rows (section 6)", "windows flagged")
    fig.tight_layout()
    fig.savefig(out / "calibration_false_alarms.png", dpi=110)
    plt.close(fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    _lines(left, found["detection"], "cell", "rate")
    _axes(left, "Detection per change (section 3)", "windows flagged")
    _lines(right, found["moment_detection"], "cell", "rate")
    _axes(right, "Real rows, with / without the moment rules (section 6)",
          "windows flagged")
    fig.tight_layout()
    fig.savefig(out / "calibration_detection.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
