#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing client (groups 1 to 13) against `chatd websocket-echo`
# and writes the summary table; exits non-zero if any case FAILED.
#
#   scripts/conformance.sh                 # regenerates docs/conformance.md (commit it)
#   CONFORMANCE_MD=/tmp/x.md scripts/conformance.sh
#
# Uses the chatd binary at $CHATD_BIN (default: builds and uses .build/release/chatd, since the
# suite's 16 MiB and permessage-deflate cases are slow against a debug build). scripts/test.sh
# calls this with the summary going to .build-autobahn/, so tests never dirty docs/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ -z "${CHATD_BIN:-}" ]; then
    swift build -c release --product chatd
    CHATD_BIN="$root/.build/release/chatd"
fi
[ -x "$CHATD_BIN" ] || { echo "conformance.sh: no chatd at $CHATD_BIN" >&2; exit 2; }

scripts/autobahn/setup.sh

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$root/.build-autobahn/websocket-echo.log"
mkdir -p "$root/.build-autobahn"
"$CHATD_BIN" websocket-echo --host 127.0.0.1 --port "$port" --log-level warning >"$log" 2>&1 &
echo_pid=$!
stop_echo() {
    kill "$echo_pid" 2>/dev/null || true
    wait "$echo_pid" 2>/dev/null || true
}
trap stop_echo EXIT
trap 'exit 143' TERM INT
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$echo_pid" 2>/dev/null || { cat "$log" >&2; echo "conformance.sh: chatd websocket-echo exited" >&2; exit 2; }
    sleep 0.1
done

AUTOBAHN_AGENT=chatd scripts/autobahn/run.sh "ws://127.0.0.1:$port/"
