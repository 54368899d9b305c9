#!/usr/bin/env bash
# Masking throughput of the sanitize engine on a large plain-format pg_dump,
# three ways, on the same file:
#   native  plugins/sanitize/engine/examples/mask.rs: the engine compiled for the host
#   wasm    `run sanitize`: the same engine as the built-in plugin, in wasmtime,
#           reading and writing through WASI (everything a user runs)
#   sed     `sed -E` replacing emails, phone numbers and dates by regex: the
#           floor a shell script gets, without keys, per-column rules,
#           uniqueness, PII checks or sampling
# Both engine runs make two passes (learn the schema, then rewrite); the
# MB/s figures are dump bytes / wall time. Writes benches/results/sanitize.md
# and the "Sanitize" section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
# The runner's dependencies (wasmtime) are optimised in dev builds and the
# plugin is always built --release, so the dev binary measures the guest
# fairly without a second full release build of wasmtime.
RUN=${RUN:-$ROOT/target/debug/run}

echo "bench: building run and the native engine"
cargo build -p runner >/dev/null 2>&1 || cargo build -p runner
cargo build --release -p sanitize-engine --example mask >/dev/null 2>&1 ||
  cargo build --release -p sanitize-engine --example mask
NATIVE=$ROOT/target/release/examples/mask

WORK=$(mktemp -d /var/tmp/run-bench-sanitize.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir -p in out policy

echo "bench: writing a $ROWS-customer dump"
python3 - "$ROWS" > in/shop.sql <<'PY'
import random, sys
rows = int(sys.argv[1])
rnd = random.Random(7)
first = ["Wilhelmina", "Bartholomew", "Gwendolyn", "Thaddeus", "Ottilie", "Cornelius"]
last = ["Featherstone", "Quigglesby", "Marchbanks", "Ravensworth", "Pennywhistle"]
out = sys.stdout
out.write("--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\n\n")
out.write("CREATE TABLE public.customers (\n    id integer NOT NULL,\n    email text NOT NULL,\n"
          "    full_name text NOT NULL,\n    phone text,\n    birth_date date,\n    plan text NOT NULL,\n"
          "    note text\n);\n\n")
out.write("COPY public.customers (id, email, full_name, phone, birth_date, plan, note) FROM stdin;\n")
for i in range(1, rows + 1):
    f, l = rnd.choice(first), rnd.choice(last)
    out.write(f"{i}\t{f.lower()}.{l.lower()}{i}@corp-mail.test\t{f} {l}\t+1 (415) 555-{i % 10000:04d}\t"
              f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}\t{'pro' if i % 3 == 0 else 'free'}\t"
              f"called about order {i}, prefers email\n")
out.write("\\.\n\n\nALTER TABLE ONLY public.customers\n    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);\n\n")
out.write("ALTER TABLE ONLY public.customers\n    ADD CONSTRAINT customers_email_key UNIQUE (email);\n\n")
out.write("--\n-- PostgreSQL database dump complete\n--\n\n")
PY
BYTES=$(stat -c %s in/shop.sql)
MB=$(python3 -c "print(f'{$BYTES / 1e6:.0f}')")

cat > policy/sanitize.toml <<'TOML'
[columns]
"customers.email" = "email"
"customers.full_name" = "name"
"customers.phone" = "phone"
"customers.birth_date" = { rule = "date-shift", days = 90 }
"customers.plan" = "keep"
"customers.note" = "text"
TOML
cat > tasks.toml <<'TOML'
[tasks.sanitize]
plugin = "sanitize"
config = { input = "in/shop.sql", dir = "out", policy = "policy/sanitize.toml" }
allow = { read = ["in", "policy"], write = ["out"], env = ["SANITIZE_KEY", "SANITIZED"] }
TOML
export SANITIZE_KEY=bench-key-0123456789abcdef SANITIZED=1
export RUN_CACHE_DIR=$WORK/cache

# Wall time of one command, in seconds.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

best() { printf '%s\n' "$@" | sort -n | head -1; }

"$RUN" sanitize >/dev/null # compile the component once (cached)
native=() wasm=() sed_=()
for _ in $(seq "$RUNS"); do
  echo "bench: run"
  native+=("$(seconds "$NATIVE" policy/sanitize.toml in/shop.sql out/native.sql)")
  wasm+=("$(seconds "$RUN" sanitize)")
  sed_+=("$(seconds sh -c "sed -E -e 's/[a-z0-9.]+@[a-z0-9.-]+/user@example.com/g' \
    -e 's/\+1 \([0-9]{3}\) [0-9]{3}-[0-9]{4}/+1 (555) 555-0100/g' \
    -e 's/\t(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}\t/\t2000-01-01\t/' in/shop.sql > out/sed.sql")")
done
cmp -s out/native.sql out/shop.sql || { echo "bench: the native and wasm outputs differ"; exit 1; }

# Peak resident memory (KiB), from GNU time: the dump streams, so this stays
# far below the dump's size.
peak_kib() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ { print $2 }'; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)"; exit 1; }
echo "bench: peak memory"
native_kib=$(peak_kib "$NATIVE" policy/sanitize.toml in/shop.sql out/native.sql)
wasm_kib=$(peak_kib "$RUN" sanitize)

RESULT=$ROOT/benches/results/sanitize.md
mkdir -p "$(dirname "$RESULT")"
python3 - "$BYTES" "$ROWS" "$RUNS" "$(best "${native[@]}")" "$(best "${wasm[@]}")" "$(best "${sed_[@]}")" \
  "$(nproc)" "$(date -u +%F)" "$native_kib" "$wasm_kib" > "$RESULT" <<'PY'
import sys
size, rows, runs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
native, wasm, sed = map(float, sys.argv[4:7])
cores, day = sys.argv[7], sys.argv[8]
native_kib, wasm_kib = int(sys.argv[9]), int(sys.argv[10])
mb = size / 1e6
print(f"## Sanitize: masking throughput\n")
print(f"`bash benches/sanitize.sh` on {day} ({cores} shared cores): a generated plain pg_dump of "
      f"{rows} customers ({mb:.0f} MB; email, name, phone, birth date and free text masked, "
      f"plan kept, a unique email), best of {runs} runs. MB/s is dump size / wall time; the "
      f"engine makes two passes (learn the schema, rewrite), sed one.\n")
print("| | wall [s] | MB/s | relative to native |")
print("| --- | ---: | ---: | ---: |")
for name, t in [("native engine (`examples/mask`)", native),
                ("`run sanitize` (wasm plugin)", wasm),
                ("`sed -E` (3 regexes, no rules/keys/uniqueness)", sed)]:
    print(f"| {name} | {t:.2f} | {mb / t:.0f} | {t / native:.2f}x |")
print(f"\nThe wasm plugin runs the same code at {native / wasm * 100:.0f}% of native speed; "
      f"the outputs of the two are byte-identical (checked by the script).")
print(f"\nPeak resident memory (GNU time): native {native_kib / 1024:.0f} MiB, "
      f"`run sanitize` {wasm_kib / 1024:.0f} MiB (the whole runner, wasmtime included), "
      f"for a {mb:.0f} MB dump: the dump streams through, it is never held.")
PY
cat "$RESULT"

# Replace (or add) the section in docs/benchmarks.md.
python3 - "$ROOT/docs/benchmarks.md" "$RESULT" <<'PY'
import re, sys
doc, section = open(sys.argv[1]).read(), open(sys.argv[2]).read().rstrip() + "\n"
pattern = re.compile(r"^## Sanitize: masking throughput\n.*?(?=^## |\Z)", re.S | re.M)
doc = pattern.sub(lambda _: section + "\n", doc) if pattern.search(doc) else doc.rstrip() + "\n\n" + section
open(sys.argv[1], "w").write(doc)
PY
echo "bench: wrote $RESULT and docs/benchmarks.md ($MB MB dump)"
