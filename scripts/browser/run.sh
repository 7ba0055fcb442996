#!/usr/bin/env bash
# The browser client in a real browser (scripts/browser/test_client.py): Debian's chromium and
# chromium-driver, headless, driven by Selenium from a venv in .build-browser/ against a debug
# chatd of its own (in-memory, --auth token). Called by scripts/test.sh after the build; also
# runs alone once `swift build` has built chatd. Its last line is "browser: N passed, N failed";
# it exits non-zero when a case fails.
#   --screenshot   also writes docs/browser-client.png (two users chatting)
# CHATD_BIN overrides the chatd binary, CHAT_BROWSER_PORT its port (default: a free one).
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in chromium chromedriver; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "scripts/browser/run.sh: $tool is missing: apt-get install chromium chromium-driver" >&2
        exit 1
    fi
done

venv=.build-browser/venv
if ! "$venv/bin/python" -c 'import selenium' >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/browser/requirements.txt
fi

if [ "${1:-}" = "--screenshot" ]; then
    # The screenshot shows Chinese letters: a font that has them (the tests need none).
    dpkg -s fonts-wqy-zenhei >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei
    export CHAT_BROWSER_SCREENSHOT="$PWD/docs/browser-client.png"
fi
export CHATD_BIN="${CHATD_BIN:-$(swift build --show-bin-path)/chatd}"
# Selenium must not look for (or download) a driver of its own: chromedriver is started by path.
export SE_OFFLINE=true
exec "$venv/bin/python" scripts/browser/test_client.py
