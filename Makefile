# Two commands do all set-up: `make run` (workflow on the embedded default dataset) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements.lock | cksum | cut -d' ' -f1)
CORES ?= $(shell nproc)
SNAKEMAKE := $(BIN)/snakemake

.PHONY: venv run tables test lint unit clean ipfx-check neuroconv-env test-slurm slurm-up slurm-down browser

# Idempotent: reinstalls only when requirements change (the stamp carries their checksum).
$(STAMP): requirements.txt requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

run: $(STAMP)
	$(SNAKEMAKE) --cores $(CORES)
	@echo "Report: $(abspath results/report/report.html)"

# The baselines on the published Allen feature tables (config/tables.yaml), in their own run folder.
tables: $(STAMP)
	$(SNAKEMAKE) all --cores $(CORES) --directory results/tables \
		--configfile $(abspath config/config.yaml) $(abspath config/tables.yaml)
	@echo "Report: $(abspath results/tables/results/report/report.html)"

# IPFX 2.1.2 as reference, in its own venv (.venv-ipfx): fidelity and speed of our extraction on the real step
# recordings of ../shared/data/real (native rate and 50 kHz) and, after `make run`, on IPFX_CELLS simulated cells
# (alternating human/mouse).
IPFX_CELLS ?= 20
ipfx-check: $(STAMP)
	bash benchmarks/ipfx_check.sh $(IPFX_CELLS)

# neuroconv 0.10.2 (ABF -> NWB) in its own test-only venv (.venv-neuroconv): benchmarks/neuroconv_convert.py and the
# neuroconv tests of tests/unit/test_nwb_reader_ecosystem.py (skipped without it). Idempotent: the stamp carries the
# checksum of requirements-neuroconv.txt.
NC_VENV := .venv-neuroconv
NC_STAMP := $(NC_VENV)/.installed-$(shell cksum <requirements-neuroconv.txt | cut -d' ' -f1)
$(NC_STAMP): requirements-neuroconv.txt
	test -x $(NC_VENV)/bin/python || $(PYTHON) -m venv $(NC_VENV)
	$(NC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-neuroconv.txt
	rm -f $(NC_VENV)/.installed-*
	touch $@

neuroconv-env: $(NC_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(SNAKEMAKE) --lint --config preset=tiny

# Debian's chromium for the headless-browser test of the report (idempotent; where it cannot install, those tests skip).
browser:
	bash tests/browser/install-chromium.sh

test: $(STAMP) lint browser $(NC_STAMP)
	$(BIN)/python -m pytest

# The workflow through profiles/slurm on a throw-away single-node SLURM cluster (root, Debian: installs slurm-wlm and
# munge). `make test` runs it too when CI=true.
test-slurm: $(STAMP)
	RUN_SLURM=1 $(BIN)/python -m pytest tests/integration/test_slurm.py
slurm-up:
	bash tests/slurm/start-cluster.sh
slurm-down:
	bash tests/slurm/stop-cluster.sh

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

clean:
	rm -rf results .snakemake
