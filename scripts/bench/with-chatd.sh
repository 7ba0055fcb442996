#!/usr/bin/env bash
# Runs one chat-bench scenario against release chatd processes of its own, then stops them by pid.
#
#   scripts/bench/with-chatd.sh "CHATD FLAGS" SCENARIO [CHAT-BENCH FLAGS...]
#   scripts/bench/with-chatd.sh "" fanout --members 1000 --publishers 10 --rate 200 --duration 10
#   CHATD_COUNT=2 scripts/bench/with-chatd.sh "--redis redis://127.0.0.1:6391 --mariadb mariadb://…" cross-server …
#
# CHATD_COUNT chatd processes (default 1) listen on 127.0.0.1 from $CHATD_PORT (default 18090)
# up; chat-bench gets a --url and a --server-pid for each (and for `rooms` an --admin-url). Everything runs with an open-file
# limit of 20000 (the most these machines allow), enough for a 10,000-connection run.
# Build first: swift build -c release --product chatd && swift build -c release --product chat-bench
set -euo pipefail
cd "$(dirname "$0")/../.."
chatd_flags=$1
scenario=$2
shift 2
port=${CHATD_PORT:-18090}
count=${CHATD_COUNT:-1}
bin=${BENCH_BIN:-.build/release}
ulimit -n 20000
logs=$(mktemp -d)
pids=()
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$logs"
}
trap stop EXIT
targets=()
for i in $(seq 0 $((count - 1))); do
    # shellcheck disable=SC2086
    "$bin/chatd" --host 127.0.0.1 --port $((port + i)) --max-connections-per-address 1000000 --connection-rate 1000000 --admin-port 0 $chatd_flags 2>"$logs/$i.log" &
    pids+=($!)
    targets+=(--url "http://127.0.0.1:$((port + i))" --server-pid "$!")
done
for i in $(seq 0 $((count - 1))); do
    for _ in $(seq 100); do
        grep -q "chatd listening on" "$logs/$i.log" && break
        kill -0 "${pids[$i]}" 2>/dev/null || { cat "$logs/$i.log" >&2; exit 1; }
        sleep 0.1
    done
done
if [ "$scenario" = rooms ]; then
    # rooms reads each server's connections and subscriptions from its admin listener's /metrics.
    for i in $(seq 0 $((count - 1))); do
        for _ in $(seq 100); do grep -q "admin listener on" "$logs/$i.log" && break; sleep 0.1; done
        admin=$(sed -n 's/.*admin listener on \([^ ]*\).*/\1/p' "$logs/$i.log" | head -1)
        targets+=(--admin-url "http://$admin")
    done
fi
"$bin/chat-bench" "$scenario" "${targets[@]}" "$@"
