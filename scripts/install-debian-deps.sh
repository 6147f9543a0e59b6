#!/usr/bin/env bash
# Install the Debian packages named as arguments, but only those missing.
# `apt-get update` runs once, and only when something has to be installed.
# Not root (or no apt-get): list what is missing and exit 0 unless
# NEUTRINO_REQUIRE_DEBIAN_DEPS=1.
set -euo pipefail

missing=()
for pkg in "$@"; do
    [ -n "$pkg" ] || continue
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-debian-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-debian-deps: run as root: apt-get install ${missing[*]}" >&2
    [ "${NEUTRINO_REQUIRE_DEBIAN_DEPS:-0}" = 1 ] && exit 1
    exit 0
fi

echo "install-debian-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
