#!/bin/bash
# GET /v1/customers/export at BENCH_CUSTOMERS customers (default 1M; issue
# 10): the export's time, size and rate, NDJSON and CSV, and the server's
# resident memory before and at its peak during each export (VmHWM, reset
# through /proc/PID/clear_refs before each run), with one export and with
# four at once; then /healthz latency while four exports run. Timings and
# sizes, not a test. Customers as bench/service.sh's lists (BG/NBD-like,
# seeded), fitted by the server itself. Needs psql and curl:
#   bench/export.sh            (LTVD_BIN=./ltvd, a temporary PostgreSQL)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BENCH_WHO=export
# shellcheck source=bench/lib.sh
. bench/lib.sh
LTVD_BIN=${LTVD_BIN:-./ltvd}
CUSTOMERS=${BENCH_CUSTOMERS:-1000000}
AS_OF=1998-06-30

tmp_init export
pg_start
DATABASE_URL=$DB "$LTVD_BIN" migrate >/dev/null || die "ltvd migrate failed"
load_btyd_customers "$DB" "$CUSTOMERS" || die "loading $CUSTOMERS customers failed"
ltvd_start "$DB" LTVD_AS_OF="$AS_OF" LTVD_REFIT_INTERVAL_S=604800 \
    LTVD_REFIT_AFTER_TXNS=1000000000 || die "ltvd serve did not start"
curl -sf -o /dev/null -X POST "http://$LTVD_ADDR/v1/model/refit" || die "refit refused"
wait_200 "$LTVD_ADDR" /v1/model 600 "$LTVD_PID" || die "no model after 600 s"
# the list keeper's first pass runs after a new model: let it finish, so
# that it does not share the CPU (or the memory figures) with the exports
wait_200 "$LTVD_ADDR" "/v1/customers?limit=1" 600 "$LTVD_PID" || die "no list after 600 s"
sleep 1

kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$LTVD_PID/status"; }

# export N ACCEPT: N exports at once to /dev/null; prints the time, the
# bytes of one, and the resident memory before and at the peak.
export_run() {
    local n=$1 accept=$2 i before t0 s bytes peak curls=()
    echo 5 >"/proc/$LTVD_PID/clear_refs" # VmHWM := VmRSS
    before=$(kb VmRSS)
    t0=$(date +%s.%N)
    for i in $(seq "$n"); do
        curl -sf -H "Accept: $accept" -o "$tmp/out$i" -w '%{size_download}\n' \
            "http://$LTVD_ADDR/v1/customers/export" >"$tmp/size$i" &
        curls+=($!)
    done
    wait "${curls[@]}"
    s=$(calc %.2f "$(date +%s.%N) - $t0")
    bytes=$(cat "$tmp/size1")
    peak=$(kb VmHWM)
    lines=$(wc -l <"$tmp/out1")
    rm -f "$tmp"/out*
    echo "  $n x $accept: $s s, $lines lines, $(calc %.1f "$bytes / 1048576") MiB each" \
        "($(calc %.0f "$n * $lines / $s") customers/s in all); RSS $((before / 1024)) MiB" \
        "before, peak $((peak / 1024)) MiB (+$(((peak - before) / 1024)) MiB)"
}

# idle_run SECONDS: the resident memory before and at its peak while no
# request runs (the list keeper's passes), to tell its growth from the
# exports'
idle_run() {
    local before peak
    echo 5 >"/proc/$LTVD_PID/clear_refs"
    before=$(kb VmRSS)
    sleep "$1"
    peak=$(kb VmHWM)
    echo "  idle $1 s: RSS $((before / 1024)) MiB before, peak $((peak / 1024)) MiB" \
        "(+$(((peak - before) / 1024)) MiB)"
}

echo
echo "# GET /v1/customers/export, $CUSTOMERS customers, $(nproc) cores" \
    "(curl on the same machine)"
idle_run 10
export_run 1 application/x-ndjson
export_run 1 text/csv
export_run 4 application/x-ndjson
export_run 1 application/x-ndjson

# healthz_ms WHAT: 200 GETs of /healthz, 10 ms apart; prints p50, p99, max
healthz_ms() {
    local i
    for i in $(seq 200); do
        curl -s -o /dev/null -w '%{time_total}\n' "http://$LTVD_ADDR/healthz"
        sleep 0.01
    done | sort -n >"$tmp/healthz"
    echo "  /healthz $1: p50 $(calc %.1f "$(sed -n 100p "$tmp/healthz") * 1000") ms," \
        "p99 $(calc %.1f "$(sed -n 198p "$tmp/healthz") * 1000") ms," \
        "max $(calc %.1f "$(tail -1 "$tmp/healthz") * 1000") ms"
}

# /healthz alone, then while four exports run (the pieces share the HTTP
# threads with every other connection)
healthz_ms "alone"
curls=()
for i in 1 2 3 4; do
    curl -sf -o /dev/null "http://$LTVD_ADDR/v1/customers/export" &
    curls+=($!)
done
sleep 0.5
healthz_ms "during 4 exports"
wait "${curls[@]}"
