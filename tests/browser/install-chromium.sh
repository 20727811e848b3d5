#!/usr/bin/env bash
# Debian's Chromium for the headless-browser test of the report (tests/integration/test_report_browser.py).
# Idempotent: does nothing where a Chromium is already there. Never fails the caller: where it cannot install
# (no apt-get, not root and no password-less sudo, no network), it says so and the browser tests skip.
set -uo pipefail

for name in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
    if [ -n "$name" ] && command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: no apt-get; install Chromium (or set CHROMIUM=/path/to/chrome), else browser tests skip" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "install-chromium: not root and no password-less sudo: 'apt-get install chromium' by hand, else browser tests skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-chromium: apt-get install chromium (about 1-2 minutes, once)" >&2
if ! "${as_root[@]}" apt-get install -y -q chromium >/dev/null; then
    "${as_root[@]}" apt-get update -q >/dev/null && "${as_root[@]}" apt-get install -y -q chromium >/dev/null ||
        echo "install-chromium: apt-get install chromium failed; browser tests will skip" >&2
fi
exit 0
