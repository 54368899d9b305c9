#!/usr/bin/env bash
# Scale benchmarks for listing and planning (issue 19):
#   1. 40 plugin tasks of one built-in plugin, shaped like a dev-stack file
#      (groups, descriptions, aliases, grants): `run --list` reads the
#      plugin's cached descriptor once, not once per task;
#   2. 10,000 tasks, each depending on the next: `run --list`, and
#      `run -n t0`, which plans the whole 10,000-task chain.
#
#   bash benches/scale.sh [RUN_BINARY]     # default: target/release/run
#
# Uses hyperfine (and just, for the same 10,000 recipes) when installed;
# otherwise times 5 runs of each with bash's `time`. Files go to a temp dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$(realpath "${1:-$ROOT/target/release/run}")"
[ -x "$RUN" ] || { echo "benches/scale.sh: no run binary at $RUN (cargo build --release -p runner)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export RUN_CACHE_DIR="$WORK/cache"

mkdir -p "$WORK/plugins40" "$WORK/chain"
{
    echo "# 40 plugin tasks of one plugin, as a dev stack's tasks.toml has them."
    for group in db app cache search; do
        for i in $(seq 10); do
            printf '[tasks.%s-%s]\ndescription = "Greet the %s service, replica %s"\ngroup = "%s"\naliases = ["%s%s"]\nplugin = "hello"\nconfig = { name = "%s-%s" }\nallow = { write = ["out/%s"] }\ntimeout = "30s"\n\n' \
                "$group" "$i" "$group" "$i" "$group" "${group:0:1}" "$i" "$group" "$i" "$group"
        done
    done
} > "$WORK/plugins40/tasks.toml"

{
    for i in $(seq 0 9999); do
        printf '[tasks.t%s]\ndescription = "step %s"\ncommand = "true"\n' "$i" "$i"
        [ "$i" -lt 9999 ] && printf 'depends = ["t%s"]\n' "$((i + 1))"
        echo
    done
} > "$WORK/chain/tasks.toml"
{
    for i in $(seq 0 9999); do
        if [ "$i" -lt 9999 ]; then printf '# step %s\nt%s: t%s\n    true\n\n' "$i" "$i" "$((i + 1))"
        else printf '# step %s\nt%s:\n    true\n\n' "$i" "$i"; fi
    done
} > "$WORK/chain/justfile"

# The same 40 as just recipes (group, doc comment, alias), for `just --list`.
{
    for group in db app cache search; do
        for i in $(seq 10); do
            printf "# Greet the %s service, replica %s\n[group('%s')]\n%s-%s:\n    echo hello %s-%s > out/%s.txt\n\nalias %s%s := %s-%s\n\n" \
                "$group" "$i" "$group" "$group" "$i" "$group" "$i" "$group" "${group:0:1}" "$i" "$group" "$i"
        done
    done
} > "$WORK/plugins40/justfile"

# 10,000 independent tasks (no dependencies), for both tools: just recurses
# through a dependency chain and overflows its 8 MiB stack on the chain above
# (`just --list` aborts, exit 134), so the chain is timed with just under
# `ulimit -s unlimited`, and this file compares the two without that help.
mkdir -p "$WORK/flat"
{
    for i in $(seq 0 9999); do
        printf '[tasks.t%s]\ndescription = "step %s"\ncommand = "true"\n\n' "$i" "$i"
    done
} > "$WORK/flat/tasks.toml"
{
    for i in $(seq 0 9999); do printf '# step %s\nt%s:\n    true\n\n' "$i" "$i"; done
} > "$WORK/flat/justfile"

(cd "$WORK/plugins40" && "$RUN" --list >/dev/null) # describes `hello` once, into the cache

time5() { # time5 DIR COMMAND...: the mean of 5 runs, in ms
    local dir="$1" start end
    shift
    start=$(date +%s%N)
    for _ in 1 2 3 4 5; do (cd "$dir" && "$@" >/dev/null); done
    end=$(date +%s%N)
    echo "$(( (end - start) / 5000000 )) ms  $*"
}

if command -v hyperfine >/dev/null; then
    if command -v just >/dev/null; then
        (cd "$WORK/plugins40" && hyperfine -N --warmup 5 --style basic \
            -n "run --list (40 plugin tasks)" "$RUN --list" \
            -n "just --list (40 recipes)" "just --list")
        (cd "$WORK/flat" && hyperfine -N --warmup 1 --runs 10 --style basic \
            -n "run --list (10,000 independent tasks)" "$RUN --list" \
            -n "just --list (10,000 independent recipes)" "just --list")
        (cd "$WORK/chain" && just --list >/dev/null 2>&1) ||
            echo "just --list on the 10,000-recipe chain fails with the default stack (exit $?)"
        (ulimit -s unlimited && cd "$WORK/chain" && hyperfine -N --warmup 1 --runs 5 --style basic \
            -n "run --list (10,000-task chain)" "$RUN --list" \
            -n "just --list (10,000-recipe chain, ulimit -s unlimited)" "just --list" \
            -n "run -n t0 (10,000-task chain)" "$RUN -n t0" \
            -n "just -n t0 (10,000-recipe chain, ulimit -s unlimited)" "just -n t0")
    else
        (cd "$WORK/plugins40" && hyperfine -N --warmup 5 --style basic -n "run --list (40 plugin tasks)" "$RUN --list")
        (cd "$WORK/chain" && hyperfine -N --warmup 1 --runs 5 --style basic \
            -n "run --list (10,000 tasks)" "$RUN --list" \
            -n "run -n t0 (10,000-task chain)" "$RUN -n t0")
    fi
else
    echo "hyperfine is not installed: 5 runs each, wall clock" >&2
    time5 "$WORK/plugins40" "$RUN" --list
    time5 "$WORK/chain" "$RUN" --list
    time5 "$WORK/chain" "$RUN" -n t0
    if command -v just >/dev/null; then
        time5 "$WORK/plugins40" just --list
        time5 "$WORK/chain" just --list
        time5 "$WORK/chain" just -n t0
    fi
fi
if command -v strace >/dev/null; then
    opens=$(cd "$WORK/plugins40" && strace -f -e trace=openat "$RUN" --list 2>&1 >/dev/null | grep -c /descriptors/ || true)
    echo "descriptor files opened by run --list over 40 tasks of one plugin: $opens"
fi
