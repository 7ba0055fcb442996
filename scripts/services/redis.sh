#!/usr/bin/env bash
# Starts and stops a throwaway redis-server for the tests. Installs nothing (scripts/test.sh does).
#
#   scripts/services/redis.sh start DIR   # 127.0.0.1:$REDIS_PORT (default 6390), data and pidfile in DIR
#   scripts/services/redis.sh stop DIR    # kills the server whose pid is in DIR/redis.pid
#   scripts/services/redis.sh url DIR     # prints the server's URL
#
# No persistence (no RDB, no AOF): every start is an empty server, with 32 databases so that every
# test that needs a Redis to itself can have a database of its own. With REDIS_APPENDONLY=yes the
# server keeps an append-only file in DIR written before every reply (appendfsync always), so a
# stop and start in the same DIR is a restart that lost nothing (the chaos drill's).
#
# TLS mode: with REDIS_TLS_DIR set (a folder from scripts/services/certificates.sh) the server
# speaks only TLS on $REDIS_PORT (--port 0 --tls-port), with DIR/server.pem and server.key,
# trusting DIR/ca.pem, and does not ask clients for certificates. REDIS_PASSWORD sets
# requirepass.
#
# One-node cluster mode: with REDIS_CLUSTER=yes the server runs with cluster-enabled yes (its
# nodes.conf in DIR) and takes all 16384 slots itself (CLUSTER ADDSLOTSRANGE 0 16383); start
# returns once CLUSTER INFO says cluster_state:ok. Such a server refuses cross-slot scripts and
# multi-key commands (CROSSSLOT) and carries sharded Pub/Sub (SPUBLISH/SSUBSCRIBE) like a real
# cluster, yet never redirects, so a plain client can talk to it. It has database 0 only.
set -euo pipefail

command_name=${1:-}
dir=${2:-}
port=${REDIS_PORT:-6390}
if [ -z "$command_name" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
fi
pidfile="$dir/redis.pid"
tls_dir=${REDIS_TLS_DIR:-}
password=${REDIS_PASSWORD:-}
persistence=(--appendonly no)
cluster=${REDIS_CLUSTER:-no}
if [ "${REDIS_APPENDONLY:-no}" = yes ]; then persistence=(--appendonly yes --appendfsync always); fi

# redis-cli for this server: over TLS in TLS mode, with the password if one is set.
cli() {
    local options=(-h 127.0.0.1 -p "$port")
    if [ -n "$tls_dir" ]; then options+=(--tls --cacert "$tls_dir/ca.pem"); fi
    if [ -n "$password" ]; then options+=(--no-auth-warning -a "$password"); fi
    redis-cli "${options[@]}" "$@"
}

case "$command_name" in
start)
    command -v redis-server >/dev/null 2>&1 || { echo "$0: redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    pidfile="$dir/redis.pid"
    if cli ping >/dev/null 2>&1; then
        echo "$0: something already answers on 127.0.0.1:$port; set REDIS_PORT to another port" >&2
        exit 1
    fi
    listen=(--port "$port")
    if [ -n "$tls_dir" ]; then
        tls_dir=$(cd "$tls_dir" && pwd)
        listen=(--port 0 --tls-port "$port" --tls-cert-file "$tls_dir/server.pem" --tls-key-file "$tls_dir/server.key"
            --tls-ca-cert-file "$tls_dir/ca.pem" --tls-auth-clients no)
    fi
    if [ -n "$password" ]; then listen+=(--requirepass "$password"); fi
    databases=(--databases 32)
    if [ "$cluster" = yes ]; then
        rm -f "$dir/nodes.conf"  # a new node each start: its old slot table would be stale
        databases=(--cluster-enabled yes --cluster-config-file "$dir/nodes.conf")
    fi
    redis-server --bind 127.0.0.1 "${listen[@]}" --dir "$dir" --daemonize yes \
        --pidfile "$pidfile" --logfile "$dir/redis.log" \
        --save "" "${persistence[@]}" --protected-mode yes "${databases[@]}"
    for _ in $(seq 1 100); do
        if [ "$(cli ping 2>/dev/null)" = "PONG" ]; then break; fi
        sleep 0.1
    done
    if [ "$(cli ping 2>/dev/null)" != "PONG" ]; then
        echo "$0: redis-server did not answer PING on 127.0.0.1:$port within 10 s; see $dir/redis.log" >&2
        exit 1
    fi
    if [ "$cluster" = yes ]; then
        cli cluster addslotsrange 0 16383 >/dev/null
        for _ in $(seq 1 100); do
            if cli cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then break; fi
            sleep 0.1
        done
        if ! cli cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
            echo "$0: the one-node cluster on 127.0.0.1:$port did not reach cluster_state:ok within 10 s; see $dir/redis.log" >&2
            exit 1
        fi
    fi
    echo "$port" >"$dir/redis.port"
    exit 0
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
    scheme=redis host=127.0.0.1
    if [ -n "$tls_dir" ]; then scheme=rediss host=localhost; fi
    echo "$scheme://$host:$(cat "$dir/redis.port" 2>/dev/null || echo "$port")"
    ;;
*)
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
    ;;
esac
