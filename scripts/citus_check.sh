#!/bin/bash
# Checks ltvd's schema and statements against a Citus coordinator of yours
# (docs/scaling.md). Builds nothing and installs nothing.
#
#   CITUS_URL=postgresql://user@coordinator:5432/scratch scripts/citus_check.sh
#
# CITUS_URL names an EMPTY scratch database on the coordinator whose
# citus extension is created (CREATE EXTENSION citus) and whose workers are
# added (citus_add_node); without CITUS_URL, DATABASE_URL is used. It
#  1. runs `ltvd migrate` ($LTVD_BIN, default ./ltvd or build/ltvd), which
#     applies the migrations and distributes the tables, twice (the second
#     run must change nothing);
#  2. shows how each table is distributed (citus_tables);
#  3. runs each "-- check:" block of scripts/citus_statements.sql (the
#     store's statements with tenant_id) in its own session, after the setup
#     block, and prints ok or FAIL with Citus's error.
# The setup writes rows of the tenants default and shop-b: the script
# refuses a database whose transactions table holds rows. On plain
# PostgreSQL every check passes too (the distribution is skipped).
# Exit status: 0 when every check passed, 1 otherwise, 2 on a usage error.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(dirname "$here")
url=${CITUS_URL:-${DATABASE_URL:-}}
[ -n "$url" ] || { echo "citus_check: set CITUS_URL (or DATABASE_URL)" >&2; exit 2; }
bin=${LTVD_BIN:-}
if [ -z "$bin" ]; then
    for b in "$root/ltvd" "$root/build/ltvd"; do [ -x "$b" ] && bin=$b && break; done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "citus_check: no ltvd binary (set LTVD_BIN)" >&2
    exit 2
fi
command -v psql >/dev/null || { echo "citus_check: psql is needed" >&2; exit 2; }
sql=$here/citus_statements.sql

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" "$@"; }

rows=$(q -c "SELECT count(*) FROM transactions" 2>/dev/null || echo 0)
if [ "$rows" != "0" ]; then
    echo "citus_check: transactions holds $rows rows: give an empty scratch database" >&2
    exit 2
fi

fail=0
for run in 1 2; do
    if ! out=$(DATABASE_URL=$url LTVD_MIGRATIONS_DIR=$root/migrations "$bin" migrate 2>&1); then
        echo "FAIL ltvd migrate (run $run): $out"
        exit 1
    fi
    echo "ok   ltvd migrate (run $run): $(printf '%s\n' "$out" | grep -c 'citus: ') tables distributed"
done

if [ "$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'citus'")" = "1" ]; then
    echo "citus $(q -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"), $(q -c "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid > 0") worker(s)"
    q -c "SELECT table_name || ': ' || citus_table_type || ', by ' || distribution_column
                 || ', colocation ' || colocation_id || ', ' || shard_count || ' shard(s)'
            FROM citus_tables ORDER BY colocation_id, table_name::text" | sed 's/^/     /'
else
    echo "no citus extension in this database: plain PostgreSQL (nothing distributed)"
fi

# The blocks of the statements file: "setup" first, then each check, each
# after the definition of pg_temp.expect (see the file's head).
expect_fn="CREATE FUNCTION pg_temp.expect(ok boolean, what text) RETURNS void
 LANGUAGE plpgsql AS \$\$ BEGIN IF ok IS NOT TRUE THEN
 RAISE EXCEPTION 'unexpected answer: not true that %', what; END IF; END \$\$;"
block() { # MARKER: the lines of the block under that marker line
    printf '%s\n' "$expect_fn"
    awk -v want="$1" '
        /^-- (setup|check: )/ { on = ($0 == want); next }
        on' "$sql"
}
if ! out=$(block "-- setup" | q 2>&1); then
    echo "FAIL setup: $out"
    exit 1
fi
n=0
while IFS= read -r marker; do
    name=${marker#-- check: }
    n=$((n + 1))
    if out=$(block "$marker" | q 2>&1 >/dev/null); then
        echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name"
        printf '%s\n' "$out" | grep -E 'ERROR|DETAIL|HINT' | grep -v 'only locally' | sed 's/^/     /'
    fi
done < <(grep '^-- check: ' "$sql")

q -c "DELETE FROM tenants WHERE id = 'shop-b'" \
  -c "DELETE FROM transactions WHERE tenant_id = 'default'" \
  -c "DELETE FROM customer_days WHERE tenant_id = 'default'" >/dev/null 2>&1
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
