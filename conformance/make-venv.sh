#!/usr/bin/env bash
# conformance/make-venv.sh PYTHON VENV REQUIREMENTS CONSTRAINTS STAMP
# A venv with REQUIREMENTS installed under the exact pins of CONSTRAINTS, then STAMP
# touched (the Makefile names the stamp after the files' hash: a second run with the
# same files does nothing). Any earlier stamp is removed first, so an interrupted
# install is redone.
set -euo pipefail
python="$1" venv="$2" requirements="$3" constraints="$4" stamp="$5"

rm -f "$venv"/.installed-*
if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
echo "make-venv: installing $requirements into $venv" >&2
"${pip[@]}" install --quiet --upgrade pip
"${pip[@]}" install --quiet -c "$constraints" -r "$requirements"
touch "$stamp"
