#!/bin/bash
# GET /v1/acquisition for a tenant whose customers subscribe
# (docs/acquisition.md, "Subscribers"): the CDNOW sample's customers with N
# monthly subscriptions among them (bench/subscriptions.sh's events), the
# answer's time (the first request sums the start amounts by channel, later
# ones copy the kept sums) beside the retention report's.
#   scripts/with_pg.sh bench/acquisition_subscriptions.sh [N]  (default 100000)
# LTVD_BIN names the binary (default ./ltvd). Prints one line per figure.
set -euo pipefail
n=${1:-100000}
bin=${LTVD_BIN:-./ltvd}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ltvd_acqsubs.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
awk -v n="$n" 'BEGIN { srand(7)
  print "id,customer_id,subscription_id,event,occurred_at,amount,billing_period"
  for (i = 0; i < n; i++) {
    c = i % 2357 + 1
    m = i % 36; y = 2023 + int(m / 12); mo = m % 12 + 1; p = rand() ^ 0.3
    printf "e0,%d,s%d,start,%d-%02d-03T00:00:00Z,9.9,month\n", c, i, y, mo
    for (t = 1; m + t < 36 && rand() < p; t++) {
      mm = m + t; printf "e%d,%d,s%d,renew,%d-%02d-03T00:00:00Z,9.9,month\n", t, c, i, 2023 + int(mm / 12), mm % 12 + 1
    }
    if (m + t < 36) { mm = m + t - 1; printf "x,%d,s%d,cancel,%d-%02d-20T00:00:00Z,0,month\n", c, i, 2023 + int(mm / 12), mm % 12 + 1 }
  } }' > "$tmp/events.csv"
"$bin" migrate >/dev/null
"$bin" import tests/data/cdnow_sample_transactions.csv >/dev/null
"$bin" import --subscriptions "$tmp/events.csv" >/dev/null
port=$((20000 + RANDOM % 10000))
LTVD_LISTEN=127.0.0.1:$port LTVD_AUTH_REQUIRED=false LTVD_AS_OF=2026-01-01 LTVD_PERIOD=week "$bin" serve \
    > "$tmp/serve.log" 2>&1 &
pid=$!
curl -fsS --retry 50 --retry-delay 1 --retry-all-errors -o /dev/null "http://127.0.0.1:$port/healthz"
for i in $(seq 300); do
    curl -fsS "http://127.0.0.1:$port/v1/cohorts" -o /dev/null 2>/dev/null && break
    sleep 0.2
done
timed() { curl -fsS -o /dev/null -w "%{time_total}" "http://127.0.0.1:$port$1"; }
echo "acquisition, first request (the sums by channel made): $(curl -fsS -o /dev/null -w "%{time_total}" "http://127.0.0.1:$port/v1/acquisition?months=12") s"
for k in 1 2 3; do echo "acquisition ($n subscriptions): $(timed /v1/acquisition) s"; done
for k in 1 2; do echo "retention report: $(timed /v1/subscriptions/retention) s"; done
