# Two commands do all set-up: `make run` (workflow on the embedded default dataset) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements.lock | cksum | cut -d' ' -f1)
CORES ?= $(shell nproc)
SNAKEMAKE := $(BIN)/snakemake

.PHONY: venv run test lint unit e2e clean

# Idempotent: reinstalls only when requirements change (the stamp carries their checksum).
$(STAMP): requirements.txt requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

run: $(STAMP)
	$(SNAKEMAKE) --cores $(CORES)
	@echo "Report: $(abspath results/report/data_report.html)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(SNAKEMAKE) --lint --config preset=tiny

test: $(STAMP) lint
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

clean:
	rm -rf results .snakemake
