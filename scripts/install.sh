#!/usr/bin/env bash
# `make install`: Neutrino installed the usual way (docs/monitoring.md, "Service units").
#
#   $PREFIX                 a virtualenv with Neutrino and its dependencies
#                           (default /opt/neutrino; binaries in $PREFIX/bin)
#   $SYSCONFDIR             neutrino.conf, the agents' .ini, policy.yaml.sample
#                           (default /etc/neutrino; an existing file is never replaced)
#   $UNITDIR                the systemd units, their paths pointing at $PREFIX and
#                           $SYSCONFDIR (default /etc/systemd/system)
#   $LINKDIR                symbolic links to the binaries, so `neutrino` is on PATH
#                           (default /usr/local/bin; empty: none)
#   $DESTDIR                staging root: everything goes below it, with the paths
#                           inside the files as they will be after copying it to /
#   $PIP_ARGS               more `pip install` arguments (the tests: --no-deps)
#   $PIP                    a pip to install with (`python3 -m pip`, 22.3 or later);
#                           the venv is then made without a pip of its own. Default:
#                           the venv's own pip
#
# Parts (arguments; default all of them): venv config units.
# As root without DESTDIR it also adds the system user `neutrino` (the server runs
# as it) and runs `systemctl daemon-reload` when systemd runs.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
PREFIX=${PREFIX:-/opt/neutrino}
SYSCONFDIR=${SYSCONFDIR:-/etc/neutrino}
UNITDIR=${UNITDIR:-/etc/systemd/system}
# The units' StateDirectory= (systemd's, always under /var/lib): the server's, and
# the agents' (root's, apart: systemd gives a StateDirectory to its unit's user).
SERVER_STATE=/var/lib/neutrino
AGENTS_STATE=/var/lib/neutrino-agents
LINKDIR=${LINKDIR-/usr/local/bin}
DESTDIR=${DESTDIR:-}
PIP_ARGS=${PIP_ARGS:-}
PIP=${PIP:-}
USER_NAME=neutrino

for dir in PREFIX SYSCONFDIR UNITDIR; do
    [[ ${!dir} == /* ]] || { echo "install: $dir must be an absolute path" >&2; exit 2; }
done

say() { echo "install: $*"; }

# Staged with DESTDIR, or as root on this machine: who gets the configuration group.
system_install() { [[ -z $DESTDIR && $(id -u) == 0 ]]; }

install_venv() {
    local target=$DESTDIR$PREFIX
    if [[ ! -x $target/bin/python ]]; then
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
            echo "install: $PYTHON is older than 3.11" >&2; exit 2; }
        if [[ -n $PIP ]]; then
            "$PYTHON" -m venv --without-pip "$target"
        else
            "$PYTHON" -m venv "$target"
        fi
    fi
    local args=(--quiet --disable-pip-version-check)
    # Staged: no .pyc files (they would name the staging paths); Python writes them
    # where it may at the first run.
    [[ -n $DESTDIR ]] && args+=(--no-compile)
    # shellcheck disable=SC2086 # PIP, PIP_ARGS: several words on purpose
    if [[ -n $PIP ]]; then
        $PIP --python "$target/bin/python" install "${args[@]}" $PIP_ARGS "$REPO"
    else
        "$target/bin/python" -m pip install "${args[@]}" $PIP_ARGS "$REPO"
    fi
    if [[ -n $DESTDIR ]]; then
        # The venv was made at its staging path: scripts' #! lines, activate and
        # pyvenv.cfg name it. They must name $PREFIX once copied to /.
        grep -rlIF -- "$target" "$target/bin" "$target/pyvenv.cfg" \
            | xargs -r sed -i "s|$target|$PREFIX|g"
    fi
    say "binaries in $PREFIX/bin"
    if [[ -n $LINKDIR ]]; then
        install -d "$DESTDIR$LINKDIR"
        local name
        for path in "$target"/bin/neutrino*; do
            name=$(basename "$path")
            # Never replace someone else's file: only ours (a link) or nothing.
            if [[ -e $DESTDIR$LINKDIR/$name && ! -L $DESTDIR$LINKDIR/$name ]]; then
                say "$LINKDIR/$name exists and is not a link: left alone"
                continue
            fi
            ln -sfn "$PREFIX/bin/$name" "$DESTDIR$LINKDIR/$name"
        done
        say "links in $LINKDIR"
    fi
    install -d "$target/share/doc/neutrino"
    install -m 0644 "$REPO"/README.md "$REPO"/docs/*.md "$target/share/doc/neutrino/"
}

# One configuration file, unless it is there already (an operator's own).
install_conf() {
    local source=$1 name=$2 state=$3
    local dest=$DESTDIR$SYSCONFDIR/$name
    if [[ -e $dest ]]; then
        say "$SYSCONFDIR/$name exists: kept (the new sample is $REPO/etc/$(basename "$source"))"
        return
    fi
    # state_path: the sample's ./state would be relative to the service's / .
    sed -e "s|^#state_path = ./state\$|state_path = $state|" "$source" > "$dest.tmp"
    # The files will hold passwords (database, broker, keystone): not world-readable.
    chmod 0640 "$dest.tmp"
    if system_install && getent group "$USER_NAME" > /dev/null; then
        chgrp "$USER_NAME" "$dest.tmp"
    fi
    mv "$dest.tmp" "$dest"
    say "$SYSCONFDIR/$name installed"
}

install_config() {
    install -d -m 0755 "$DESTDIR$SYSCONFDIR"
    install_conf "$REPO/etc/neutrino.conf" neutrino.conf "$SERVER_STATE"
    local ini
    for ini in "$REPO"/etc/*_agent.ini; do
        install_conf "$ini" "$(basename "$ini")" "$AGENTS_STATE"
    done
    install_conf "$REPO/etc/policy.yaml.sample" policy.yaml.sample "$SERVER_STATE"
}

install_units() {
    install -d "$DESTDIR$UNITDIR"
    local unit
    for unit in "$REPO"/etc/systemd/*.service; do
        # The units are code, not configuration: always the current ones.
        sed -e "s|/usr/local/bin/|$PREFIX/bin/|g" \
            -e "s|/etc/neutrino/|$SYSCONFDIR/|g" \
            -e "s|file:///usr/local/share/doc/neutrino/|file://$PREFIX/share/doc/neutrino/|g" \
            "$unit" > "$DESTDIR$UNITDIR/$(basename "$unit")"
        chmod 0644 "$DESTDIR$UNITDIR/$(basename "$unit")"
    done
    say "systemd units in $UNITDIR"
}

parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(venv config units)
if system_install && ! getent passwd "$USER_NAME" > /dev/null; then
    useradd --system --user-group --home-dir "$SERVER_STATE" --no-create-home \
        --shell /usr/sbin/nologin "$USER_NAME"
    say "system user $USER_NAME added"
fi
for part in "${parts[@]}"; do
    case $part in
        venv) install_venv ;;
        config) install_config ;;
        units) install_units ;;
        *) echo "install: unknown part $part (venv, config, units)" >&2; exit 2 ;;
    esac
done
if system_install && [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
fi
