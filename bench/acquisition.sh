#!/bin/bash
# GET /v1/acquisition and GET /v1/cohorts at BENCH_CUSTOMERS customers
# (default 1M; issue 11, target under 100 ms): the first answer after a
# change (one pass over the cache with the score table), then the kept
# answer (50 GETs each: p50, p99, max), then the first answer after a
# one-transaction batch changed the cache. Customers as bench/export.sh's,
# in BENCH_CHANNELS channels (8) with spend
# (BG/NBD-like, seeded), fitted by the server itself. Timings, not a test.
# Needs psql and curl:
#   bench/acquisition.sh       (LTVD_BIN=./ltvd, a temporary PostgreSQL)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BENCH_WHO=acquisition
# shellcheck source=bench/lib.sh
. bench/lib.sh
LTVD_BIN=${LTVD_BIN:-./ltvd}
CUSTOMERS=${BENCH_CUSTOMERS:-1000000}
AS_OF=1998-06-30

tmp_init acquisition
pg_start
DATABASE_URL=$DB "$LTVD_BIN" migrate >/dev/null || die "ltvd migrate failed"
load_btyd_customers "$DB" "$CUSTOMERS" || die "loading $CUSTOMERS customers failed"
# BENCH_CHANNELS (8; 0: none): each customer's first-touch channel, and a
# spend row per channel and month, so the pass reads the channels too
CHANNELS=${BENCH_CHANNELS:-8}
if [ "$CHANNELS" -gt 0 ]; then
    psql -X -q -v ON_ERROR_STOP=1 "$DB" -c "
INSERT INTO customer_attributes (tenant_id, customer_id, acquisition_channel)
SELECT 'default', customer_id, 'ch' || (abs(hashtext(customer_id)) % $CHANNELS)
FROM (SELECT DISTINCT customer_id FROM customer_days) d" -c "
INSERT INTO acquisition_spend (tenant_id, channel, month, spend, leads)
SELECT 'default', 'ch' || c, date '1997-01-01' + make_interval(months => m), 1000 + c, 100
FROM generate_series(0, $CHANNELS - 1) c, generate_series(0, 17) m" >/dev/null ||
        die "the channels failed"
    say "$CHANNELS channels given, with 18 months of spend each"
fi
ltvd_start "$DB" LTVD_AS_OF="$AS_OF" LTVD_REFIT_INTERVAL_S=604800 \
    LTVD_REFIT_AFTER_TXNS=1000000000 || die "ltvd serve did not start"
# version_of PATH: the first "version" of the JSON at PATH (empty if none)
version_of() {
    curl -s "http://$LTVD_ADDR$1" | grep -o '"version": *[0-9]*' | head -1 | grep -o '[0-9]*$'
}
# the refit asked for, not a model fitted at start-up, and the score table
# of its snapshot (GET /v1/segments names the table's), so that the first
# answer below is the pass over that table
before=$(version_of /v1/model)
curl -sf -o /dev/null -X POST "http://$LTVD_ADDR/v1/model/refit" || die "refit refused"
deadline=$((SECONDS + 600))
until v=$(version_of /v1/model) && [ -n "$v" ] && [ "$v" != "$before" ]; do
    [ $SECONDS -lt $deadline ] || die "no new model after 600 s"
    sleep 0.1
done
until [ "$(version_of /v1/segments)" = "$v" ]; do
    [ $SECONDS -lt $deadline ] || die "no score table of model $v after 600 s"
    sleep 0.1
done
say "model $v fitted (before: ${before:-none}), its score table ready"
sleep 1

# one_ms TARGET: one GET, its time in ms (and 200 checked)
one_ms() {
    local out
    out=$(curl -s -o "$tmp/body" -w '%{http_code} %{time_total}' "http://$LTVD_ADDR$1")
    [ "${out%% *}" = 200 ] || die "GET $1: ${out%% *} $(head -c 300 "$tmp/body")"
    calc %.1f "${out#* } * 1000"
}

# kept_ms TARGET: 50 GETs; p50, p99 (the 50th of 50 sorted: the max) in ms
kept_ms() {
    local i
    for i in $(seq 50); do one_ms "$1"; echo; done | sort -n >"$tmp/times"
    echo "p50 $(sed -n 25p "$tmp/times") ms, p98 $(sed -n 49p "$tmp/times") ms," \
        "max $(tail -1 "$tmp/times") ms"
}

echo
echo "# GET /v1/acquisition and /v1/cohorts, $CUSTOMERS customers, $(nproc) cores" \
    "(curl on the same machine)"
echo "  first /v1/acquisition (the pass): $(one_ms /v1/acquisition) ms," \
    "$(wc -c <"$tmp/body") bytes"
echo "  kept /v1/acquisition: $(kept_ms /v1/acquisition)"
echo "  kept /v1/acquisition?months=120&target_ratio=4: $(kept_ms "/v1/acquisition?months=120&target_ratio=4")"
echo "  kept /v1/cohorts: $(kept_ms /v1/cohorts), $(wc -c <"$tmp/body") bytes"
curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data '{"transactions":[{"id":"b1","customer_id":"bench-new","occurred_at":"1998-06-01T10:00:00Z","amount":12}]}' \
    "http://$LTVD_ADDR/v1/transactions" || die "the batch was refused"
echo "  first /v1/cohorts after a batch (the pass again): $(one_ms /v1/cohorts) ms"
echo "  kept /v1/cohorts: $(kept_ms /v1/cohorts)"
echo "  the server's passes (its log):"
grep -o 'acquisition pass: .*' "$tmp/ltvd.log" | sed 's/^/    /'
