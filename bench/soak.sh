#!/bin/bash
# make soak (not in CI): mixed ingest and reads against `ltvd serve` for
# SOAK_SECONDS, then one verdict per requirement of issue 4:
#   - requests served, and errors (anything but a 200): must be 0;
#   - transactions acknowledged vs stored in PostgreSQL: must be equal;
#   - resident memory (VmRSS of the server) once the cache is warm and at
#     the end: must not grow (SOAK_RSS_SLACK_KIB, 4096, allowed for noise).
#
# A temporary PostgreSQL (scripts/pg_local.sh), `ltvd serve` (auth off, as of
# 1998-06-30, refits every refit_after_txns as usual), SOAK_CUSTOMERS
# customers' transactions (4 a customer on average, drawn at random, so a few
# customers get none) loaded by `bench_service ingest` and a first fit; SOAK_WARMUP seconds (10) of the same load as the soak warm the server
# (cache, pool, arenas) before the first memory reading. The load is
# bench_soak (bench/soak/soak.c): SOAK_CLIENTS (8) kept-alive connections,
# 15% batches of SOAK_BATCH (100) new transactions of the stored customers
# (so the cache keeps its size), 85% reads of them. Memory is
# sampled every 5 s. Knobs: LTVD_BIN, BENCH_SOAK, BENCH_SERVICE, and LTVD_*
# for the server. Exit status 1 when a requirement is missed.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BENCH_WHO=soak
# shellcheck source=bench/lib.sh
. bench/lib.sh
LTVD_BIN=${LTVD_BIN:-./ltvd}
BENCH_SOAK=${BENCH_SOAK:-build/bench_soak}
BENCH_SERVICE=${BENCH_SERVICE:-build/bench_service}
SECONDS_RUN=${SOAK_SECONDS:-60}
WARMUP=${SOAK_WARMUP:-10}
CUSTOMERS=${SOAK_CUSTOMERS:-20000}
CLIENTS=${SOAK_CLIENTS:-8}
BATCH=${SOAK_BATCH:-100}
SLACK_KIB=${SOAK_RSS_SLACK_KIB:-4096}
AS_OF=1998-06-30

for tool in "$LTVD_BIN" "$BENCH_SOAK" "$BENCH_SERVICE"; do
    [ -x "$tool" ] || die "$tool is missing (make soak builds it)"
done
for tool in psql curl; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done

tmp_init soak

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

# ------------------------------------------------------------ start

pg_start
# Every HTTP thread may wait on PostgreSQL (the default keeps one free for
# /healthz; docs/reliability.md): the soak clients count a 503 as an error.
pool=${LTVD_THREAD_POOL_SIZE:-$(sed -n 's/^thread_pool_size *= *//p' config/ltvd.conf)}
ltvd_start "$DB" LTVD_AS_OF="$AS_OF" LTVD_DB_REQUEST_THREADS="$pool" ||
    die "ltvd serve did not start"

line=$("$BENCH_SERVICE" ingest "$LTVD_ADDR" --n $((CUSTOMERS * 4)) --per-customer 4 --prefix s \
    --clients 2) || die "loading $CUSTOMERS customers failed"
loaded=$(field acked "$line")
say "$loaded transactions loaded"
curl -sf -o /dev/null -X POST "http://$LTVD_ADDR/v1/model/refit" || die "refit refused"
wait_200 "$LTVD_ADDR" /v1/model 120 || die "no model after 120 s"
psql -X -qAt "$DB" -c "SELECT customer_id FROM customers ORDER BY 1" >"$tmp/ids.txt" ||
    die "psql failed"
CUSTOMERS=$(wc -l <"$tmp/ids.txt")
wait_200 "$LTVD_ADDR" "/v1/customers/$(head -n 1 "$tmp/ids.txt")" 10 || die "no score"

soak() { # soak SECONDS PREFIX -> the SOAK line
    "$BENCH_SOAK" "$LTVD_ADDR" --seconds "$1" --clients "$CLIENTS" --ids "$tmp/ids.txt" \
        --batch "$BATCH" --prefix "$2"
}

say "warm-up: $WARMUP s"
warm=$(soak "$WARMUP" w) || say "errors during the warm-up"
rss_start=$(rss_kib "$LTVD_PID")
say "soak: $SECONDS_RUN s from VmRSS $rss_start kB"

( while sleep 5; do echo "$(rss_kib "$LTVD_PID")"; done ) >"$tmp/rss.txt" 2>/dev/null &
sampler=$!
pids+=("$sampler")
run=$(soak "$SECONDS_RUN" r)
run_rc=$?
rss_end=$(rss_kib "$LTVD_PID")
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
kill -0 "$LTVD_PID" 2>/dev/null || die "ltvd serve died during the soak"

stored=$(psql -X -qAt "$DB" -c "SELECT count(*) FROM transactions") || die "psql failed"
acked=$((loaded + $(field acked_received "$warm") + $(field acked_received "$run")))
errors=$(($(field errors "$warm") + $(field errors "$run")))
dups=$(($(field acked_duplicates "$warm") + $(field acked_duplicates "$run")))
refits=$(curl -s "http://$LTVD_ADDR/metrics" |
    sed -n 's/^ltvd_refits_total{result="succeeded"} //p')
samples=$(tr '\n' ' ' <"$tmp/rss.txt")
grown=$((rss_end - rss_start))

verdict() { [ "$1" = 1 ] && echo met || echo MISSED; }
ok_errors=$([ "$errors" -eq 0 ] && [ "$run_rc" -eq 0 ] && echo 1)
ok_acked=$([ "$acked" -eq "$stored" ] && [ "$dups" -eq 0 ] && echo 1)
ok_rss=$([ "$grown" -le "$SLACK_KIB" ] && echo 1)

echo
echo "# soak: $(nproc) cores; $CLIENTS clients for $SECONDS_RUN s after a $WARMUP s warm-up;" \
    "$CUSTOMERS customers; batches of $BATCH"
echo "  requests: $(field requests "$run") in $(field seconds "$run") s" \
    "($(field req_per_s "$run")/s: post $(field post "$run"), get $(field get "$run")," \
    "list $(field list "$run"), model $(field model "$run"), metrics $(field metrics "$run"));" \
    "latency p50 $(field p50_ms "$run") ms, p99 $(field p99_ms "$run") ms," \
    "max $(field max_ms "$run") ms; refits succeeded: ${refits:-?}"
echo "  VmRSS every 5 s (kB): $samples"
echo
printf '%-44s %-34s %s\n' "soak requirement" "measured" "result"
printf '%-44s %-34s %s\n' "errors (warm-up + soak), must be 0" \
    "$errors of $(($(field requests "$warm") + $(field requests "$run")))" "$(verdict "$ok_errors")"
printf '%-44s %-34s %s\n' "transactions acknowledged = stored" \
    "$acked = $stored (duplicates $dups)" "$(verdict "$ok_acked")"
printf '%-44s %-34s %s\n' "VmRSS after warm-up -> end, no growth" \
    "$rss_start -> $rss_end kB ($grown kB)" "$(verdict "$ok_rss")"
[ -n "$ok_errors" ] && [ -n "$ok_acked" ] && [ -n "$ok_rss" ]
