#!/usr/bin/env bash
# Builds the libFuzzer targets (Sources/Fuzz/, declared in Package.swift when CHATD_FUZZ=1) in
# .build-fuzz, and runs each for a bounded time from its committed seed corpus
# (fuzz/corpus/<target>/). New inputs found go to a temporary folder, never into the repo.
#
#   scripts/fuzz.sh                                   # every target, FUZZ_SECONDS (30) each
#   scripts/fuzz.sh FuzzJoinRequest                   # one target
#   FUZZ_SECONDS=3600 scripts/fuzz.sh FuzzInboundFrames
#   FUZZ_KEEP_CORPUS=/tmp/frames scripts/fuzz.sh FuzzInboundFrames   # keep what it found
#   .build-fuzz/debug/FuzzJoinRequest CRASH_FILE      # replays one input
#
# Exits non-zero when a target crashed, failed a check, hung past FUZZ_TIMEOUT seconds on one
# input, went over FUZZ_RSS_MB or got a sanitizer report; the reproducer's path is printed.
# Called by scripts/test.sh; docs/security.md ("Fuzzing") says what each target covers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Every target by default: the folders of Sources/Fuzz/ that Package.swift declares as Fuzz*.
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || mapfile -t targets < <(cd Sources/Fuzz && ls -d Fuzz*)
seconds=${FUZZ_SECONDS:-30}
timeout=${FUZZ_TIMEOUT:-20}
rss_mb=${FUZZ_RSS_MB:-1024}
scratch=.build-fuzz
artifacts="$scratch/artifacts"

# Largest input per target: a few frames; a header; a URI; a body up to chatd's default limit.
max_len() {
    case "$1" in
    FuzzInboundFrames) echo 8192 ;;
    FuzzJSONBodies) echo 16384 ;;
    *) echo 4096 ;;
    esac
}

# The build's output (thousands of gold warnings about ASan's local symbols) goes to a log.
started=$SECONDS
mkdir -p "$scratch"
: >"$scratch/build.log"
for target in "${targets[@]}"; do
    if ! CHATD_FUZZ=1 swift build --scratch-path "$scratch" --product "$target" >>"$scratch/build.log" 2>&1; then
        grep -v "Cannot export local symbol" "$scratch/build.log" | tail -n 40 >&2
        echo "fuzz: building $target FAILED (full log: $scratch/build.log)" >&2
        exit 1
    fi
done
echo "fuzz: built ${targets[*]} in $((SECONDS - started)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
bin="$scratch/debug"
status=0
for target in "${targets[@]}"; do
    found="${FUZZ_KEEP_CORPUS:-$work/$target}"
    mkdir -p "$found"
    rm -f "$artifacts/$target-"*
    # A target's dictionary (fuzz/dictionaries/) names the tokens of its grammar: our string
    # comparisons run in the (uninstrumented) standard library, so libFuzzer cannot learn them.
    dictionary=()
    [ -f "fuzz/dictionaries/$target.dict" ] && dictionary=(-dict="fuzz/dictionaries/$target.dict")
    # The first corpus folder receives what the run finds; the committed seeds are only read.
    # Swift's own crash backtracer is off: under ASan it trips a false report of its own that
    # hides the real one; libFuzzer prints the stack instead.
    set +e
    SWIFT_BACKTRACE=enable=no "$bin/$target" "$found" "fuzz/corpus/$target" \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" -max_len="$(max_len "$target")" \
        -artifact_prefix="$artifacts/$target-" -print_final_stats=1 "${dictionary[@]}" >"$work/$target.log" 2>&1
    code=$?
    set -e
    runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$work/$target.log" | grep -oE '[0-9]+$' || echo 0)
    reproducers=$(find "$artifacts" -name "$target-*" -type f 2>/dev/null)
    if [ "$code" -eq 0 ] && [ -z "$reproducers" ]; then
        echo "fuzz: $target: ${runs} inputs in ${seconds} s, no crash ($(find "$found" -type f | wc -l) new corpus entries)"
    else
        tail -n 40 "$work/$target.log"
        grep -E "Precondition failed|Fatal error|ERROR: |SUMMARY: " "$work/$target.log" | head -n 5 >&2
        echo "fuzz: $target FAILED (libFuzzer exit $code); reproducer: ${reproducers:-none written}" >&2
        echo "fuzz: replay with: $bin/$target ${reproducers%%$'\n'*}" >&2
        status=1
    fi
done
exit "$status"
