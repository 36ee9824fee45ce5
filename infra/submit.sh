#!/usr/bin/env bash
# spark-submit a kl-drift job with everything it needs on the executors, from any shell:
#
#   infra/submit.sh [--master URL] [spark-submit options ...] APP.py [app args ...]
#   infra/submit.sh jobs/compute_drift.py --config monitors.yaml --monitor cards \
#       --start 2026-03-01T00:00:00 --end 2026-03-02T00:00:00
#
# The master is --master, else $KLDRIFT_SPARK_MASTER, else the one `infra/cluster.sh up` wrote.
# It adds the Delta jars (--packages, cached in .cache/ivy), kl_udfs as a zip (--py-files) and
# the checkout's Python for driver and executors, prints the command, then runs it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${KLDRIFT_PYTHON:-$ROOT/.venv/bin/python}
CACHE=${KLDRIFT_CACHE_DIR:-$ROOT/.cache}
[ -x "$PY" ] || { echo "submit: no Python at $PY: run 'make setup' first" >&2; exit 1; }

master=${KLDRIFT_SPARK_MASTER:-}
state=${KLDRIFT_CLUSTER_DIR:-$CACHE/cluster}/cluster.env
if [ -z "$master" ] && [ -f "$state" ]; then
  master=$(sed -n 's/^KLDRIFT_SPARK_MASTER=//p' "$state")
fi
options=()
while [ $# -gt 0 ] && [[ "$1" == --* ]]; do
  case "$1" in
    --master) master=$2; shift 2 ;;
    --*=*) options+=("$1"); shift ;;
    *) options+=("$1" "$2"); shift 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "submit: usage: infra/submit.sh [--master URL] [options] APP.py [args]" >&2; exit 2; }
[ -n "$master" ] || { echo "submit: no master: pass --master, set KLDRIFT_SPARK_MASTER or run 'make cluster-up'" >&2; exit 2; }

# Coordinates, exclusions and the zip all come from the library, so they match the session's.
mapfile -t found < <(KLDRIFT_CACHE_DIR=$CACHE "$PY" -c '
from kl_udfs.spark.shipping import package_zip
from kl_udfs.spark.session import delta_package, excluded_packages
print(delta_package(), excluded_packages(), package_zip(), sep="\n")')
[ ${#found[@]} -eq 3 ] || { echo "submit: could not build the kl_udfs zip" >&2; exit 1; }
package=${found[0]} excludes=${found[1]} pyfiles=${found[2]}

spark_home=$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
command=("$spark_home/bin/spark-submit" --master "$master"
  --packages "$package" --exclude-packages "$excludes"
  --conf "spark.jars.ivy=$CACHE/ivy"
  --conf "spark.pyspark.python=$PY" --conf "spark.pyspark.driver.python=$PY"
  --conf "spark.executorEnv.KLDRIFT_CACHE_DIR=$CACHE"
  --conf spark.sql.session.timeZone=UTC
  --py-files "$pyfiles" "${options[@]}" "$@")
echo "submit: ${command[*]}" >&2
export KLDRIFT_CACHE_DIR=$CACHE
case "$master" in  # a loopback cluster needs a loopback driver; elsewhere Spark decides
  local*|spark://127.0.0.1:*|spark://localhost:*) export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1} ;;
esac
exec "${command[@]}"
