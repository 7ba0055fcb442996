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
packages=(mariadb-server libmariadb-dev)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

log=$(mktemp)
services=$(mktemp -d)
# Each service is stopped by its own pid (the scripts keep it under $services), never by name.
cleanup() {
    scripts/services/mariadb.sh stop "$services/mariadb" >/dev/null 2>&1 || true
    rm -rf "$log" "$services"
}
trap cleanup EXIT

# A throwaway MariaDB on loopback for the MariaDB adapter tests; each test makes its own database.
mariadb_port=${CHAT_TEST_MARIADB_PORT:-3310}
MARIADB_PORT=$mariadb_port scripts/services/mariadb.sh start "$services/mariadb"
export CHAT_TEST_MARIADB_URL="mariadb://chat:chat@127.0.0.1:$mariadb_port/chat_test"

set +e
swift test --disable-xctest 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -E '^✔ Test .* passed after' "$log" | grep -cv '^✔ Test run with' || true)
failed=$(grep -E '^✘ Test .* failed after' "$log" | grep -cv '^✘ Test run with' || true)
echo "tests: ${passed} passed, ${failed} failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
    echo "scripts/test.sh: no test ran" >&2
    exit 1
fi
exit "$status"
