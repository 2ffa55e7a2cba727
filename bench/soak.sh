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

say() { echo "soak: $*" >&2; }
die() { say "$*"; exit 1; }

for tool in "$LTVD_BIN" "$BENCH_SOAK" "$BENCH_SERVICE"; do
    [ -x "$tool" ] || die "$tool is missing (make soak builds it)"
done
for tool in psql curl; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done

# ------------------------------------------------------------ processes
# (as bench/service.sh: a temporary directory, every process stopped on exit)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ltvd_soak.XXXXXX") || exit 1
chmod 755 "$tmp"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    scripts/pg_local.sh stop "$tmp/pg" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    local p i lo _
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 11000 ] || lo=60000
    for i in $(seq 1 200); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
        port_busy "$p" || { echo "$p"; return 0; }
    done
    die "no free port"
}

# wait_200 ADDR PATH SECONDS [PID]
wait_200() {
    local deadline=$((SECONDS + $3))
    until curl -sf -o /dev/null "http://$1$2"; do
        [ $SECONDS -lt $deadline ] || return 1
        [ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
        sleep 0.05
    done
}

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# ------------------------------------------------------------ start

out=$(scripts/pg_local.sh start "$tmp/pg") || die "PostgreSQL did not start"
DB=$(sed -n 's/^DATABASE_URL=//p' <<<"$out")

for try in 1 2 3; do
    ADDR=127.0.0.1:$(free_port)
    env DATABASE_URL="$DB" LTVD_LISTEN="$ADDR" LTVD_AUTH_REQUIRED=false LTVD_AS_OF="$AS_OF" \
        "$LTVD_BIN" serve >>"$tmp/ltvd.log" 2>&1 &
    PID=$!
    pids+=("$PID")
    wait_200 "$ADDR" /healthz 120 "$PID" && break
    kill "$PID" 2>/dev/null
    [ "$try" -lt 3 ] || { tail "$tmp/ltvd.log" >&2; die "ltvd serve did not start"; }
done

line=$("$BENCH_SERVICE" ingest "$ADDR" --n $((CUSTOMERS * 4)) --per-customer 4 --prefix s \
    --clients 2) || die "loading $CUSTOMERS customers failed"
loaded=$(field acked "$line")
say "$loaded transactions loaded"
curl -sf -o /dev/null -X POST "http://$ADDR/v1/model/refit" || die "refit refused"
wait_200 "$ADDR" /v1/model 120 || die "no model after 120 s"
psql -X -qAt "$DB" -c "SELECT customer_id FROM customers ORDER BY 1" >"$tmp/ids.txt" ||
    die "psql failed"
CUSTOMERS=$(wc -l <"$tmp/ids.txt")
wait_200 "$ADDR" "/v1/customers/$(head -n 1 "$tmp/ids.txt")" 10 || die "no score"

soak() { # soak SECONDS PREFIX -> the SOAK line
    "$BENCH_SOAK" "$ADDR" --seconds "$1" --clients "$CLIENTS" --ids "$tmp/ids.txt" \
        --batch "$BATCH" --prefix "$2"
}

say "warm-up: $WARMUP s"
warm=$(soak "$WARMUP" w) || say "errors during the warm-up"
rss_start=$(rss_kib "$PID")
say "soak: $SECONDS_RUN s from VmRSS $rss_start kB"

( while sleep 5; do echo "$(rss_kib "$PID")"; done ) >"$tmp/rss.txt" 2>/dev/null &
sampler=$!
pids+=("$sampler")
run=$(soak "$SECONDS_RUN" r)
run_rc=$?
rss_end=$(rss_kib "$PID")
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
kill -0 "$PID" 2>/dev/null || die "ltvd serve died during the soak"

stored=$(psql -X -qAt "$DB" -c "SELECT count(*) FROM transactions") || die "psql failed"
acked=$((loaded + $(field acked_received "$warm") + $(field acked_received "$run")))
errors=$(($(field errors "$warm") + $(field errors "$run")))
dups=$(($(field acked_duplicates "$warm") + $(field acked_duplicates "$run")))
refits=$(curl -s "http://$ADDR/metrics" | sed -n 's/^ltvd_refits_total{result="succeeded"} //p')
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
