#!/bin/sh
# `run ha-migrate`: applies migrations/*.sql, in name order, to the HA stack's
# `demo` database through HAProxy (psql in ha-client), each file once: a file
# and its row in `schema_migrations` commit in one transaction, so a failed
# file leaves nothing half-applied and is tried again next time.
#   HA_CLIENT=ha-client   the client container (another Compose project's)
set -eu
client=${HA_CLIENT:-ha-client}
psql() { docker exec -i "$client" psql -v ON_ERROR_STOP=1 -q "$@"; }

if [ -z "$(psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'demo'")" ]; then
    psql -c 'CREATE DATABASE demo'
    echo "created database demo"
fi
psql -d demo -c 'SET client_min_messages = warning' -c 'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())'
applied=$(psql -d demo -tAc 'SELECT name FROM schema_migrations')
count=0
for f in migrations/*.sql; do
    [ -e "$f" ] || { echo "no migrations/*.sql to apply"; exit 0; }
    name=${f##*/}
    if printf '%s\n' "$applied" | grep -qxF "$name"; then
        continue
    fi
    { cat "$f"; printf "\nINSERT INTO schema_migrations (name) VALUES (:'name');\n"; } |
        psql -d demo --single-transaction -v name="$name" ||
        { echo "migration $name failed: nothing of it was applied" >&2; exit 1; }
    echo "applied $name"
    count=$((count + 1))
done
echo "$count migration(s) applied; $(psql -d demo -tAc 'SELECT count(*) FROM schema_migrations') in schema_migrations"
