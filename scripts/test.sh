#!/usr/bin/env bash
# Runs every test of the package: the README's test command, and what .ci/run calls.
# Works on a fresh Debian machine as root with the Swift toolchain on PATH (this project's
# machines carry Swift 6.3 at /opt/swift); installs any Debian packages the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    else
        echo "scripts/test.sh: Swift 6.1 or newer is required (https://www.swift.org/install/linux/)" >&2
        exit 1
    fi
fi

# Debian packages the build and tests use: servers the adapter tests talk to, and the C
# client libraries the adapters link.
packages=(redis-server libhiredis-dev mariadb-server libmariadb-dev)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

log=$(mktemp)
services=$(mktemp -d)
conformance_pid=
fuzz_pid=
stop_services() {
    # The conformance run is a process group of its own (setsid): its echo server and wstest
    # processes go with it.
    [ -n "$conformance_pid" ] && kill -- "-$conformance_pid" 2>/dev/null
    [ -n "$fuzz_pid" ] && kill -- "-$fuzz_pid" 2>/dev/null
    scripts/services/redis.sh stop "$services/redis" || true
    scripts/services/mariadb.sh stop "$services/mariadb" >/dev/null 2>&1 || true
    rm -rf "$services"
    rm -f "$log"
}
trap stop_services EXIT
trap 'exit 143' TERM INT  # so that the EXIT trap also runs when the script is stopped

# Throwaway servers for the adapters' tests, each on a port of its own, stopped by pid on exit.
scripts/services/redis.sh start "$services/redis"
CHAT_TEST_REDIS_URL=$(scripts/services/redis.sh url "$services/redis")
# (Tests that restart a server start one of their own: Tests/ChatTestServices.)
export CHAT_TEST_REDIS_URL

# A throwaway MariaDB on loopback for the MariaDB adapter tests; each test makes its own database.
mariadb_port=${CHAT_TEST_MARIADB_PORT:-3310}
MARIADB_PORT=$mariadb_port scripts/services/mariadb.sh start "$services/mariadb"
export CHAT_TEST_MARIADB_URL="mariadb://chat:chat@127.0.0.1:$mariadb_port/chat_test"

# Python's `websockets` (PyPI), an independent WebSocket client for the deflate interop test.
interop=.build-interop/venv
if ! "$interop/bin/python" -c 'import websockets' >/dev/null 2>&1; then
    python3 -m venv "$interop"
    "$interop/bin/pip" install -q --disable-pip-version-check -r scripts/interop/requirements.txt
fi
export CHAT_TEST_PYTHON="$PWD/$interop/bin/python"

swift build --build-tests

# WebSocket conformance, side by side with the Swift tests: Autobahn|Testsuite groups 1-13
# against `chatd websocket-echo` (the debug build just made). Its summary goes under
# .build-autobahn/, so docs/ stays clean; scripts/conformance.sh regenerates docs/conformance.md.
conformance_log=.build-autobahn/conformance.log
mkdir -p .build-autobahn
CHATD_BIN="$(swift build --show-bin-path)/chatd" CONFORMANCE_MD=.build-autobahn/conformance.md \
    setsid scripts/conformance.sh >"$conformance_log" 2>&1 &
conformance_pid=$!

# Fuzzing (scripts/fuzz.sh: its own build in .build-fuzz, then each libFuzzer target for 30 s),
# side by side with the Swift tests at a lower CPU priority: on 2 cores it takes what the tests
# and the conformance run leave idle instead of slowing them. Counts as one test below.
mkdir -p .build-fuzz
setsid nice -n 10 scripts/fuzz.sh >.build-fuzz/fuzz.log 2>&1 &
fuzz_pid=$!

set +e
swift test --skip-build --disable-xctest 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -E '^✔ Test .* passed after' "$log" | grep -cv '^✔ Test run with' || true)
failed=$(grep -E '^✘ Test .* failed after' "$log" | grep -cv '^✘ Test run with' || true)
set +e
wait "$fuzz_pid"
fuzz=$?
set -e
fuzz_pid=
cat .build-fuzz/fuzz.log
if [ "$fuzz" -eq 0 ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    [ "$status" -ne 0 ] || status=$fuzz
fi
echo "tests: ${passed} passed, ${failed} failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
    echo "scripts/test.sh: no test ran" >&2
    exit 1
fi

set +e
wait "$conformance_pid"
conformance=$?
set -e
conformance_pid=
cat "$conformance_log"
if [ "$conformance" -eq 0 ]; then
    echo "conformance: Autobahn|Testsuite 1-13, no case FAILED (.build-autobahn/conformance.md)"
else
    echo "conformance: Autobahn|Testsuite FAILED (see above and .build-autobahn/conformance.md)" >&2
    [ "$status" -eq 0 ] && status=$conformance
fi
exit "$status"
