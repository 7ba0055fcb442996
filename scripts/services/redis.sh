#!/usr/bin/env bash
# Starts and stops a throwaway redis-server for the tests. Installs nothing (scripts/test.sh does).
#
#   scripts/services/redis.sh start DIR   # 127.0.0.1:$REDIS_PORT (default 6390), data and pidfile in DIR
#   scripts/services/redis.sh stop DIR    # kills the server whose pid is in DIR/redis.pid
#   scripts/services/redis.sh url DIR     # prints the server's URL
#
# No persistence (no RDB, no AOF): every start is an empty server.
set -euo pipefail

command_name=${1:-}
dir=${2:-}
port=${REDIS_PORT:-6390}
if [ -z "$command_name" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
fi
pidfile="$dir/redis.pid"

case "$command_name" in
start)
    command -v redis-server >/dev/null 2>&1 || { echo "$0: redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    pidfile="$dir/redis.pid"
    if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
        echo "$0: something already answers on 127.0.0.1:$port; set REDIS_PORT to another port" >&2
        exit 1
    fi
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
        --pidfile "$pidfile" --logfile "$dir/redis.log" \
        --save "" --appendonly no --protected-mode yes
    for _ in $(seq 1 100); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
            echo "$port" >"$dir/redis.port"
            exit 0
        fi
        sleep 0.1
    done
    echo "$0: redis-server did not answer PING on 127.0.0.1:$port within 10 s; see $dir/redis.log" >&2
    exit 1
    ;;
stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    ;;
url)
    echo "redis://127.0.0.1:$(cat "$dir/redis.port" 2>/dev/null || echo "$port")"
    ;;
*)
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
    ;;
esac
