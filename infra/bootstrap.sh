#!/usr/bin/env bash
# Make this checkout runnable on a fresh Debian machine: Java 17, a virtualenv with the pinned
# stack, and the Delta jars resolved once into .cache/ivy (later runs work offline).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
# --browser: also Debian's Chromium, which the dashboard's browser tests and benchmark drive.
# --test-tools: Chromium and Debian's docker-compose (its `config` validates docker-compose.yml
# without a Docker daemon), what `make test` needs beyond the venv.
BROWSER=0
COMPOSE=0
for arg in "$@"; do
  case "$arg" in
    --browser) BROWSER=1 ;;
    --test-tools) BROWSER=1; COMPOSE=1 ;;
    *) echo "bootstrap: unknown option '$arg' (known: --browser, --test-tools)" >&2; exit 2 ;;
  esac
done

# apt_install WHAT PACKAGE: one Debian package, as root or through sudo.
apt_install() {
  echo "bootstrap: installing $1 ($2) from Debian's packages"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null
}

if ! command -v java >/dev/null 2>&1; then
  apt_install "Java 17" openjdk-17-jre-headless
fi

if [ "$BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_install Chromium chromium
fi

if [ "$COMPOSE" = 1 ] && ! command -v docker-compose >/dev/null 2>&1 \
    && ! docker compose version >/dev/null 2>&1; then
  apt_install "docker-compose, to validate docker-compose.yml" docker-compose
fi

stamp=.venv/.kldrift-installed
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install -q uv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  echo "bootstrap: installing Python packages into .venv (versions from requirements.lock)"
  .venv/bin/uv pip install -q --python .venv/bin/python -c requirements.lock -e '.[dev]'
  touch "$stamp"
fi

if ! ls .cache/ivy/jars/io.delta_delta-spark_*.jar >/dev/null 2>&1; then
  echo "bootstrap: resolving the Delta jars from Maven Central into .cache/ivy"
  KLDRIFT_CACHE_DIR="$ROOT/.cache" .venv/bin/python - <<'PY'
from kl_udfs.spark.session import get_spark
spark = get_spark("local[1]")
spark.stop()
PY
fi
echo "bootstrap: ready ($(.venv/bin/python --version), $(java -version 2>&1 | head -1))"
