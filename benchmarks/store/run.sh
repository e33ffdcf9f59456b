#!/usr/bin/env bash
# Runs store-bench against a throw-away Postgres 15 (initdb + pg_ctl as the postgres user,
# free port, temp dir; removed on exit), or against DATABASE_URL when it is set.
# Usage: run.sh PATH/TO/store-bench [bench flags…]
set -euo pipefail
bench=$1; shift
if [[ -z ${DATABASE_URL:-} ]]; then
    bin=/usr/lib/postgresql/15/bin
    dir=$(mktemp -d /tmp/naksha-bench-pg-XXXXXX)
    chown postgres:postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cleanup() { runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
    trap cleanup EXIT
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >/dev/null
    # Durable settings (fsync on): the numbers are what a real deployment would see on this disk.
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_wal_size=4GB" start >/dev/null </dev/null
    export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
fi
"$bench" "$@"
