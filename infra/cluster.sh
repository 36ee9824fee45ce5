#!/usr/bin/env bash
# A local Spark standalone cluster from the pip-installed Spark: one master and N workers bound
# to 127.0.0.1. Logs, pid files and work dirs live in $KLDRIFT_CACHE_DIR/cluster (default
# <checkout>/.cache/cluster); daemons are stopped by the PIDs recorded there, never by name.
#
#   infra/cluster.sh up       start what is not running, wait until every worker is registered
#   infra/cluster.sh down     stop the daemons this checkout started
#   infra/cluster.sh status   print the master URL and the live daemons
#
# Settings (environment): KLDRIFT_CLUSTER_DIR (state dir), KLDRIFT_CLUSTER_PORT (7077),
# KLDRIFT_CLUSTER_UI_PORT (8080), KLDRIFT_CLUSTER_WORKERS (2), KLDRIFT_WORKER_CORES (1),
# KLDRIFT_WORKER_MEMORY (1536m), KLDRIFT_CLUSTER_TIMEOUT (120 s to wait for the workers).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${KLDRIFT_PYTHON:-$ROOT/.venv/bin/python}
CACHE=${KLDRIFT_CACHE_DIR:-$ROOT/.cache}
CLUSTER=${KLDRIFT_CLUSTER_DIR:-$CACHE/cluster}
PORT=${KLDRIFT_CLUSTER_PORT:-7077}
UI_PORT=${KLDRIFT_CLUSTER_UI_PORT:-8080}
WORKERS=${KLDRIFT_CLUSTER_WORKERS:-2}
TIMEOUT=${KLDRIFT_CLUSTER_TIMEOUT:-120}
MASTER_CLASS=org.apache.spark.deploy.master.Master
WORKER_CLASS=org.apache.spark.deploy.worker.Worker

export SPARK_LOG_DIR=$CLUSTER/logs SPARK_PID_DIR=$CLUSTER/pids SPARK_WORKER_DIR=$CLUSTER/work
# Executors' shuffle and spill files (standalone executors take the worker's, not the app's).
export SPARK_LOCAL_DIRS=$CLUSTER/tmp
export SPARK_IDENT_STRING=kldrift SPARK_LOCAL_IP=127.0.0.1 SPARK_MASTER_HOST=127.0.0.1
export SPARK_DAEMON_MEMORY=${SPARK_DAEMON_MEMORY:-384m}
# The marker lets `down` check that a recorded PID is still this cluster's daemon.
MARKER="-Dkldrift.cluster=$CLUSTER"
export SPARK_DAEMON_JAVA_OPTS="$MARKER ${SPARK_DAEMON_JAVA_OPTS:-}"
# An empty conf dir: no stray spark-env.sh or spark-defaults.conf changes the daemons.
export SPARK_CONF_DIR=$CLUSTER/conf

die() { echo "cluster: $*" >&2; exit 1; }

spark_home() {
  [ -x "$PY" ] || die "no Python at $PY: run 'make setup' first"
  "$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

pid_file() { echo "$SPARK_PID_DIR/spark-$SPARK_IDENT_STRING-$1-$2.pid"; }

# The PID in a pid file, if that process is alive and is this cluster's daemon.
live_pid() {
  local file pid
  file=$(pid_file "$1" "$2")
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$MARKER" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$1" || return 1
  echo "$pid"
}

master_log() { echo "$SPARK_LOG_DIR/spark-$SPARK_IDENT_STRING-$MASTER_CLASS-1-$HOSTNAME.out"; }

# Spark moves to the next free port when one is taken, so read the ones it bound.
master_url() { grep -o 'Starting Spark master at spark://[0-9.:]*' "$(master_log)" 2>/dev/null |
  tail -1 | sed 's/.* at //'; }
master_ui() { grep -o 'MasterWebUI.* started at http://[^ ]*' "$(master_log)" 2>/dev/null |
  tail -1 | sed 's|.*:\([0-9]*\)/*$|http://127.0.0.1:\1|'; }

alive_workers() {
  local ui=$1
  curl -sf --max-time 5 "$ui/json/" 2>/dev/null |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["aliveworkers"])' 2>/dev/null || echo 0
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: poll until the command succeeds or time is up
  local what=$1 deadline=$((SECONDS + TIMEOUT))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${TIMEOUT}s waiting for $what (logs: $SPARK_LOG_DIR)"
    sleep 0.5
  done
}

up() {
  local home
  home=$(spark_home)
  mkdir -p "$SPARK_LOG_DIR" "$SPARK_PID_DIR" "$SPARK_WORKER_DIR" "$SPARK_CONF_DIR" "$SPARK_LOCAL_DIRS"
  if ! live_pid "$MASTER_CLASS" 1 >/dev/null && ! any_worker_alive; then
    # Jars, logs and scratch of the previous cluster's applications.
    rm -rf "${SPARK_WORKER_DIR:?}"/* "${SPARK_LOCAL_DIRS:?}"/*
  fi
  if ! live_pid "$MASTER_CLASS" 1 >/dev/null; then
    "$home/sbin/spark-daemon.sh" start "$MASTER_CLASS" 1 --host 127.0.0.1 --port "$PORT" \
      --webui-port "$UI_PORT" >/dev/null
    wait_for "the master to listen" master_started
  fi
  local url ui
  url=$(master_url)
  ui=$(master_ui)
  for i in $(seq 1 "$WORKERS"); do
    if ! live_pid "$WORKER_CLASS" "$i" >/dev/null; then
      mkdir -p "$SPARK_WORKER_DIR/worker-$i"
      "$home/sbin/spark-daemon.sh" start "$WORKER_CLASS" "$i" --host 127.0.0.1 \
        --cores "${KLDRIFT_WORKER_CORES:-1}" --memory "${KLDRIFT_WORKER_MEMORY:-1536m}" \
        --webui-port 0 --work-dir "$SPARK_WORKER_DIR/worker-$i" "$url" >/dev/null
    fi
  done
  wait_for "$WORKERS workers to register with $url" workers_registered "$ui"
  printf 'KLDRIFT_SPARK_MASTER=%s\nKLDRIFT_CLUSTER_UI=%s\n' "$url" "$ui" >"$CLUSTER/cluster.env"
  echo "cluster: $url with $WORKERS workers (UI $ui, logs $SPARK_LOG_DIR)"
}

master_started() { [ -n "$(master_url)" ] && [ -n "$(master_ui)" ] && live_pid "$MASTER_CLASS" 1 >/dev/null; }
workers_registered() { [ "$(alive_workers "$1")" -ge "$WORKERS" ]; }

any_worker_alive() {
  local file
  for file in "$SPARK_PID_DIR"/spark-"$SPARK_IDENT_STRING"-"$WORKER_CLASS"-*.pid; do
    [ -f "$file" ] || continue
    live_pid "$WORKER_CLASS" "$(basename "$file" .pid | sed 's/.*-//')" >/dev/null && return 0
  done
  return 1
}

stop_one() {  # stop_one CLASS INSTANCE: TERM, then KILL if it has not exited after 15 s
  local pid
  pid=$(live_pid "$1" "$2") || { rm -f "$(pid_file "$1" "$2")"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    [ -d "/proc/$pid" ] || break
    sleep 0.5
  done
  [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$(pid_file "$1" "$2")"
  echo "cluster: stopped ${1##*.} $2 (pid $pid)"
}

down() {
  local file
  for file in "$SPARK_PID_DIR"/spark-"$SPARK_IDENT_STRING"-"$WORKER_CLASS"-*.pid; do
    [ -f "$file" ] && stop_one "$WORKER_CLASS" "$(basename "$file" .pid | sed 's/.*-//')"
  done
  [ -f "$(pid_file "$MASTER_CLASS" 1)" ] && stop_one "$MASTER_CLASS" 1
  rm -f "$CLUSTER/cluster.env"
}

status() {
  local url ui
  url=$(master_url)
  ui=$(master_ui)
  if live_pid "$MASTER_CLASS" 1 >/dev/null; then
    echo "master $url (pid $(live_pid "$MASTER_CLASS" 1)), UI $ui: $(alive_workers "$ui") alive workers"
  else
    echo "master not running"
    return 3
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: infra/cluster.sh up|down|status" ;;
esac
