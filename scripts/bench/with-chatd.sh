#!/usr/bin/env bash
# Runs one chat-bench scenario against a release chatd of its own, then stops that chatd by pid.
#
#   scripts/bench/with-chatd.sh "CHATD FLAGS" SCENARIO [CHAT-BENCH FLAGS...]
#   scripts/bench/with-chatd.sh "--message-rate 0" fanout --members 1000 --publishers 10 --rate 200 --duration 10
#
# chatd listens on 127.0.0.1:$CHATD_PORT (default 18090); chat-bench gets --url and --server-pid.
# Both get an open-file limit of 20000 (the most these machines allow) for 10,000-connection runs.
# Build first: swift build -c release --product chatd && swift build -c release --product chat-bench
set -euo pipefail
cd "$(dirname "$0")/../.."
chatd_flags=$1
shift
port=${CHATD_PORT:-18090}
bin=${BENCH_BIN:-.build/release}
ulimit -n 20000
log=$(mktemp)
# shellcheck disable=SC2086
"$bin/chatd" --host 127.0.0.1 --port "$port" $chatd_flags 2>"$log" &
chatd=$!
trap 'kill "$chatd" 2>/dev/null; wait "$chatd" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
    grep -q "chatd listening on" "$log" && break
    kill -0 "$chatd" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done
scenario=$1
shift
"$bin/chat-bench" "$scenario" --url "http://127.0.0.1:$port" --server-pid "$chatd" "$@"
