#!/usr/bin/env bash
# A throwaway MariaDB server for tests and local runs: loopback only, its own port, datadir,
# socket and pid file under DIR, so it never meets a system MariaDB or another checkout's.
#
#   scripts/services/mariadb.sh start DIR     initialise DIR (once) and start; prints the test URL
#   scripts/services/mariadb.sh stop DIR      stop the server started from DIR, by its pid
#   scripts/services/mariadb.sh restart DIR   stop, then start on the same datadir
#
# Environment: MARIADB_PORT (default 3310), MARIADB_TEST_USER / MARIADB_TEST_PASSWORD
# (default chat / chat), MARIADB_TEST_DATABASE (default chat_test). The test user may create
# databases, so each test can work in a database of its own.
#
# TLS mode: with MARIADB_TLS_DIR set (a folder from scripts/services/certificates.sh) the
# server presents DIR/server.pem and server.key and refuses TCP clients that do not use TLS
# (require_secure_transport; the root socket stays plain).
set -euo pipefail

port=${MARIADB_PORT:-3310}
user=${MARIADB_TEST_USER:-chat}
password=${MARIADB_TEST_PASSWORD:-chat}
database=${MARIADB_TEST_DATABASE:-chat_test}

usage() {
    echo "usage: $0 start|stop|restart DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
command=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
datadir="$dir/data"
socket="$dir/mariadb.sock"
pidfile="$dir/mariadb.pid"
logfile="$dir/mariadb.log"

running_pid() {
    [ -f "$pidfile" ] || return 1
    local pid
    pid=$(cat "$pidfile")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

client() {
    mariadb --no-defaults --protocol=socket --socket="$socket" --user=root "$@"
}

start() {
    if pid=$(running_pid); then
        echo "mariadb already running from $dir (pid $pid) on 127.0.0.1:$port"
        return 0
    fi
    local fresh=0
    if [ ! -d "$datadir/mysql" ]; then
        fresh=1
        mkdir -p "$datadir" "$dir/tmp"
        # --auth-root-authentication-method=socket keeps root reachable over the socket only.
        # A tmpdir of its own: concurrent installs sharing /tmp collided on temporary tables.
        mariadb-install-db --no-defaults --user=root --datadir="$datadir" --tmpdir="$dir/tmp" \
            --auth-root-authentication-method=socket --skip-test-db \
            --skip-name-resolve >"$dir/install.log" 2>&1 || {
            echo "mariadb-install-db failed; see $dir/install.log" >&2
            tail -20 "$dir/install.log" >&2
            return 1
        }
    fi
    # Small buffers and no binary log: a test server must start in a second or two.
    mkdir -p "$dir/tmp"
    local tls=()
    if [ -n "${MARIADB_TLS_DIR:-}" ]; then
        local certificates
        certificates=$(cd "$MARIADB_TLS_DIR" && pwd)
        tls=(--ssl-cert="$certificates/server.pem" --ssl-key="$certificates/server.key"
            --ssl-ca="$certificates/ca.pem" --require-secure-transport=ON)
    fi
    mariadbd --no-defaults --user=root --datadir="$datadir" --tmpdir="$dir/tmp" \
        --bind-address=127.0.0.1 --port="$port" --socket="$socket" --pid-file="$pidfile" \
        --skip-name-resolve --skip-log-bin --innodb-buffer-pool-size=32M \
        --innodb-log-file-size=8M --innodb-flush-log-at-trx-commit=2 --skip-innodb-doublewrite \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
        --max-connections=500 "${tls[@]}" --log-error="$logfile" >>"$logfile" 2>&1 &
    local launched=$!
    for _ in $(seq 1 300); do
        if client -e 'SELECT 1' >/dev/null 2>&1; then
            break
        fi
        if ! kill -0 "$launched" 2>/dev/null; then
            echo "mariadbd exited during startup; see $logfile" >&2
            tail -20 "$logfile" >&2
            return 1
        fi
        sleep 0.1
    done
    if ! client -e 'SELECT 1' >/dev/null 2>&1; then
        echo "mariadbd did not accept connections within 30 s; see $logfile" >&2
        kill "$launched" 2>/dev/null || true
        return 1
    fi
    # The server writes its pid file itself; record the launched pid too in case it is slow to.
    [ -s "$pidfile" ] || echo "$launched" >"$pidfile"
    if [ "$fresh" -eq 1 ]; then
        client <<SQL
CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'%';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'localhost';
CREATE DATABASE IF NOT EXISTS \`$database\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
SQL
    fi
    echo "mariadb running from $dir (pid $(cat "$pidfile")) at mariadb://$user:$password@127.0.0.1:$port/$database"
}

stop() {
    local pid
    if ! pid=$(running_pid); then
        echo "mariadb not running from $dir"
        return 0
    fi
    kill "$pid"
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || { echo "mariadb stopped (pid $pid)"; return 0; }
        sleep 0.1
    done
    echo "mariadbd (pid $pid) did not stop within 30 s; killing it" >&2
    kill -9 "$pid" 2>/dev/null || true
}

case "$command" in
start) start ;;
stop) stop ;;
restart) stop && start ;;
*) usage ;;
esac
