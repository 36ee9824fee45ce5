"""spark-submit entry point: build a monitor's baseline.

spark-submit kl_udfs/submit/build_baseline.py --config monitors.yaml --monitor card_transactions
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from kl_udfs.cli import main as kldrift


def main(argv: Sequence[str] | None = None) -> int:
    return kldrift(["baseline", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
