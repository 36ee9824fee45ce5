"""spark-submit entry point in a checkout: kl_udfs/submit/check_quality.py, shipped in the package.

A deployment can copy this file, or submit the packaged one (the generated DAGs do).
"""

import sys

from kl_udfs.submit.check_quality import main

if __name__ == "__main__":
    sys.exit(main())
