"""spark-submit entry point: drift of every window in [start, end), in few Spark passes.

spark-submit kl_udfs/submit/backfill.py --config monitors.yaml --monitor card_transactions \
    --start 2026-02-01 --end 2026-04-01
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from kl_udfs.cli import main as kldrift


def main(argv: Sequence[str] | None = None) -> int:
    return kldrift(["backfill", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
