#!/bin/bash
# Issue 10's tenants benchmark: GET and ingest throughput of one `ltvd serve`
# holding the same customers as one tenant, then spread over 1,000 tenants
# that all serve the one tenant's model (target: within 10% of one
# tenant's), and what 1,000 tenants cost a
# process at rest (threads, RSS, CPU). Timings, not a test. Needs psql, curl
# and wrk (`scripts/deps.sh bench`):
#   scripts/with_pg.sh bench/tenants.sh [LTVD_BIN] [BENCH_SERVICE]
# Knobs: BENCH_TENANTS (1000), BENCH_CUSTOMERS (100000 in all),
# BENCH_GET_SECONDS (10), BENCH_INGEST_ROWS (200000), BENCH_WRK_THREADS (1).
set -u
BIN=${1:-./ltvd}
SERVICE=${2:-build/bench_service}
TENANTS=${BENCH_TENANTS:-1000}
CUSTOMERS=${BENCH_CUSTOMERS:-100000}
GET_SECONDS=${BENCH_GET_SECONDS:-10}
INGEST_ROWS=${BENCH_INGEST_ROWS:-200000}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
[ -n "${DATABASE_URL:-}" ] || { echo "DATABASE_URL is not set (use scripts/with_pg.sh)" >&2; exit 2; }
for tool in psql curl wrk; do
    command -v "$tool" >/dev/null || { echo "needs $tool (scripts/deps.sh bench)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_tenants.XXXXXX")
pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap 'stop; rm -rf "$tmp"' EXIT
export LTVD_PERIOD=week LTVD_AS_OF=1998-06-30 LTVD_AUTH_REQUIRED=false LTVD_LISTEN=127.0.0.1:0
export LTVD_REFIT_INTERVAL_S=604800 LTVD_REFIT_AFTER_TXNS=1000000000

sql() { psql -qAtX -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }

# Loads about CUSTOMERS customers, copies of the CDNOW sample's 2,357
# (tests/data, imported once into "default"), spread over $1 tenants:
# "default" when 1, else t0..t<N-1> (each then holds CUSTOMERS / N).
load() {
    local n=$1 tenant="'default'" copies=$(((CUSTOMERS + 2356) / 2357))
    [ "$n" -gt 1 ] && tenant="'t' || ((j * 2357 + r) % $n)"
    sql "TRUNCATE transactions, customer_days, model_snapshots"
    sql "DELETE FROM tenants WHERE id <> 'default'"
    [ "$n" -gt 1 ] && sql "INSERT INTO tenants (id) SELECT 't' || k FROM generate_series(0, $n - 1) k"
    # every tenant serves the one tenant's model (saved by the first run):
    # what is compared is the cost of tenancy, not of 1,000 other models
    [ "$n" -gt 1 ] && sql "INSERT INTO model_snapshots (tenant_id, $snap_cols)
                           SELECT t.id, s.* FROM snap s, tenants t"
    sql "INSERT INTO customer_days (tenant_id, customer_id, day, amount, n_transactions)
         SELECT $tenant, s.customer_id || '-' || j, s.day, s.amount, s.n_transactions
           FROM (SELECT *, dense_rank() OVER (ORDER BY customer_id) AS r FROM seed) s,
                generate_series(0, $copies - 1) j"
    sql "ANALYZE customer_days"
}

# Starts the server; waits until every tenant serves a model (fitted, or
# the one copied). The seconds that took into secs (pid, port and secs are
# globals: no subshell).
start() {
    "$BIN" serve >"$tmp/serve.log" 2>&1 &
    pid=$!
    port=
    for _ in $(seq 600); do
        port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/serve.log" | head -1)
        [ -n "$port" ] && grep -q "started in" "$tmp/serve.log" && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "ltvd serve did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
    local t0=$SECONDS
    for _ in $(seq 3000); do
        served
        [ "$(wc -l <"$tmp/served.txt")" -ge "$1" ] && break
        sleep 0.2
    done
    secs=$((SECONDS - t0))
}

# The tenants serving a model, one a line, into $tmp/served.txt.
served() {
    local cursor="" page
    : >"$tmp/served.txt"
    while :; do
        page=$(curl -s "http://127.0.0.1:$port/v1/tenants?limit=1000${cursor:+&cursor=$cursor}")
        grep -o '"id":"[^"]*","settings":{[^}]*},"effective":{[^}]*},"customers":[0-9]*,"model_version":[0-9]' <<<"$page" |
            sed 's/"id":"\([^"]*\)".*/\1/' >>"$tmp/served.txt"
        cursor=$(sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p' <<<"$page")
        [ -n "$cursor" ] || break
    done
}

# GETs over 2,000 customer paths of the tenants serving a model for
# GET_SECONDS; prints requests/s.
get_rate() {
    served
    psql -qAtX "$DATABASE_URL" -c "SELECT CASE WHEN tenant_id = 'default' THEN '/v1'
                 ELSE '/v1/tenants/' || tenant_id END || '/customers/' || customer_id
           FROM (SELECT DISTINCT tenant_id, customer_id FROM customer_days
                  WHERE tenant_id = ANY (string_to_array('$(paste -sd, "$tmp/served.txt")', ','))) c
          ORDER BY md5(customer_id) LIMIT 2000" >"$tmp/paths.txt"
    BENCH_PATHS=$tmp/paths.txt wrk -t"$WRK_THREADS" -c64 -d2s -s bench/get.lua \
        "http://127.0.0.1:$port" >/dev/null 2>&1
    BENCH_PATHS=$tmp/paths.txt wrk -t"$WRK_THREADS" -c64 -d"${GET_SECONDS}s" -s bench/get.lua \
        "http://127.0.0.1:$port" >"$tmp/wrk.txt" 2>&1
    local line requests us non2xx
    line=$(grep '^RESULT' "$tmp/wrk.txt")
    requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
    us=$(sed -n 's/.*duration_us=\([0-9]*\).*/\1/p' <<<"$line")
    non2xx=$(sed -n 's/.*non2xx=\([0-9]*\).*/\1/p' <<<"$line")
    [ "${non2xx:-1}" = 0 ] || echo "  warning: $non2xx answers were not 2xx" >&2
    awk -v r="$requests" -v u="$us" 'BEGIN { printf "%.0f", r / (u / 1e6) }'
}

# Ingests INGEST_ROWS new transactions in 1000-item batches from 3 clients,
# batch k to tenant k % $1 (one tenant: /v1/transactions); prints txn/s.
ingest_rate() {
    local flags=()
    [ "$1" -gt 1 ] && flags=(--tenants "$1")
    "$SERVICE" ingest "127.0.0.1:$port" --n "$INGEST_ROWS" --clients 3 --batch 1000 \
        --prefix "i$1-" "${flags[@]}" | sed -n 's/.*txn_per_s=\([0-9]*\).*/\1/p'
}

# Threads, RSS (MiB) and CPU share over 10 s of the server at rest.
at_rest() {
    local threads rss t0 t1
    threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
    rss=$(awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
    t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    sleep 10
    t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" -v th="$threads" -v r="$rss" \
        'BEGIN { printf "%s threads, %s MiB RSS, %.1f%% of a core", th, r, 100 * (b - a) / hz / 10 }'
}

"$BIN" migrate >/dev/null || exit 1
"$BIN" import tests/data/cdnow_sample_transactions.csv >/dev/null 2>&1 || exit 1
sql "CREATE TABLE seed AS SELECT customer_id, day, amount, n_transactions FROM customer_days"
declare -A get ingest
for n in 1 "$TENANTS"; do
    load "$n"
    start "$n"
    served
    echo "$n tenant(s), about $CUSTOMERS customers: every tenant served a model ${secs} s" \
        "after start-up"
    echo "  at rest: $(at_rest)"
    get[$n]=$(get_rate "$n")
    echo "  GET /v1/.../customers/{id}: ${get[$n]} requests/s (wrk, 64 connections)"
    ingest[$n]=$(ingest_rate "$n")
    echo "  ingest: ${ingest[$n]} txn/s (1000-item batches, 3 clients)"
    stop
    if [ "$n" = 1 ]; then # the model the other run serves in every tenant
        sql "CREATE TABLE snap AS SELECT * FROM model_snapshots ORDER BY id DESC LIMIT 1"
        sql "ALTER TABLE snap DROP COLUMN id, DROP COLUMN tenant_id"
        snap_cols=$(sql "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
                           FROM information_schema.columns WHERE table_name = 'snap'")
    fi
done
awk -v g1="${get[1]}" -v gn="${get[$TENANTS]}" -v i1="${ingest[1]}" -v in_="${ingest[$TENANTS]}" \
    -v n="$TENANTS" 'BEGIN {
        printf "%s tenants / 1 tenant: GET %.2f, ingest %.2f (target >= 0.90)\n", n, gn / g1, in_ / i1 }'
