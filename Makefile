# crm-anonymizer: `make help` lists the targets.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python
CLI := $(PYTHON) -m streams.cli
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Every target here runs against the single-broker local services: topics get replication factor 1 (refused
# for output, audit and dead-letter topics without this flag; see CRM_ANON_TOPIC_REPLICATION_FACTOR).
export CRM_ANON_LOCAL_SERVICES ?= 1

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PY) -c "import sys; sys.exit(sys.version_info < (3, 11))" || { echo "need Python >= 3.11 (found: $(PY))"; exit 1; }
	@test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -e '.[dev,bench]'
	$(PYTHON) -m streams.transforms.pii.name_lexicon
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the package with dev tools (pip cache reused)

services-up: install ## Start the local Kafka broker and schema registry (downloads once via Maven)
	$(CLI) services up

services-down: install ## Stop the local services started by services-up
	$(CLI) services down

services-status: install ## Show the local services
	$(CLI) services status

demo: install ## Start services, generate ~10k CDC events, anonymize them, print a summary (last line JSON)
	$(CLI) demo

chaos: install ## Chaos suite: ~30k events, 3 SIGKILLs, broker restart, 30 s registry stall, 1,200 hostile records (JSON)
	$(CLI) services up
	rc=0; $(CLI) chaos || rc=$$?; $(CLI) services down >/dev/null || true; exit $$rc

lint: install ## ruff and mypy
	$(PYTHON) -m ruff check streams tests
	$(PYTHON) -m ruff format --check streams tests
	$(PYTHON) -m mypy streams

format: install ## Format and autofix (ruff format, ruff check --fix)
	$(PYTHON) -m ruff format streams tests
	$(PYTHON) -m ruff check --fix streams tests

readme: install ## Regenerate the README's configuration tables from the settings models
	$(CLI) settings --update-readme README.md

unit: install ## Unit tests only (no services needed)
	$(PYTHON) -m pytest tests/unit -q $(PYTEST_ARGS)

# Services are stopped whatever the tests do; skips count as failures (CRM_ANON_FAIL_ON_SKIP).
system-deps: ## Debian packages the tests use (prometheus, promtool), installed once when missing
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || { \
	  echo "installing Debian's prometheus package (promtool, prometheus) for the metrics and alert tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

test: install system-deps ## Lint, start services, run every test, stop services
	$(MAKE) --no-print-directory lint
	$(CLI) services up
	rc=0; CRM_ANON_FAIL_ON_SKIP=1 $(PYTHON) -m pytest -q $(PYTEST_ARGS) || rc=$$?; \
	$(CLI) services down >/dev/null || true; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi; \
	exit $$rc

# Benchmarks (tests/bench): the services are stopped afterwards whatever the run does (BENCH_KEEP_SERVICES=1
# leaves them running, for a shared machine). BENCH_ARGS passes options to `python -m tests.bench.run`.
compose-test: install ## Build the images with podman, run the compose stack, check flow, leaks and /readyz, stop it
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(PYTHON) deploy/compose/compose_test.py

alerts: ## Check the Prometheus alert rules and run their unit tests (promtool from Debian's prometheus)
	cd deploy/prometheus && promtool check rules alerts.yml && promtool test rules alerts.test.yml

bench: install ## Benchmark L0/L1/L2 baselines vs the processor + core vs Presidio, 3 runs, goals pass/fail (last line JSON)
	$(PYTHON) -m pip install -q -e '.[dev,bench]'
	$(PYTHON) -m streams.transforms.pii.name_lexicon
	$(CLI) services up
	rc=0; $(PYTHON) -m tests.bench.run $(BENCH_ARGS) || rc=$$?; \
	[ -n "$(BENCH_KEEP_SERVICES)" ] || $(CLI) services down >/dev/null || true; \
	exit $$rc

bench-quick: install ## The benchmark with small sizes (about 1-2 minutes)
	$(PYTHON) -m pip install -q -e '.[dev,bench]'
	$(PYTHON) -m streams.transforms.pii.name_lexicon
	$(CLI) services up
	rc=0; $(PYTHON) -m tests.bench.run --quick $(BENCH_ARGS) || rc=$$?; \
	[ -n "$(BENCH_KEEP_SERVICES)" ] || $(CLI) services down >/dev/null || true; \
	exit $$rc

soak: install ## Run the processor for 10 minutes under load; is its RSS flat within 10% after warm-up?
	$(PYTHON) -m pip install -q -e '.[dev,bench]'
	$(PYTHON) -m streams.transforms.pii.name_lexicon
	$(CLI) services up
	rc=0; $(PYTHON) -m tests.bench.run --soak 600 $(BENCH_ARGS) || rc=$$?; \
	[ -n "$(BENCH_KEEP_SERVICES)" ] || $(CLI) services down >/dev/null || true; \
	exit $$rc

bench-transforms: install ## Microbenchmarks: us/value per transform, OpenDP scalar vs vectorized, scrub_text per note
	$(PYTHON) -m tests.bench.transforms_micro
	$(PYTHON) -m tests.bench.dp_micro
	$(PYTHON) -m tests.bench.scrub_text_micro

.PHONY: help install system-deps services-up services-down services-status demo lint format readme unit test bench bench-quick soak bench-transforms compose-test alerts status
