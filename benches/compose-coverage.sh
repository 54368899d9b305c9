#!/usr/bin/env bash
# How many real Compose files quickstart plans (`run --plan`), over any
# directory of Compose projects: each compose.y(a)ml / docker-compose.y(a)ml
# under DIR is planned as a task of its own, granted what a user running that
# project would grant it (its directory to read and write, every container,
# image, network, volume and host port). Prints each file's outcome and the
# count. The directory is copied into a temporary project; nothing is kept.
#
#   bash benches/compose-coverage.sh DIR [RUN_BINARY]   # default: target/debug/run
#
# docs/quickstart.md has the figures for the Compose reference
# implementation's e2e fixtures (tests/quickstart_fixtures.rs) and for a
# public collection of sample projects, measured with this script.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$(realpath "${1:?usage: compose-coverage.sh DIR [RUN_BINARY]}")"
RUN="$(realpath "${2:-$ROOT/target/debug/run}")"
[ -x "$RUN" ] || { echo "no run binary at $RUN" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/project"
cp -r "$DIR" "$WORK/project/fx"
rm -rf "$WORK/project/fx/.git"
cd "$WORK/project"
mapfile -t files < <(find fx \( -name compose.yaml -o -name compose.yml -o -name docker-compose.yaml -o -name docker-compose.yml \) -type f | sort)
for i in "${!files[@]}"; do
    printf '[tasks.f%s]\nplugin = "quickstart"\nconfig = { file = "%s" }\nallow = { read = ["fx"], write = ["fx"], containers = ["*"], images = ["*"], networks = ["*"], volumes = ["*"], ports = ["1-65535"], namespaces = ["container-network"] }\n\n' \
        "$i" "${files[$i]}"
done > tasks.toml

planned=0
for i in "${!files[@]}"; do
    if out=$("$RUN" --plan "f$i" 2>&1) && grep -q "would start project" <<<"$out"; then
        planned=$((planned + 1))
        echo "PLANNED  ${files[$i]#fx/}"
    else
        why=$(grep -m1 -A3 "error:" <<<"$out" | tr '\n' ' ' | sed 's/.*(plugin `quickstart`): //')
        echo "REFUSED  ${files[$i]#fx/}: $why"
    fi
done
echo "$planned of ${#files[@]} Compose files planned"
