#!/usr/bin/env bash
# Make sure the services the test suite talks to are answering:
#   postgresql  127.0.0.1:5432   (pg_isready)
#   mysql       127.0.0.1:3306   (mysqladmin ping; MariaDB)
#   rabbitmq    127.0.0.1:5672   (TCP connect)
# Each one that does not answer is started, then waited for (up to
# SERVICES_TIMEOUT seconds, default 60, for all of them together).
#
# With CI=true a service that is still down is an error (exit 1); otherwise
# this only warns, and the tests for that backend are skipped by the suite.
# NEUTRINO_SERVICES picks the services (default: "postgresql mysql rabbitmq").
set -uo pipefail

SERVICES="${NEUTRINO_SERVICES:-postgresql mysql rabbitmq}"
TIMEOUT="${SERVICES_TIMEOUT:-60}"
STRICT=0
case "${CI:-}" in true|1|yes) STRICT=1 ;; esac

log() { echo "ensure-services: $*" >&2; }

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" >/dev/null 2>&1; }

is_up() {
    case "$1" in
        postgresql)
            if command -v pg_isready >/dev/null 2>&1; then
                pg_isready -q -h 127.0.0.1 -p 5432 -t 2
            else
                tcp_open 127.0.0.1 5432
            fi ;;
        mysql)
            if command -v mysqladmin >/dev/null 2>&1; then
                mysqladmin -h 127.0.0.1 -P 3306 -uroot --connect-timeout=2 ping >/dev/null 2>&1
            else
                tcp_open 127.0.0.1 3306
            fi ;;
        rabbitmq)
            tcp_open 127.0.0.1 5672 ;;
        *)
            log "unknown service '$1'"; return 1 ;;
    esac
}

start() {
    case "$1" in
        postgresql)
            command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] || return 1
            local ver ok=1
            for ver in $(ls /etc/postgresql); do
                [ -d "/etc/postgresql/$ver/main" ] || continue
                pg_ctlcluster --skip-systemctl-redirect "$ver" main start && ok=0
            done
            return $ok ;;
        mysql)
            [ -x /usr/sbin/mariadbd ] || return 1
            if id mysql >/dev/null 2>&1; then
                mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
            fi
            start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd ;;
        rabbitmq)
            command -v rabbitmq-server >/dev/null 2>&1 || return 1
            rabbitmq-server -detached ;;
        *)
            return 1 ;;
    esac
}

started=()   # start command ran: wait for these
failed=()    # could not even be started
for svc in $SERVICES; do
    if is_up "$svc"; then
        continue
    fi
    log "$svc is not answering; starting it"
    # Output goes to a file, not a pipe: a daemon that keeps the pipe open
    # would block us.
    out="$(mktemp)"
    if start "$svc" </dev/null >"$out" 2>&1; then
        started+=("$svc")
    else
        msg="$(tail -n 3 "$out")"
        log "could not start $svc (not installed, or not root?)${msg:+: $msg}"
        failed+=("$svc")
    fi
    rm -f "$out"
done

deadline=$((SECONDS + TIMEOUT))
down=()
while [ "${#started[@]}" -gt 0 ]; do
    down=()
    for svc in "${started[@]}"; do
        is_up "$svc" || down+=("$svc")
    done
    [ "${#down[@]}" -eq 0 ] && break
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 1
done

if [ "${#started[@]}" -gt 0 ] && [ "${#down[@]}" -eq 0 ]; then
    log "up now: ${started[*]}"
fi
down+=("${failed[@]}")
if [ "${#down[@]}" -gt 0 ]; then
    if [ "$STRICT" = 1 ]; then
        log "ERROR: not answering (waited up to ${TIMEOUT}s): ${down[*]}"
        exit 1
    fi
    log "WARNING: not answering: ${down[*]}; tests that need them may be skipped or fail"
fi
exit 0
