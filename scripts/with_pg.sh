#!/bin/bash
# Runs a command with DATABASE_URL set: as given when already set, otherwise
# pointing at a temporary PostgreSQL (scripts/pg_local.sh) that lives only as
# long as the command. Exits with the command's status.
#   scripts/with_pg.sh build/check_ltvd
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: with_pg.sh CMD [ARGS...]" >&2; exit 2; }
if [ -n "${DATABASE_URL:-}" ]; then
    exec "$@"
fi

here=$(cd "$(dirname "$0")" && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ltvd_pg.XXXXXX") || exit 1
cleanup() {
    "$here/pg_local.sh" stop "$tmp" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

out=$("$here/pg_local.sh" start "$tmp") || { echo "with_pg: could not start PostgreSQL" >&2; exit 1; }
DATABASE_URL=$(printf '%s\n' "$out" | sed -n 's/^DATABASE_URL=//p')
[ -n "$DATABASE_URL" ] || { echo "with_pg: pg_local.sh printed no URL" >&2; exit 1; }
export DATABASE_URL
"$@"
