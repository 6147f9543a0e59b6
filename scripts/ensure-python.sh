#!/usr/bin/env bash
# Make sure "$1" (default python3) exists, is >= 3.11 and can create a venv
# with pip. On a fresh Debian machine, as root, install what is missing
# (python3, python3-venv, python3-dev) with apt-get.
set -euo pipefail

PYTHON="${1:-python3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

can_venv() {
    command -v "$PYTHON" >/dev/null 2>&1 &&
        "$PYTHON" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' \
            >/dev/null 2>&1
}

if can_venv; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    NEUTRINO_REQUIRE_DEBIAN_DEPS=1 "$here/install-debian-deps.sh" \
        python3 python3-venv python3-dev
    hash -r
    can_venv && exit 0
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "ensure-python: '$PYTHON' not found; install Python >= 3.11 (Debian: apt-get install python3 python3-venv)" >&2
elif ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "ensure-python: $("$PYTHON" --version 2>&1) is too old; Neutrino needs Python >= 3.11 (make PYTHON=python3.11 ...)" >&2
else
    echo "ensure-python: '$PYTHON -m venv' is not usable; install python3-venv (Debian: apt-get install python3-venv)" >&2
fi
exit 1
