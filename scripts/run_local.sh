#!/bin/bash
# `make run`: serves ltvd against DATABASE_URL, or, when it is not set,
# against a PostgreSQL of the project's own in .ltvd/pg (created on the first
# run, reused by the next ones; stop it with `scripts/pg_local.sh stop
# .ltvd/pg`). Applies the migrations, then serves on LTVD_LISTEN (default
# 127.0.0.1:8080) until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then
    out=$(scripts/pg_local.sh start .ltvd/pg)
    DATABASE_URL=$(printf '%s\n' "$out" | sed -n 's/^DATABASE_URL=//p')
    [ -n "$DATABASE_URL" ] || { echo "run: no database URL from pg_local.sh" >&2; exit 1; }
    export DATABASE_URL
    echo "run: local PostgreSQL in .ltvd/pg (stop: scripts/pg_local.sh stop .ltvd/pg)" >&2
fi
./ltvd migrate
echo "run: serving on http://${LTVD_LISTEN:-127.0.0.1:8080} (Ctrl-C stops)" >&2
exec ./ltvd serve
