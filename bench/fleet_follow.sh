#!/bin/bash
# How long `ltvd serve` takes to serve a snapshot another process saved
# (issue 10, a fleet): a snapshot row announced in its transaction (NOTIFY
# ltvd_snapshot, as store_snapshot_save does), and one saved without an
# announcement (found by the snapshot_poll_ms look, 500 ms). Timings, not
# a test; needs psql and curl:
#   scripts/with_pg.sh bench/fleet_follow.sh ./ltvd
set -u
BIN=${1:-./ltvd}
[ -n "${DATABASE_URL:-}" ] || { echo "DATABASE_URL is not set (use scripts/with_pg.sh)" >&2; exit 2; }
log=$(mktemp "${TMPDIR:-/tmp}/fleet_follow.XXXXXX")
export LTVD_PERIOD=week LTVD_AS_OF=2025-12-31 LTVD_AUTH_REQUIRED=false LTVD_LISTEN=127.0.0.1:0
export LTVD_REFIT_INTERVAL_S=604800
"$BIN" migrate >/dev/null || exit 1
"$BIN" serve >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$port" ] && grep -q "started in" "$log" && break
    sleep 0.1
done
[ -n "$port" ] || { echo "ltvd serve did not start:" >&2; cat "$log" >&2; exit 1; }

# Saves a snapshot fitted under the server's settings (r = $1); announced
# when $2 is 1. Prints its id.
save() {
    local tail="SELECT id FROM s"
    [ "$2" = 1 ] && tail="SELECT id FROM s, pg_notify('ltvd_snapshot', 'default ' || (SELECT id FROM s))"
    psql -qAt "$DATABASE_URL" -c "WITH s AS (INSERT INTO model_snapshots (as_of, period, model,
      params, log_likelihood, n_customers, n_patterns, converged, iterations, seconds,
      spend_model, spend_params, spend_log_likelihood, spend_n_customers, spend_n_patterns,
      spend_converged, spend_iterations, spend_seconds, settings_model, settings_as_of,
      created_at, fit_started_at, data_xmin)
      VALUES ('2025-12-31', 'week', 'bgnbd', '{\"r\": $1, \"alpha\": 4.4, \"a\": 0.79, \"b\": 2.4}',
      -9000, 2357, 1000, true, 20, 0.1, 'gg', '{\"p\": 6.25, \"q\": 3.74, \"v\": 15.44}', -1,
      900, 0, true, 10, 0.1, 'bgnbd', '2025-12-31', now(), now(), 1) RETURNING id) $tail" |
        head -1
}

# Seconds from now until GET /v1/model says version $1 (5 ms polls).
served_after() {
    local t0 v
    t0=$(date +%s%N)
    for _ in $(seq 4000); do
        v=$(curl -s "http://127.0.0.1:$port/v1/model" | sed -n 's/.*"version":\([0-9]*\).*/\1/p')
        [ "$v" = "$1" ] && break
        sleep 0.005
    done
    echo "scale=3; ($(date +%s%N) - $t0) / 1000000000" | bc
}

for k in 1 2 3 4 5; do
    id=$(save "0.2$k" 1); echo "announced: served $(served_after "$id") s after the save returned"
    id=$(save "0.3$k" 0); echo "not announced (the look): served $(served_after "$id") s after the save returned"
done
