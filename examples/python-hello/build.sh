#!/usr/bin/env bash
# Builds the Python example plugin into OUTDIR/hello_py.wasm (default: this
# directory) with componentize-py, from app.py and the repository's wit/.
#
#   bash examples/python-hello/build.sh [OUTDIR]
#
# Uses `componentize-py` from PATH when it is the pinned version
# (requirements.txt); otherwise installs it into .venv/ here (once; later runs
# reuse it). Needs python3 >= 3.9 with the venv module. Idempotent: when
# app.py, wit/, requirements.txt and this script are unchanged since the last
# build into OUTDIR, it does nothing (FORCE=1 rebuilds anyway).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit="$here/../../wit"
out="${1:-$here}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# Parallel builds (e.g. several test processes) share .venv: one at a time.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$here/.build.lock"
    flock 9
fi

# What the component is built from. componentize-py's output differs from
# build to build (it snapshots the interpreter's heap), so skipping unchanged
# builds also keeps `run`'s compiled-component cache from filling up.
digest() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi
}
inputs="$(cat "$here/app.py" "$here/requirements.txt" "$here/build.sh" "$wit"/*.wit | digest | cut -d' ' -f1)"
stamp="$out/.hello_py.wasm.inputs"
if [ "${FORCE:-}" != 1 ] && [ -f "$out/hello_py.wasm" ] && [ -f "$stamp" ] &&
    [ "$(cat "$stamp")" = "$inputs" ]; then
    echo "$out/hello_py.wasm is up to date" >&2
    exit 0
fi

pinned="$(sed -n 's/^componentize-py==\([^[:space:]]*\).*/\1/p' "$here/requirements.txt")"
version_of() { "$1" --version 2>/dev/null | awk '{print $2}'; }

cpy=""
if command -v componentize-py >/dev/null 2>&1 &&
    [ "$(version_of componentize-py)" = "$pinned" ]; then
    cpy="componentize-py"
elif [ -x "$here/.venv/bin/componentize-py" ] &&
    [ "$(version_of "$here/.venv/bin/componentize-py")" = "$pinned" ]; then
    cpy="$here/.venv/bin/componentize-py"
else
    echo "installing componentize-py $pinned into $here/.venv" >&2
    python="$(command -v python3 || command -v python)"
    "$python" -m venv --clear "$here/.venv"
    "$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$here/requirements.txt"
    cpy="$here/.venv/bin/componentize-py"
fi

# componentize-py runs the app once at build time and leaves __pycache__ next
# to it, so build from a copy. The component is written beside its final name
# and moved into place, so a reader never sees half a file.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$here/app.py" "$stage/"
"$cpy" --quiet -d "$wit" -w plugin componentize -p "$stage" app \
    -o "$out/.hello_py.wasm.tmp"
mv -f "$out/.hello_py.wasm.tmp" "$out/hello_py.wasm"
echo "$inputs" >"$stamp"
echo "built $out/hello_py.wasm ($(wc -c <"$out/hello_py.wasm") bytes) with componentize-py $pinned" >&2
