#!/usr/bin/env bash
# Fidelity and speed of our extraction against IPFX 2.1.2: bash benchmarks/ipfx_check.sh [N_CELLS]
# Makes/updates .venv-ipfx from requirements-ipfx.txt (idempotent: a stamp carries the file's checksum).
# Simulated cells (when `make run` has made them): the first N_CELLS (default 20) simulated NWB files alternating
# human/mouse, benchmarks/ipfx_reference.py (IPFX venv) and benchmarks/ipfx_fidelity.py (main venv); outputs in
# results/benchmarks/ipfx/.
# Real recordings (whenever ../shared/data/real exists): benchmarks/real_recordings.py cuts them to their main steps
# (native rate and 50 kHz, results/benchmarks/ipfx_real/nwb/), benchmarks/ipfx_real_reference.py runs IPFX on them,
# benchmarks/ipfx_real_fidelity.py runs ours on the same files in this run and prints agreement and speed per cell.
set -euo pipefail
cd "$(dirname "$0")/.."
N_CELLS="${1:-20}"
PYTHON="${PYTHON:-python3}"
VENV=.venv-ipfx
OUT=results/benchmarks/ipfx
STAMP="$VENV/.installed-$(cksum <requirements-ipfx.txt | cut -d' ' -f1)"

list() { find "results/raw/simulated/$1" -name '*_icephys.nwb' 2>/dev/null | sort; }
REAL=../shared/data/real
REAL_OUT=results/benchmarks/ipfx_real
mapfile -t FILES < <(paste -d'\n' <(list human) <(list mouse) | grep . | head -n "$N_CELLS")
if [ "${#FILES[@]}" -eq 0 ] && [ ! -d "$REAL" ]; then
    echo "ipfx_check: no simulated NWB files under results/raw/simulated (run \`make run\` first) and no $REAL" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "ipfx_check: no main venv (.venv); run \`make venv\` first" >&2
    exit 1
fi

if [ ! -f "$STAMP" ]; then
    test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-ipfx.txt
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi

if [ "${#FILES[@]}" -gt 0 ]; then
    mkdir -p "$OUT"
    echo "IPFX on ${#FILES[@]} simulated cells ..." >&2
    "$VENV/bin/python" benchmarks/ipfx_reference.py --config config/config.yaml --out "$OUT/ipfx_reference.json" \
        "${FILES[@]}"
    .venv/bin/python benchmarks/ipfx_fidelity.py --ipfx "$OUT/ipfx_reference.json" --config config/config.yaml \
        --json "$OUT/ipfx_fidelity.json"
else
    echo "ipfx_check: no simulated NWB files under results/raw/simulated (\`make run\`): real recordings only" >&2
fi

if [ -d "$REAL" ]; then
    echo "IPFX on the real recordings of $REAL ..." >&2
    rm -rf "$REAL_OUT/nwb"
    mapfile -t REAL_FILES < <(.venv/bin/python benchmarks/real_recordings.py "$REAL_OUT/nwb")
    "$VENV/bin/python" benchmarks/ipfx_real_reference.py --traces ../shared/data --out "$REAL_OUT/ipfx_reference.json" \
        "${REAL_FILES[@]}"
    .venv/bin/python benchmarks/ipfx_real_fidelity.py --ipfx "$REAL_OUT/ipfx_reference.json" --config config/config.yaml \
        --json "$REAL_OUT/ipfx_fidelity.json"
else
    echo "ipfx_check: $REAL absent: real recordings skipped" >&2
fi
