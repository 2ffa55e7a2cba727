#!/bin/bash
# The refit's back-test at BENCH_CUSTOMERS customers (default 1000000, about
# 5 transactions each, BG/NBD-like and seeded as bench/acquisition.sh's,
# stored as transactions and their days): the time of the back-test's two
# statements (src/store/diagnostics.c agg_sql and days_sql over
# customer_days, three runs each in psql) and of the whole back-test in
# `ltvd serve` with the default bounds (its log: the read through the
# cursor, the calibration fits, figures and the stored JSON; the server's
# resident memory after it), beside the refit's own time. Timings, not a
# test.
# Needs psql and curl:
#   bench/diagnostics.sh       (LTVD_BIN=./ltvd, a temporary PostgreSQL)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BENCH_WHO=diagnostics
# shellcheck source=bench/lib.sh
. bench/lib.sh
LTVD_BIN=${LTVD_BIN:-./ltvd}
CUSTOMERS=${BENCH_CUSTOMERS:-1000000}
AS_OF=1998-06-30

tmp_init diagnostics
pg_start
DATABASE_URL=$DB "$LTVD_BIN" migrate >/dev/null || die "ltvd migrate failed"
t0=$(date +%s.%N)
psql -X -q -v ON_ERROR_STOP=1 "$DB" -c "SELECT setseed(0.42)" -c "
INSERT INTO transactions (tenant_id, customer_id, txn_id, occurred_at, amount)
WITH c AS (
  SELECT g, g % 365 AS f,
         1 + floor(-ln(1 - random()) * 40)::int AS gap,
         least(30, floor(ln(1 - random()) / ln(1 - (0.05 + 0.6 * random() ^ 2))))::int AS k,
         10 + floor(random() * 90) AS base
  FROM generate_series(1, $CUSTOMERS) g)
SELECT 'default', 'c' || lpad(g::text, 11, '0'), 't' || j,
       (date '1997-01-01' + f + j * gap)::timestamp AT TIME ZONE 'UTC', base + j
FROM c, generate_series(0, k) j
WHERE f + j * gap <= 545" -c "
INSERT INTO customer_days (tenant_id, customer_id, day, amount, n_transactions)
SELECT tenant_id, customer_id, (occurred_at AT TIME ZONE 'UTC')::date, sum(amount), count(*)
FROM transactions GROUP BY 1, 2, 3" -c "VACUUM ANALYZE" >/dev/null ||
    die "loading $CUSTOMERS customers failed"
TXNS=$(psql -X -At "$DB" -c "SELECT count(*) FROM transactions")
say "$CUSTOMERS customers, $TXNS transactions loaded in $(calc %.1f "$(date +%s.%N) - $t0") s"

echo
echo "# the refit's back-test, $CUSTOMERS customers, $TXNS transactions, $(nproc) cores"
# the split the server makes: a quarter of the history (first purchase to
# as_of), at most 180 days, held out
CAL=$(psql -X -At "$DB" -c "SELECT (date '$AS_OF' - least(180, (date '$AS_OF' - min(day)) / 4))
                                    - date '1970-01-01' FROM customer_days")
OBS=$(psql -X -At "$DB" -c "SELECT date '$AS_OF' - date '1970-01-01'")
for run in 1 2 3; do
    out=$(psql -X -q "$DB" <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tr '\n' ' '
-- as the server's cursor plans them (store/diagnostics.c PLAN_SETTINGS; no
-- parallel workers for a cursor)
SET enable_indexscan = off;
SET max_parallel_workers_per_gather = 0;
\timing on
\o /dev/null
SELECT min(day) - DATE '1970-01-01',
       max(day) FILTER (WHERE day <= DATE '1970-01-01' + $CAL) - DATE '1970-01-01',
       count(*) FILTER (WHERE day <= DATE '1970-01-01' + $CAL),
       LEAST((coalesce(sum(amount) FILTER (WHERE day <= DATE '1970-01-01' + $CAL), 0)
              - (min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2]) * 10000,
             9223372036854775807)::bigint,
       count(*) FILTER (WHERE day > DATE '1970-01-01' + $CAL),
       LEAST((coalesce(sum(amount) FILTER (WHERE day > DATE '1970-01-01' + $CAL), 0)) * 10000,
             9223372036854775807)::bigint,
       array_agg(day - DATE '1970-01-01') FILTER (WHERE day > DATE '1970-01-01' + $CAL)
  FROM customer_days
 WHERE tenant_id = 'default' AND day <= DATE '1970-01-01' + $OBS
 GROUP BY customer_id
HAVING min(day) <= DATE '1970-01-01' + $CAL;
SELECT day - DATE '1970-01-01', count(*)
  FROM customer_days
 WHERE tenant_id = 'default' AND day <= DATE '1970-01-01' + $CAL
 GROUP BY day;
SQL
    )
    read -r per_customer per_day <<<"$out"
    echo "  the read (psql, run $run): per customer $per_customer ms, per day $per_day ms"
done
ltvd_start "$DB" LTVD_AS_OF="$AS_OF" LTVD_PERIOD=week LTVD_REFIT_INTERVAL_S=604800 \
    LTVD_REFIT_AFTER_TXNS=1000000000 ||
    die "ltvd serve did not start"
deadline=$((SECONDS + 600))
until grep -q "back-test of snapshot" "$tmp/ltvd.log"; do
    [ $SECONDS -lt $deadline ] || die "no back-test after 600 s"
    sleep 0.2
done
echo "  the server (its log):"
grep -oE "refit: done in .*|back-test of snapshot .*" "$tmp/ltvd.log" | sed 's/^/    /'
echo "  the server's memory: $(awk '/^VmHWM|^VmRSS/ {printf "%s %.0f MB ", $1, $2 / 1024}' \
    "/proc/$LTVD_PID/status" 2>/dev/null)(VmHWM: the peak)"
