#!/usr/bin/env bash
# Every chat-bench scenario behind docs/performance.md, on the embedded default and with Redis
# (and MariaDB) of its own: one JSON file per run in OUTDIR, and OUTDIR/commands.txt.
#
#   scripts/bench/run-all.sh OUTDIR [embedded|redis|all]
#
# Release builds first (see with-chatd.sh). Redis and MariaDB are started from
# scripts/services on REDIS_PORT / MARIADB_PORT (default 6392 / 3312) and stopped by pid.
# Takes about 10 minutes; run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1
which=${2:-all}
mkdir -p "$out"
out=$(cd "$out" && pwd)
: >"$out/commands.txt"

run() {  # NAME "CHATD FLAGS" SCENARIO ARGS...
    local name=$1
    shift
    echo "scripts/bench/with-chatd.sh \"$1\" ${*:2} --json" | tee -a "$out/commands.txt" >&2
    scripts/bench/with-chatd.sh "$@" --json --quiet >"$out/$name.json"
    sleep 3  # let the kernel reap the last run's sockets
}

fanout=(--rooms 1 --members 1000 --publishers 10 --rate 200 --duration 10)

scenarios() {  # PREFIX "CHATD FLAGS"
    local p=$1 flags=$2
    for i in 1 2 3; do run "$p-fanout-$i" "$flags" fanout "${fanout[@]}"; done
    run "$p-fanout-aligned" "$flags" fanout "${fanout[@]}" --aligned-publishers
    for rate in 100 150 250; do
        run "$p-fanout-rate$rate" "$flags" fanout --rooms 1 --members 1000 --publishers 10 --rate "$rate" --duration 10
    done
    for i in 1 2; do run "$p-fanout-window0-$i" "$flags --flush-window-ms 0" fanout "${fanout[@]}"; done
    run "$p-connections" "$flags" connections --connections 10000 --rooms 10 --hold 5 --connect-concurrency 256
    for i in 1 2 3; do run "$p-join-storm-$i" "$flags" join-storm --clients 1000 --history 100; done
    run "$p-deflate" "$flags" deflate "${fanout[@]}"
}

if [ "$which" = embedded ] || [ "$which" = all ]; then
    scenarios embedded ""
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
    .build/release/chatd migrate --mariadb "$mariadb" 2>/dev/null
    scenarios redis "--redis $redis --mariadb $mariadb"
    for i in 1 2; do
        CHATD_COUNT=2 run "redis-cross-server-$i" "--redis $redis --mariadb $mariadb" cross-server "${fanout[@]}"
    done
fi
echo "results in $out" >&2
