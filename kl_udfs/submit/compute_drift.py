"""spark-submit entry point: drift of one window [start, end), e.g. an Airflow data interval.

spark-submit kl_udfs/submit/compute_drift.py --config monitors.yaml --monitor card_transactions \
    --start 2026-03-01T00:00:00 --end 2026-03-02T00:00:00
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from kl_udfs.cli import main as kldrift


def main(argv: Sequence[str] | None = None) -> int:
    return kldrift(["run", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
