#!/usr/bin/env bash
# Installs the Autobahn|Testsuite fuzzing client (autobahntestsuite 0.8.2, Python 2.7 only)
# into .build-autobahn/venv, idempotently and unattended (only PyPI is needed).
#
#   scripts/autobahn/setup.sh                  # the Python 2.7 venv with wstest
#   scripts/autobahn/setup.sh --with-reference # also .build-autobahn/py3venv (websockets),
#                                              # for scripts/autobahn/reference_echo.py
#
# Environment: PYTHON2 (default: the first Python 2.7 scripts/autobahn/find-python2.sh finds),
#              PYTHON3 (default: python3.11, else python3; must be >= 3.11 for websockets 17).
# A second run with unchanged requirements does nothing (a stamp file records what was
# installed); a venv whose stamp does not match is rebuilt from scratch.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.build-autobahn"
venv="$cache/venv"
py3venv="$cache/py3venv"
boot="$cache/bootstrap-virtualenv"

with_reference=0
for arg in "$@"; do
  case "$arg" in
    --with-reference) with_reference=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

die() { echo "setup.sh: ERROR: $*" >&2; exit 1; }
log() { echo "setup.sh: $*"; }

mkdir -p "$cache"
export PIP_NO_PYTHON_VERSION_WARNING=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# --- Python 2.7 -------------------------------------------------------------------------
PYTHON2="$("$here/find-python2.sh")" || die "autobahntestsuite 0.8.2 runs on Python 2.7 only (see above)"
py2ver="$("$PYTHON2" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" \
  || die "$PYTHON2 does not run"
case "$py2ver" in 2.7.*) ;; *) die "$PYTHON2 is Python $py2ver; autobahntestsuite 0.8.2 needs Python 2.7" ;; esac
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 \
  || die "no C compiler (cc/gcc): wsaccel and zope.interface build from source; apt-get install -y gcc"

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
want="py$py2ver-$(stamp_of "$here/requirements.txt" "$here/requirements-bootstrap.txt")"

if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$want" ] && "$venv/bin/wstest" --autobahnversion >/dev/null 2>&1; then
  log "Python 2.7 venv up to date: $venv"
else
  start=$(date +%s)
  # virtualenv: the pyenv Python 2.7 has pip but neither virtualenv nor venv.
  if ! PYTHONPATH="$boot" "$PYTHON2" -c 'import virtualenv' >/dev/null 2>&1; then
    log "installing virtualenv for Python 2.7 into $boot"
    rm -rf "$boot"
    "$PYTHON2" -m pip install --disable-pip-version-check --no-warn-script-location -q \
      --target "$boot" -r "$here/requirements-bootstrap.txt" \
      || die "pip could not install virtualenv for Python 2.7 (is PyPI reachable?)"
  fi
  log "creating $venv"
  rm -rf "$venv"
  PYTHONPATH="$boot" "$PYTHON2" -m virtualenv --no-download -q "$venv" \
    || die "virtualenv could not create $venv"
  log "installing autobahntestsuite and its pinned dependencies (about a minute)"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$here/requirements.txt" \
    || die "pip install -r scripts/autobahn/requirements.txt failed (see pip's output above)"
  "$venv/bin/python" -m pip check || die "installed packages are inconsistent (pip check)"
  version="$("$venv/bin/wstest" --autobahnversion 2>/dev/null | grep -i 'AutobahnTestSuite' || true)"
  [ "$version" = "AutobahnTestSuite 0.8.2" ] || die "wstest does not run or is the wrong version: '$version'"
  echo "$want" > "$venv/.installed"
  log "Python 2.7 venv ready in $(( $(date +%s) - start ))s: $venv ($version)"
fi

# --- optional: Python 3 venv for the reference echo server ------------------------------
if [ "$with_reference" = 1 ]; then
  if [ -z "${PYTHON3:-}" ]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON3=python3.11
    elif [ -x /root/.pyenv/versions/3.11.7/bin/python ]; then PYTHON3=/root/.pyenv/versions/3.11.7/bin/python
    else PYTHON3=python3; fi
  fi
  "$PYTHON3" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "$PYTHON3 is missing or older than 3.11 (websockets 17 needs >= 3.11); set PYTHON3"
  want3="$("$PYTHON3" -c 'import sys; print(sys.version.split()[0])')-$(stamp_of "$here/requirements-py3.txt")"
  if [ -f "$py3venv/.installed" ] && [ "$(cat "$py3venv/.installed")" = "$want3" ] && "$py3venv/bin/python" -c 'import websockets' 2>/dev/null; then
    log "Python 3 venv up to date: $py3venv"
  else
    log "creating $py3venv"
    rm -rf "$py3venv"
    "$PYTHON3" -m venv "$py3venv" || die "$PYTHON3 -m venv failed"
    "$py3venv/bin/python" -m pip install --disable-pip-version-check -q -r "$here/requirements-py3.txt" \
      || die "pip install -r scripts/autobahn/requirements-py3.txt failed"
    echo "$want3" > "$py3venv/.installed"
    log "Python 3 venv ready: $py3venv"
  fi
fi
