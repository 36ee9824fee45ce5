"""spark-submit entry point in a checkout: kl_udfs/jobs/backfill.py, which the package ships.

A deployment can copy this file, or submit the packaged one (the generated DAGs do).
"""

import sys

from kl_udfs.jobs.backfill import main

if __name__ == "__main__":
    sys.exit(main())
