# kl-drift: every target bootstraps what it needs (Java, .venv, Delta jars) by itself.
SHELL := /bin/bash
VENV := .venv/bin
export KLDRIFT_CACHE_DIR := $(CURDIR)/.cache
export PYSPARK_PYTHON := $(CURDIR)/$(VENV)/python
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(VENV)/python
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: setup demo test lint bench bench-quick clean sql-server sql-server-stop \
	setup-browser setup-test lock dashboard cluster-up cluster-down bench-cluster bench-peers bench-curves

setup:
	@bash infra/bootstrap.sh

# Renew requirements.lock (the exact versions CI installs) from pyproject.toml's ranges.
lock: setup
	$(VENV)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 -q -o requirements.lock

# Also Debian's Chromium, for the dashboard's browser tests and benchmark.
setup-browser:
	@bash infra/bootstrap.sh --browser

# Chromium and docker-compose (for `docker-compose config`), beside the venv: what tests need.
setup-test:
	@bash infra/bootstrap.sh --test-tools

# DEMO_DIR and SCALE (a share of the rows: 0.1 is a tenth) are optional.
DEMO_DIR ?= lakehouse
SCALE ?= 1
demo: setup
	$(VENV)/kldrift demo --airflow --dir $(DEMO_DIR) --scale $(SCALE)

# The web dashboard on the demo's tables (http://127.0.0.1:8050/); 'make demo' builds them.
dashboard: setup
	$(VENV)/kldrift dashboard

sql-server: setup
	$(VENV)/kldrift sql-server --config lakehouse/monitors.yaml

sql-server-stop: setup
	$(VENV)/kldrift sql-server --stop

# A local Spark standalone cluster (1 master, 2 one-core workers on 127.0.0.1), stopped by PID.
cluster-up: setup
	@bash infra/cluster.sh up

cluster-down:
	@bash infra/cluster.sh down

# Driver memory at scale on that cluster (10^6 distinct strings, 200 columns).
bench-cluster: cluster-up
	$(VENV)/python bench/cluster_scale.py

test: setup-test lint
	$(VENV)/python -m pytest -q -n 2 --dist loadgroup --durations=40 tests

lint: setup
	$(VENV)/ruff check kl_udfs jobs dags tests bench dashboards
	$(VENV)/mypy

bench: setup-browser bench-peers bench-curves
	$(VENV)/python bench/histogram_pass.py --rows 1000000 10000000 20000000 --columns 12 200
	$(VENV)/python bench/dashboard_paint.py --columns 200 --days 365 --repeat 5

# kl-drift against its peers (floor, naive PySpark, GX, DuckDB, Evidently, whylogs) and the
# KL step alone; the peers get virtualenvs of their own in .cache/bench-venvs.
bench-peers: setup
	$(VENV)/python -m bench.peers.run --rows 1000000 10000000 --columns 12 200 --repeat 3
	$(VENV)/python -m bench.peers.kl_step --column-windows 10000

# How cost grows with rows, columns, cardinality, windows per backfill; KL step alone.
# Tables and PNG plots in docs/bench/ (matplotlib in its own virtualenv).
bench-curves: setup
	$(VENV)/python -m bench.peers.curves

bench-quick: setup-browser
	$(VENV)/python bench/histogram_pass.py --rows 200000 --columns 12 200 --repeat 1
	$(VENV)/python -m bench.peers.run --rows 200000 --columns 12 --repeat 1
	$(VENV)/python -m bench.peers.kl_step --column-windows 10000 --repeat 1
	$(VENV)/python bench/dashboard_paint.py --quick

clean:
	rm -rf lakehouse .pytest_cache .mypy_cache .ruff_cache
