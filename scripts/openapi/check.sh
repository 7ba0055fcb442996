#!/usr/bin/env bash
# Holds a live chatd to its OpenAPI document (docs/openapi.json, served at /openapi.json):
# schemathesis (PyPI, pinned in requirements.txt, venv in .build-openapi/) sends generated
# requests to every operation and fails on any 5xx and on any answer whose status, content type
# or body the document does not describe. docs/operations.md, "The API document".
#
#   scripts/openapi/check.sh                     # the debug chatd (swift build first)
#   CHATD_BIN=.build/release/chatd OPENAPI_EXAMPLES=200 OPENAPI_SEED=random scripts/openapi/check.sh
#
# Runs against the in-memory default, given a user, two rooms and a few messages first
# (seed.py; schemathesis.toml has it use them): once with `--auth none` (the seed's open API),
# once with `--auth token --private-rooms` and a token made first (the token's revocation and
# `DELETE /v1/users` with the admin token run last, each on its own), and once against the
# admin listener with the admin token. Each chatd is
# stopped by its pid. Exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

CHATD_BIN=${CHATD_BIN:-"$(swift build --show-bin-path)/chatd"}
[ -x "$CHATD_BIN" ] || { echo "openapi check: no chatd at $CHATD_BIN (swift build first)" >&2; exit 2; }
examples=${OPENAPI_EXAMPLES:-50}
seed=${OPENAPI_SEED:-20261201}
work="$root/.build-openapi"
mkdir -p "$work"

venv="$work/venv"
if ! "$venv/bin/python" -c 'import schemathesis' >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/openapi/requirements.txt
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
admin_token="openapi-check-admin-token"
chatd_pid=
stop_chatd() {
    if [ -n "$chatd_pid" ]; then
        kill "$chatd_pid" 2>/dev/null || true
        wait "$chatd_pid" 2>/dev/null || true
        chatd_pid=
    fi
}
trap stop_chatd EXIT
trap 'exit 143' TERM INT

# start_chatd NAME ARGS...: a chatd on free ports, in memory, limits that would only answer 429
# lifted so that the requests reach the handlers; waits until it serves.
start_chatd() {
    local name=$1
    shift
    port=$(free_port)
    admin_port=$(free_port)
    log="$work/chatd-$name.log"
    "$CHATD_BIN" serve --host 127.0.0.1 --port "$port" --log-level warning --admin-token "$admin_token" \
        --auth-failure-limit 0 --room-quota 0 --connection-rate 100000 --bcrypt-cost 4 \
        --admin-host 127.0.0.1 --admin-port "$admin_port" "$@" >"$log" 2>&1 &
    chatd_pid=$!
    for _ in $(seq 1 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$port/openapi.json" && return 0
        kill -0 "$chatd_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    echo "openapi check: chatd ($name) did not start" >&2
    return 2
}

failures=0
# run_schemathesis NAME BASE_URL ARGS...: one schemathesis run over the served document.
run_schemathesis() {
    local name=$1 base=$2
    shift 2
    echo "openapi check: $name"
    # From .build-openapi, so that its .hypothesis database stays out of the tree. One worker:
    # with two, schemathesis 4.32.5 on Python 3.11 once died in a race of its own (SystemError
    # from the AST constructor), and one takes about a minute anyway.
    if ! (cd "$work" && "$venv/bin/schemathesis" --config-file "$root/scripts/openapi/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" --url "$base" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method,allow_header_conformance \
        --max-examples "$examples" $([ "$seed" = random ] || echo --seed "$seed") --workers 1 \
        --request-timeout 10 --no-color "$@"); then
        echo "openapi check: $name FAILED (chatd's log: $log)" >&2
        failures=$((failures + 1))
    fi
}

# Operations of the admin listener only (the health routes are on both).
admin_only='^/(metrics|v1/admin/.*)$'
public_filter=(--exclude-path-regex "$admin_only")

start_chatd open --auth none
"$venv/bin/python" scripts/openapi/seed.py "http://127.0.0.1:$port" >/dev/null
run_schemathesis "--auth none" "http://127.0.0.1:$port" "${public_filter[@]}"
stop_chatd

start_chatd token --auth token --private-rooms
token=$("$venv/bin/python" scripts/openapi/seed.py "http://127.0.0.1:$port" --password "correct horse")
run_schemathesis "--auth token --private-rooms, with a token" "http://127.0.0.1:$port" "${public_filter[@]}" \
    --exclude-path /v1/tokens/current -H "Authorization: Bearer $token"
# Before the runs below take the token and the user away.
run_schemathesis "admin listener, with the admin token" "http://127.0.0.1:$admin_port" \
    --include-path-regex "$admin_only|^/(healthz|readyz)$" -H "Authorization: Bearer $admin_token"
run_schemathesis "--auth token: revoking the token" "http://127.0.0.1:$port" \
    --include-path /v1/tokens/current -H "Authorization: Bearer $token"
run_schemathesis "--auth token: deleting every user, with the admin token" "http://127.0.0.1:$port" \
    --include-path /v1/users --include-method DELETE -H "Authorization: Bearer $admin_token"
stop_chatd

if [ "$failures" -gt 0 ]; then
    echo "openapi check: $failures run(s) FAILED" >&2
    exit 1
fi
echo "openapi check: every operation of docs/openapi.json answered as documented (no 5xx)"
