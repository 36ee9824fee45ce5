# kl-drift: every target bootstraps what it needs (Java, .venv, Delta jars) by itself.
SHELL := /bin/bash
VENV := .venv/bin
export KLDRIFT_CACHE_DIR := $(CURDIR)/.cache
export PYSPARK_PYTHON := $(CURDIR)/$(VENV)/python
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(VENV)/python
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: setup demo test lint bench bench-quick clean

setup:
	@bash infra/bootstrap.sh

demo: setup
	$(VENV)/kldrift demo --dir lakehouse

test: setup lint
	$(VENV)/python -m pytest -q tests

lint: setup
	$(VENV)/ruff check kl_udfs jobs dags tests bench
	$(VENV)/mypy

bench: setup
	$(VENV)/python bench/histogram_pass.py --rows 1000000 10000000 20000000 --columns 12 200

bench-quick: setup
	$(VENV)/python bench/histogram_pass.py --rows 200000 --columns 12 200 --repeat 1

clean:
	rm -rf lakehouse .pytest_cache .mypy_cache .ruff_cache
