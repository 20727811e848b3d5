#!/usr/bin/env bash
# Fidelity and speed of our extraction against IPFX 2.1.2 on the simulated cells: bash benchmarks/ipfx_check.sh [N_CELLS]
# Makes/updates .venv-ipfx from requirements-ipfx.txt (idempotent: a stamp carries the file's checksum), takes the first
# N_CELLS (default 20) simulated NWB files alternating human/mouse, runs benchmarks/ipfx_reference.py (IPFX venv) and
# benchmarks/ipfx_fidelity.py (main venv), prints the tables; outputs go to results/benchmarks/ipfx/.
set -euo pipefail
cd "$(dirname "$0")/.."
N_CELLS="${1:-20}"
PYTHON="${PYTHON:-python3}"
VENV=.venv-ipfx
OUT=results/benchmarks/ipfx
STAMP="$VENV/.installed-$(cksum <requirements-ipfx.txt | cut -d' ' -f1)"

list() { find "results/raw/simulated/$1" -name '*_icephys.nwb' 2>/dev/null | sort; }
mapfile -t FILES < <(paste -d'\n' <(list human) <(list mouse) | grep . | head -n "$N_CELLS")
if [ "${#FILES[@]}" -eq 0 ]; then
    echo "ipfx_check: no simulated NWB files under results/raw/simulated; run \`make run\` first" >&2
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

mkdir -p "$OUT"
echo "IPFX on ${#FILES[@]} cells ..." >&2
"$VENV/bin/python" benchmarks/ipfx_reference.py --config config/config.yaml --out "$OUT/ipfx_reference.json" "${FILES[@]}"
.venv/bin/python benchmarks/ipfx_fidelity.py --ipfx "$OUT/ipfx_reference.json" --config config/config.yaml \
    --json "$OUT/ipfx_fidelity.json"
