"""spark-submit entry point: the data-quality gate of one window [start, end).

spark-submit kl_udfs/submit/check_quality.py --config monitors.yaml --monitor card_transactions \
    --start 2026-03-01T00:00:00 --end 2026-03-02T00:00:00 [--fail-on-gate]

Exit 0 when the gate passes, and also when it fails unless --fail-on-gate (then 3): the result
is data in quality_results, which the drift job reads. Exit 2 with one line on bad input.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from kl_udfs.cli import main as kldrift


def main(argv: Sequence[str] | None = None) -> int:
    return kldrift(["quality", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
