#!/usr/bin/env bash
# Masking throughput of the sanitize engine on a realistically shaped
# plain-format pg_dump (the generated shop of
# plugins/sanitize/engine/tests/support/shop.rs: customers, addresses,
# orders partitioned by year, items, payments, support tickets; names,
# emails, phones, cards, IBANs, IPs in their columns and inside free text),
# three ways, on the same file, in the same run:
#   native  plugins/sanitize/engine/examples/mask.rs: the engine compiled for the host
#   wasm    `run sanitize` (release build): the same engine as the built-in
#           plugin, in wasmtime, writing through the host's `files`
#           interface, which computes the SHA-256 for the manifest on a
#           thread of its own
#   sed     `sed -E` with three regexes (emails, phone-like digit runs, card
#           numbers): the floor a shell script gets, without keys, rules per
#           column, checksums, uniqueness, PII checks or sampling
# The policy is the one a user writes from the column names (the free-text
# columns get none: they are searched). The engine makes two passes (learn
# the schema, rewrite), sed one. MB/s is dump bytes / wall time; CPU
# seconds (user + system) are given too, since the machine is shared.
# Writes benches/results/sanitize.md and the "Sanitize" section of
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CUSTOMERS=${CUSTOMERS:-250000}
RUNS=${RUNS:-3}
RUN=${RUN:-$ROOT/target/release/run}

[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)"; exit 1; }
echo "bench: building run (release) and the native engine"
if [ "$RUN" = "$ROOT/target/release/run" ]; then
  cargo build --release -p runner >/dev/null 2>&1 || cargo build --release -p runner
fi
cargo build --release -p sanitize-engine --example mask --example shop >/dev/null 2>&1 ||
  cargo build --release -p sanitize-engine --example mask --example shop
NATIVE=$ROOT/target/release/examples/mask

WORK=$(mktemp -d /var/tmp/run-bench-sanitize.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir -p in out policy

echo "bench: writing a shop dump of $CUSTOMERS customers"
"$ROOT/target/release/examples/shop" "$CUSTOMERS" > in/shop.sql
BYTES=$(stat -c %s in/shop.sql)

cat > policy/sanitize.toml <<'TOML'
[columns]
"customers.first_name" = "first-name"
"customers.last_name" = "last-name"
"customers.email" = "email"
"customers.phone" = "phone"
"customers.birth_date" = { rule = "date-shift", days = 60 }
"customers.password_hash" = "hash"
"customers.last_login_ip" = "ip"
"addresses.line1" = "address"
"addresses.line2" = "address"
"addresses.postcode" = "null"
"payments.card_number" = "card"
"payments.iban" = "iban"
"payments.payer_ip" = "ip"
"products.name" = "keep"
TOML
cat > tasks.toml <<'TOML'
[tasks.sanitize]
plugin = "sanitize"
config = { input = "in/shop.sql", dir = "out", policy = "policy/sanitize.toml" }
allow = { read = ["in", "policy"], write = ["out"], env = ["SANITIZE_KEY", "SANITIZED"] }
TOML
export SANITIZE_KEY=bench-key-0123456789abcdef SANITIZED=1
export RUN_CACHE_DIR=$WORK/cache

# "wall user+system maxrss_kib" of one command.
measure() {
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr" ||
    { cat "$WORK/stderr"; exit 1; }
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$WORK/time"
}

SED_SCRIPT='s/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/user@example.com/g
s/[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{3,4}/0000 0000 0000 0000/g
s/\+?[0-9(][0-9 ().-]{6,}[0-9]/555-0100/g'

"$RUN" sanitize >/dev/null # compile the component once (cached)
native=() wasm=() sed_=()
for i in $(seq "$RUNS"); do
  echo "bench: run $i of $RUNS"
  native+=("$(measure "$NATIVE" policy/sanitize.toml in/shop.sql out/native.sql)")
  wasm+=("$(measure "$RUN" sanitize)")
  sed_+=("$(measure sh -c "sed -E -e '$SED_SCRIPT' in/shop.sql > out/sed.sql")")
done
cmp -s out/native.sql out/shop.sql || { echo "bench: the native and wasm outputs differ"; exit 1; }

RESULT=$ROOT/benches/results/sanitize.md
mkdir -p "$(dirname "$RESULT")"
python3 - "$BYTES" "$CUSTOMERS" "$RUNS" "$(nproc)" "$(date -u +%F)" \
  "$(printf '%s,' "${native[@]}")" "$(printf '%s,' "${wasm[@]}")" "$(printf '%s,' "${sed_[@]}")" \
  > "$RESULT" <<'PY'
import sys
size, customers, runs, cores, day = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def runs_of(arg):
    return [tuple(map(float, r.split())) for r in arg.strip(",").split(",")]
native, wasm, sed = (min(runs_of(a)) for a in sys.argv[6:9])  # best wall time
mb = size / 1e6
print("## Sanitize: masking throughput\n")
print(f"`bash benches/sanitize.sh` on {day} ({cores} shared cores): the generated shop dump "
      f"({customers} customers, {mb:.0f} MB: 9 tables, orders partitioned by year; names, emails, "
      f"phones, cards, IBANs and IPs in their columns and inside notes and tickets), the policy "
      f"a user writes from the column names (14 rules; every other text column searched for "
      f"personal data), best of {runs} runs each, run one after the other. MB/s is dump size / "
      f"wall time; CPU is user + system seconds. The engine reads the dump twice (schema, "
      f"rewrite), sed once.\n")
print("| | wall [s] | MB/s | CPU [s] | peak RSS [MiB] | vs sed (wall) | vs native (wall) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, (wall, cpu, rss) in [("native engine (`examples/mask`)", native),
                               ("`run sanitize` (wasm plugin, release runner)", wasm),
                               ("`sed -E`, 3 regexes (no keys, rules, checks)", sed)]:
    print(f"| {name} | {wall:.2f} | {mb / wall:.0f} | {cpu:.2f} | {rss / 1024:.0f} | "
          f"{sed[0] / wall:.1f}x | {native[0] / wall:.2f}x |")
print(f"\n`run sanitize` is {sed[0] / wasm[0]:.1f}x as fast as sed and runs at "
      f"{native[0] / wasm[0] * 100:.0f}% of the native engine's speed (wall; "
      f"{native[1] / wasm[1] * 100:.0f}% by CPU time); the outputs of the two are "
      f"byte-identical (checked by the script).")
PY
# The profile behind the numbers (measured by hand, see the text).
cat "$ROOT/benches/sanitize-profile.md" >> "$RESULT"
cat "$RESULT"

# Replace (or add) the section in docs/benchmarks.md.
python3 - "$ROOT/docs/benchmarks.md" "$RESULT" <<'PY'
import re, sys
doc, section = open(sys.argv[1]).read(), open(sys.argv[2]).read().rstrip() + "\n"
pattern = re.compile(r"^## Sanitize: masking throughput\n.*?(?=^## |\Z)", re.S | re.M)
doc = pattern.sub(lambda _: section + "\n", doc) if pattern.search(doc) else doc.rstrip() + "\n\n" + section
open(sys.argv[1], "w").write(doc)
PY
echo "bench: wrote $RESULT and docs/benchmarks.md"
