#!/usr/bin/env bash
# The `rooms` runs behind docs/performance.md ("rooms"): many rooms, embedded, on one Redis with
# two chatd, and on a Redis Cluster with two chatd; then the low-rate runs. One JSON file per
# run in OUTDIR, and OUTDIR/commands.txt.
#
#   scripts/bench/run-rooms.sh OUTDIR [embedded|redis|cluster|all]   (all: cluster too if REDIS_CLUSTER is set)
#
# Release builds first (see with-chatd.sh). For redis, Redis and MariaDB are started from
# scripts/services on REDIS_PORT / MARIADB_PORT (default 6392 / 3312) and stopped by pid. For
# cluster, give a running cluster: REDIS_CLUSTER=redis+cluster://HOST:PORT,… (chatd's --redis) and
# REDIS_CLUSTER_NODES="redis://HOST:PORT …" (its masters, for INFO cpu), plus MARIADB_URL.
# Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1
which=${2:-all}
mkdir -p "$out"
out=$(cd "$out" && pwd)
: >"$out/commands.txt"

run() {  # NAME "CHATD FLAGS" ARGS...
    local name=$1
    shift
    echo "${CHATD_COUNT:+CHATD_COUNT=$CHATD_COUNT }scripts/bench/with-chatd.sh \"$1\" rooms ${*:2} --json" | tee -a "$out/commands.txt" >&2
    scripts/bench/with-chatd.sh "$1" rooms "${@:2}" --json --quiet >"$out/$name.json"
    sleep 3  # let the kernel reap the last run's sockets
}

# 16,000 members: chat-bench holds them all in one process, and 20,000 open files is the most.
# ROOMS_MANY / ROOMS_LOW replace them (a tiny smoke run of this script, say).
read -r -a many <<<"${ROOMS_MANY:---rooms 4000 --members 4 --rate-per-room 0.25 --duration 20}"
read -r -a low <<<"${ROOMS_LOW:---rooms 1000 --members 4 --rate-per-room 0.01 --warmup 0 --duration 200}"

if [ "$which" = embedded ] || [ "$which" = all ]; then
    run embedded-rooms "--room-quota 0" "${many[@]}"
    run embedded-rooms-low-rate "--room-quota 0" "${low[@]}"
    run embedded-rooms-low-rate-window0 "--room-quota 0 --flush-window-ms 0" "${low[@]}"
fi

if [ "$which" = redis ] || [ "$which" = all ]; then
    services=$(mktemp -d)
    stop_services() {
        REDIS_PORT=${REDIS_PORT:-6392} scripts/services/redis.sh stop "$services/redis" >/dev/null 2>&1 || true
        MARIADB_PORT=${MARIADB_PORT:-3312} scripts/services/mariadb.sh stop "$services/mariadb" >/dev/null 2>&1 || true
        rm -rf "$services"
    }
    trap stop_services EXIT
    REDIS_PORT=${REDIS_PORT:-6392} scripts/services/redis.sh start "$services/redis" >/dev/null
    MARIADB_PORT=${MARIADB_PORT:-3312} scripts/services/mariadb.sh start "$services/mariadb" >/dev/null
    redis="redis://127.0.0.1:${REDIS_PORT:-6392}"
    mariadb="mariadb://chat:chat@127.0.0.1:${MARIADB_PORT:-3312}/chat_test"
    "${BENCH_BIN:-.build/release}/chatd" migrate --mariadb "$mariadb" 2>/dev/null
    CHATD_COUNT=2 run redis-rooms "--room-quota 0 --redis $redis --mariadb $mariadb" "${many[@]}" --redis-url "$redis"
    CHATD_COUNT=2 run redis-rooms-low-rate "--room-quota 0 --redis $redis --mariadb $mariadb" "${low[@]}" --redis-url "$redis"
fi

if [ "$which" = cluster ] || { [ "$which" = all ] && [ -n "${REDIS_CLUSTER:-}" ]; }; then
    : "${REDIS_CLUSTER:?set REDIS_CLUSTER=redis+cluster://HOST:PORT,… for the cluster runs}"
    : "${REDIS_CLUSTER_NODES:?set REDIS_CLUSTER_NODES=\"redis://HOST:PORT …\" (the masters)}"
    : "${MARIADB_URL:?set MARIADB_URL=mariadb://… (migrated) for the cluster runs}"
    nodes=()
    for node in $REDIS_CLUSTER_NODES; do nodes+=(--redis-url "$node"); done
    CHATD_COUNT=2 run cluster-rooms "--room-quota 0 --redis $REDIS_CLUSTER --mariadb $MARIADB_URL" "${many[@]}" "${nodes[@]}"
    CHATD_COUNT=2 run cluster-rooms-low-rate "--room-quota 0 --redis $REDIS_CLUSTER --mariadb $MARIADB_URL" "${low[@]}" "${nodes[@]}"
fi
echo "results in $out" >&2
