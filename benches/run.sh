#!/usr/bin/env bash
# Benchmarks run against just and GNU make, and writes docs/benchmarks.md.
#
#   bash benches/run.sh            # or: run bench
#
# Measures, on the same 40 tasks (benches/fixtures/{tasks.toml,justfile,Makefile}):
#   1. listing: `run --list` vs `just --list` (make has no listing: a no-op
#      target stands in for "make reads its 40-target file");
#   2. a no-op task: the cached no-op plugin task vs `just noop` vs `make noop`;
#   3. the peak RSS of the no-op plugin task.
# Uses a release build of run in target/bench (built here if needed).
# Installs hyperfine, make and GNU time with apt-get, and just with
# `cargo install just --locked`, when missing; fails clearly otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="$ROOT/benches/fixtures"
OUT="${BENCH_OUT:-$ROOT/docs/benchmarks.md}"
export CARGO_TARGET_DIR="$ROOT/target/bench"
RUN="$CARGO_TARGET_DIR/release/run"
FIXTURE_WASM="$CARGO_TARGET_DIR/wasm-test-programs/wasm32-wasip2/release/test_programs.wasm"
WORK="$CARGO_TARGET_DIR/bench-results"
# A cache of its own, so the "cached" numbers never depend on ~/.cache.
export RUN_CACHE_DIR="$CARGO_TARGET_DIR/run-cache"
# Enough runs for a stable mean on a small, busy machine.
RUNS="${BENCH_RUNS:-50}"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'benches/run.sh: %s\n' "$*" >&2; exit 1; }

apt_install() { # apt_install PACKAGE: installs it, or explains why it cannot
    command -v apt-get >/dev/null || die "$1 is missing and there is no apt-get: install $1 and retry"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "$1 is missing; install it (apt-get install $1) and retry"
        sudo=sudo
    fi
    say "installing $1 (apt-get)"
    $sudo apt-get install -y "$1" >/dev/null 2>&1 ||
        { $sudo apt-get update >/dev/null && $sudo apt-get install -y "$1" >/dev/null; } ||
        die "apt-get could not install $1"
}

need_tools() {
    command -v hyperfine >/dev/null || apt_install hyperfine
    command -v make >/dev/null || apt_install make
    [ -x /usr/bin/time ] || apt_install time
    command -v python3 >/dev/null || apt_install python3
    if ! command -v just >/dev/null; then
        command -v cargo >/dev/null || die "just is missing and so is cargo"
        say "installing just (cargo install just --locked; a few minutes)"
        cargo install just --locked || die "cargo install just --locked failed"
        export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    fi
    command -v just >/dev/null || die "just was installed but is not on PATH"
}

build_run() {
    say "building run (release) into $CARGO_TARGET_DIR"
    (cd "$ROOT" && cargo build --release -p runner)
    # The fixture plugin is a test artifact, not part of a release build:
    # tests/artifacts' build script builds it (into wasm-test-programs/).
    (cd "$ROOT" && cargo build --release -p test-artifacts)
    [ -x "$RUN" ] || die "no binary at $RUN after the build"
    [ -f "$FIXTURE_WASM" ] || die "no fixture plugin at $FIXTURE_WASM (tests/artifacts/build.rs builds it)"
}

# hyperfine NAME COMMAND... : exports $WORK/NAME.json and .md
bench() {
    local name="$1"
    shift
    say "benchmark: $name"
    (cd "$FIXTURES" && hyperfine -N --warmup 10 --runs "$RUNS" --style basic \
        --export-json "$WORK/$name.json" --export-markdown "$WORK/$name.md" "$@")
}

peak_rss() { # prints the peak RSS (KiB) of each of 20 runs of the no-op plugin task
    local i
    for i in $(seq 20); do
        (cd "$FIXTURES" && /usr/bin/time -v "$RUN" noop 2>&1 >/dev/null) |
            awk -F': ' '/Maximum resident set size/ { print $2 }'
    done
}

main() {
    need_tools
    build_run
    mkdir -p "$WORK"

    # Sanity: every tool reads its file and the no-op task works, so the
    # benchmarks below cannot time an error message.
    (cd "$FIXTURES" && "$RUN" --list >/dev/null && just --list >/dev/null && make -s noop && just noop) ||
        die "a fixture does not work; see the error above"
    say "warming the compile cache ($RUN_CACHE_DIR)"
    # The fixture plugin is rebuilt with the code: record its current digest.
    rm -f "$FIXTURES/tasks.lock"
    (cd "$FIXTURES" && "$RUN" noop) || die "the no-op plugin task fails"

    bench list \
        -n "run --list" "$RUN --list" \
        -n "just --list" "just --list" \
        -n "make noop" "make -s noop"

    bench noop \
        -n "run noop (plugin, cached)" "$RUN noop" \
        -n "just noop (@:)" "just noop" \
        -n "make noop (@:)" "make -s noop" \
        -n "just empty (no shell)" "just empty"

    say "peak RSS of \`run noop\`"
    peak_rss > "$WORK/rss.txt"

    say "first run, uncached compile of the fixture plugin"
    (cd "$FIXTURES" && hyperfine -N --runs 3 --style basic \
        --prepare "rm -rf $RUN_CACHE_DIR" \
        --export-json "$WORK/cold.json" --export-markdown "$WORK/cold.md" \
        -n "run noop (empty cache: compiles)" "$RUN noop")
    (cd "$FIXTURES" && "$RUN" noop) # leave the cache warm

    write_report
    say "wrote ${OUT#"$ROOT"/}"
}

write_report() {
    local cpu cores kernel
    cpu="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    cores="$(nproc)"
    kernel="$(uname -sr)"
    RUN_VERSION="$("$RUN" --version)" \
    JUST_VERSION="$(just --version)" \
    MAKE_VERSION="$(make --version | head -1)" \
    HYPERFINE_VERSION="$(hyperfine --version)" \
    RUSTC_VERSION="$(rustc --version)" \
    MACHINE="$cpu, $cores cores, $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), $kernel" \
    WORK="$WORK" RUNS="$RUNS" DATE="$(date -u +%Y-%m-%d)" \
        python3 - "$OUT" <<'PY'
import json, os, statistics, sys

work = os.environ["WORK"]
out = sys.argv[1]

def load(name):
    return {r["command"]: r for r in json.load(open(f"{work}/{name}.json"))["results"]}

def table(name):
    return open(f"{work}/{name}.md").read().strip()

ms = lambda s: s * 1000
lst, noop, cold = load("list"), load("noop"), load("cold")
rss = [int(x) for x in open(f"{work}/rss.txt").read().split()]
rss_median, rss_max = statistics.median(rss) / 1024, max(rss) / 1024

run_list = lst["run --list"]["mean"]
just_list = lst["just --list"]["mean"]
run_noop = noop["run noop (plugin, cached)"]["mean"]
just_noop = noop["just noop (@:)"]["mean"]

def verdict(ok):
    return "**met**" if ok else "**MISSED**"

targets = [
    ("`run --list` no slower than `just --list`",
     f"{ms(run_list):.1f} ms vs {ms(just_list):.1f} ms ({run_list / just_list:.2f}x)",
     run_list <= just_list),
    ("cached no-op plugin task under 10 ms",
     f"{ms(run_noop):.1f} ms", run_noop < 0.010),
    ("cached no-op plugin task within 3x of `just noop`",
     f"{run_noop / just_noop:.2f}x ({ms(run_noop):.1f} ms vs {ms(just_noop):.1f} ms)",
     run_noop <= 3 * just_noop),
    ("peak RSS of the no-op plugin task under 60 MB",
     f"{rss_median:.1f} MiB median, {rss_max:.1f} MiB max of {len(rss)} runs",
     rss_max * 1024 * 1024 < 60e6),
]
missed = [t for t in targets if not t[2]]

md = f"""# Benchmarks

```sh
bash benches/run.sh     # or: run bench
```

`benches/run.sh` compares `run` with [just](https://github.com/casey/just) and
GNU make on the same 40 tasks (`benches/fixtures/`: `tasks.toml`, `justfile`,
`Makefile`), using a release build of `run` (`target/bench/release/run`), and
rewrites this page. Numbers below are from {os.environ["DATE"]}.

## Machine and versions

- {os.environ["MACHINE"]}
- {os.environ["RUN_VERSION"]} (release build), {os.environ["RUSTC_VERSION"]}
- {os.environ["JUST_VERSION"]}, {os.environ["MAKE_VERSION"]}
- {os.environ["HYPERFINE_VERSION"]}, `-N` (no intermediate shell), 10 warm-up runs, {os.environ["RUNS"]} runs each

Absolute times depend on the machine and on what else it is doing; the
relative column is the one to compare.

## Targets

| target | measured | |
| --- | --- | --- |
""" + "".join(f"| {name} | {value} | {verdict(ok)} |\n" for name, value, ok in targets)

if missed:
    md += "\nMissed: " + "; ".join(t[0] for t in missed) + ".\n"
else:
    md += "\nAll targets are met.\n"

md += f"""
## Listing 40 tasks

`run --list` parses and validates the whole tasks.toml and prints it grouped,
with each plugin task's parameters (5 built-in and 1 path plugin tasks: their
descriptors come from the cache, the path plugin's digest from its file stamp);
`just --list` does the same with its justfile. make has no listing, so
`make -s noop` (read the 40-target Makefile, run one no-op target) stands in.

{table("list")}

## A no-op task

`run noop` runs the test fixture plugin (`tests/programs`, `config = {{ mode =
"noop" }}`, referenced by path) with a warm compile cache: start, parse the 40
tasks, plan, load the precompiled component, instantiate it in a fresh sandbox,
call `describe` and `run`. `just noop` and `make noop` run a recipe `@:`, which
starts `sh`; `just empty` is a recipe with no body, which starts nothing.

{table("noop")}

## Memory

Peak resident set size of `run noop` (cached), from `/usr/bin/time -v`
("Maximum resident set size"), over {len(rss)} runs: median
{rss_median:.1f} MiB, max {rss_max:.1f} MiB.

## First run

With an empty cache the plugin is compiled by Cranelift first; this happens
once per plugin version (the cache is keyed by the component's sha256):

{table("cold")}

## Commands

Run in `benches/fixtures/`, with `RUN_CACHE_DIR=target/bench/run-cache`:

```sh
hyperfine -N --warmup 10 --runs {os.environ["RUNS"]} 'run --list' 'just --list' 'make -s noop'
hyperfine -N --warmup 10 --runs {os.environ["RUNS"]} 'run noop' 'just noop' 'make -s noop' 'just empty'
/usr/bin/time -v run noop     # "Maximum resident set size", 20 times
hyperfine -N --runs 3 --prepare 'rm -rf $RUN_CACHE_DIR' 'run noop'
```
"""
# Sections measured by other scripts (benches/container-stream.sh) are kept:
# each writes benches/results/NAME.md, appended here.
results = os.path.join(os.path.dirname(out), "..", "benches", "results")
if os.path.isdir(results):
    for name in sorted(os.listdir(results)):
        if name.endswith(".md"):
            md += "\n" + open(os.path.join(results, name)).read()
open(out, "w").write(md)
print(md)
PY
}

main "$@"
