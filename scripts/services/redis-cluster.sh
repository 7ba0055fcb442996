#!/usr/bin/env bash
# Starts and stops a throwaway Redis Cluster for the tests: 3 masters and a replica each on
# loopback. Installs nothing (scripts/test.sh does).
#
#   scripts/services/redis-cluster.sh start DIR   # ports $REDIS_CLUSTER_PORT (default 7101) to +5
#   scripts/services/redis-cluster.sh stop DIR    # kills the six servers by the pids in DIR
#   scripts/services/redis-cluster.sh url DIR     # prints redis+cluster://127.0.0.1:PORT,…
#
# Each node keeps its cluster config file (nodes-PORT.conf) and log in DIR/PORT; no persistence
# (no RDB, no AOF) unless REDIS_CLUSTER_APPENDONLY=yes. REDIS_CLUSTER_NODE_TIMEOUT (ms, default
# 1000) is how long a master may be silent before its replica takes over: small, so that a
# failover test does not wait long.
set -euo pipefail

command_name=${1:-}
dir=${2:-}
base=${REDIS_CLUSTER_PORT:-7101}
node_timeout=${REDIS_CLUSTER_NODE_TIMEOUT:-1000}
if [ -z "$command_name" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
fi
ports() {
    local start
    start=$(cat "$dir/base-port" 2>/dev/null || echo "$base")
    seq "$start" $((start + 5))
}
persistence=(--appendonly no)
if [ "${REDIS_CLUSTER_APPENDONLY:-no}" = yes ]; then persistence=(--appendonly yes --appendfsync always); fi

case "$command_name" in
start)
    command -v redis-server >/dev/null 2>&1 || { echo "$0: redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    echo "$base" >"$dir/base-port"
    nodes=()
    for port in $(ports); do
        if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
            echo "$0: something already answers on 127.0.0.1:$port; set REDIS_CLUSTER_PORT to another base port" >&2
            exit 1
        fi
        mkdir -p "$dir/$port"
        rm -f "$dir/$port/nodes-$port.conf"
        redis-server --bind 127.0.0.1 --port "$port" --dir "$dir/$port" --daemonize yes \
            --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log" \
            --cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout "$node_timeout" \
            --save "" "${persistence[@]}" --protected-mode yes
        nodes+=("127.0.0.1:$port")
    done
    for port in $(ports); do
        for _ in $(seq 1 100); do
            [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
            sleep 0.1
        done
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 || {
        echo "$0: redis-cli --cluster create failed; see $dir/create.log" >&2
        exit 1
    }
    # Ready when every node says the cluster is ok and every slot is served, and every replica
    # has synced with its master (a replica that never synced cannot take over): what the
    # tests expect from the start.
    for _ in $(seq 1 300); do
        ready=yes replicas=0
        for port in $(ports); do
            info=$(redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null || true)
            if ! grep -q '^cluster_state:ok' <<<"$info" || ! grep -q '^cluster_slots_ok:16384' <<<"$info"; then ready=no; fi
            if redis-cli -h 127.0.0.1 -p "$port" info replication 2>/dev/null | grep -q '^master_link_status:up'; then
                replicas=$((replicas + 1))
            fi
        done
        if [ "$ready" = yes ] && [ "$replicas" -eq 3 ]; then exit 0; fi
        sleep 0.1
    done
    echo "$0: the cluster on 127.0.0.1:$base-$((base + 5)) did not become ok within 30 s; see $dir/*/redis.log" >&2
    exit 1
    ;;
stop)
    [ -d "$dir" ] || exit 0
    for port in $(ports); do
        pidfile="$dir/$port/redis.pid"
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
    ;;
url)
    start=$(cat "$dir/base-port" 2>/dev/null || echo "$base")
    echo "redis+cluster://127.0.0.1:$start,127.0.0.1:$((start + 1)),127.0.0.1:$((start + 2))"
    ;;
*)
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
    ;;
esac
