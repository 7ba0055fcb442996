#!/usr/bin/env bash
# Prints the path of a Python 2.7 interpreter for the Autobahn|Testsuite (autobahntestsuite runs
# on Python 2.7 only, and Debian 12 ships none), or says on stderr why there is none and exits 1.
#
#   scripts/autobahn/find-python2.sh
#
# Where it looks, in order:
#   1. $PYTHON2 when set: the one given is the one used; if it is not a working Python 2.7,
#      that is an error (no silent fallback to another interpreter);
#   2. python2.7, then python2, on the PATH;
#   3. pyenv's versions: ${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7*/bin/python (newest first),
#      and /root/.pyenv/versions/2.7* (this project's machines keep 2.7.18 there).
set -euo pipefail

is_python27() {
    [ -n "$1" ] && [ -x "$1" ] || return 1
    local version
    version="$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || return 1
    [ "$version" = "2.7" ]
}

how_to="install a Python 2.7 (e.g. with pyenv: pyenv install 2.7.18) or set PYTHON2=/path/to/python2.7"

if [ -n "${PYTHON2:-}" ]; then
    if is_python27 "$PYTHON2"; then
        echo "$PYTHON2"
        exit 0
    fi
    echo "PYTHON2=$PYTHON2 is not a working Python 2.7; $how_to" >&2
    exit 1
fi

candidates=()
for name in python2.7 python2; do
    path="$(command -v "$name" 2>/dev/null || true)"
    [ -n "$path" ] && candidates+=("$path")
done
shopt -s nullglob
for root in "${PYENV_ROOT:-$HOME/.pyenv}" /root/.pyenv; do
    versions=("$root"/versions/2.7*/bin/python)
    for ((i = ${#versions[@]} - 1; i >= 0; i--)); do  # the glob sorts; the last is the newest
        candidates+=("${versions[$i]}")
    done
done

for candidate in "${candidates[@]}"; do
    if is_python27 "$candidate"; then
        echo "$candidate"
        exit 0
    fi
done
echo "no Python 2.7 found (looked at PYTHON2, python2.7 and python2 on the PATH, and pyenv's versions); $how_to" >&2
exit 1
