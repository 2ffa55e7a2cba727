#!/bin/bash
# Subscriptions, the service (docs/subscriptions.md, "The service"): how
# long `ltvd import --subscriptions` of N monthly subscriptions takes, and
# GET /v1/subscriptions/retention and /{id} (the first read fits the model
# on the cohorts, later ones come from the cached fit) with sbg and bdw.
#   scripts/with_pg.sh bench/subscriptions.sh [N]      (default 100000)
# LTVD_BIN names the binary (default ./ltvd). Prints one line per figure.
set -euo pipefail
n=${1:-100000}
bin=${LTVD_BIN:-./ltvd}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ltvd_subs_bench.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
# N subscriptions started over 36 months of 2023-2025, each renewing while a
# draw stays under its own retention (heterogeneous, as an sBG would have it)
awk -v n="$n" 'BEGIN { srand(7)
  print "id,customer_id,subscription_id,event,occurred_at,amount,billing_period"
  for (i = 0; i < n; i++) {
    m = i % 36; y = 2023 + int(m / 12); mo = m % 12 + 1; p = rand() ^ 0.3
    printf "e0,c%d,s%d,start,%d-%02d-03T00:00:00Z,9.9,month\n", i, i, y, mo
    for (t = 1; m + t < 36 && rand() < p; t++) {
      mm = m + t; printf "e%d,c%d,s%d,renew,%d-%02d-03T00:00:00Z,9.9,month\n", t, i, i, 2023 + int(mm / 12), mm % 12 + 1
    }
    if (m + t < 36) { mm = m + t - 1; printf "x,c%d,s%d,cancel,%d-%02d-20T00:00:00Z,0,month\n", i, i, 2023 + int(mm / 12), mm % 12 + 1 }
  } }' > "$tmp/events.csv"
echo "events: $(($(wc -l < "$tmp/events.csv") - 1)) of $n subscriptions"
"$bin" migrate >/dev/null
t0=$(date +%s.%N)
"$bin" import --subscriptions "$tmp/events.csv" >/dev/null
echo "import: $(echo "$(date +%s.%N) - $t0" | bc) s"
port=$((20000 + RANDOM % 10000))
LTVD_LISTEN=127.0.0.1:$port LTVD_AUTH_REQUIRED=false LTVD_AS_OF=2026-01-01 "$bin" serve \
    > "$tmp/serve.log" 2>&1 &
pid=$!
curl -fsS --retry 50 --retry-delay 1 --retry-all-errors -o /dev/null "http://127.0.0.1:$port/healthz"
for i in $(seq 50); do
    curl -fsS "http://127.0.0.1:$port/v1/subscriptions/s0" -o /dev/null 2>/dev/null && break
    sleep 0.2
done
timed() { curl -fsS -o /dev/null -w "%{time_total}" "http://127.0.0.1:$port$1"; }
echo "retention, sbg, first read (fit): $(timed /v1/subscriptions/retention) s"
echo "retention, sbg, cached fit: $(timed /v1/subscriptions/retention) s"
echo "subscriber document: $(timed /v1/subscriptions/s12345) s"
curl -fsS -X PATCH -H 'Content-Type: application/json' \
    -d '{"settings":{"as_of":"2026-01-01","retention_model":"bdw"}}' \
    "http://127.0.0.1:$port/v1/tenants/default" -o /dev/null || true
echo "retention, bdw, first read (fit): $(timed /v1/subscriptions/retention) s"
echo "retention, bdw, cached fit: $(timed /v1/subscriptions/retention) s"
