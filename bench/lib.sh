# shellcheck shell=bash
# Shell functions the bench scripts share: messages, the run's temporary
# directory with every process stopped on exit, free ports, the temporary
# PostgreSQL and `ltvd serve` started and stopped, a base of customers
# loaded. Sourced (never run) from the repository root, after BENCH_WHO (the
# message prefix) and LTVD_BIN are set.

say() { echo "${BENCH_WHO:-bench}: $*" >&2; }
die() { say "$*"; exit 1; }

calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# field KEY LINE: the value of key=value in a result line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# ------------------------------------------------------------ processes

# Kills every process in pids (waiting for each), stops the PostgreSQL of
# pg_start and removes $tmp.
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    scripts/pg_local.sh stop "$tmp/pg" >/dev/null 2>&1
    rm -rf "$tmp"
}

# tmp_init NAME: makes $tmp (ltvd_NAME.XXXXXX) and an empty pids, and runs
# cleanup on exit. $tmp is world-readable: PostgreSQL (as root: postgres) and
# nginx's workers read below it.
tmp_init() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/ltvd_$1.XXXXXX") || exit 1
    chmod 755 "$tmp"
    pids=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# Stops one process we started (SIGTERM, then waits for it).
stop() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    local keep=() p
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nobody listens on, below the ephemeral range (a port there may be
# held by an outgoing connection, wrk's or the pool's, and bind would fail).
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

# wait_200 ADDR PATH SECONDS [PID]: waits until http://ADDR/PATH answers 200
# (at most SECONDS; gives up early when process PID, if given, has exited).
wait_200() {
    local deadline=$((SECONDS + $3))
    until curl -sf -o /dev/null "http://$1$2"; do
        [ $SECONDS -lt $deadline ] || return 1
        [ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
        sleep 0.02
    done
}

# ------------------------------------------------------------ the services

# Starts a temporary PostgreSQL under $tmp/pg (scripts/pg_local.sh; stopped
# by cleanup) and sets DB to its DATABASE_URL.
pg_start() {
    local out
    out=$(scripts/pg_local.sh start "$tmp/pg") || die "PostgreSQL did not start"
    DB=$(sed -n 's/^DATABASE_URL=//p' <<<"$out")
}

# wait_started ADDR SECONDS [PID]: waits until the start-up of the ltvd at
# ADDR is over (the cache complete, every route served): /readyz answers,
# and not with the problem `starting` (ready or not: a model may be
# missing). Gives up as wait_200 does.
wait_started() {
    local deadline=$((SECONDS + $2)) body
    until body=$(curl -s --max-time 2 "http://$1/readyz") && [ -n "$body" ] &&
        [[ $body != *problem:starting* ]]; do
        [ $SECONDS -lt $deadline ] || return 1
        [ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null || return 1
        sleep 0.02
    done
}

# ltvd_start URL [VAR=VALUE...]: starts `ltvd serve` with DATABASE_URL=URL,
# auth off and the environment given, on a free port (log: $tmp/ltvd.log),
# and waits for /healthz, then for the end of start-up (wait_started); sets
# LTVD_PID, LTVD_ADDR, LTVD_T0 (the launch, date +%s.%N), HEALTHZ_S (launch
# to the first /healthz 200) and STARTUP_S (launch to the end of
# start-up). Three tries, should the port be taken meanwhile. Returns 1
# (the log's tail on stderr) when it never answered.
ltvd_start() {
    local url=$1 try t0
    shift
    for try in 1 2 3; do
        LTVD_ADDR=127.0.0.1:$(free_port)
        t0=$(date +%s.%N)
        LTVD_T0=$t0
        env DATABASE_URL="$url" LTVD_LISTEN="$LTVD_ADDR" LTVD_AUTH_REQUIRED=false "$@" \
            "$LTVD_BIN" serve >>"$tmp/ltvd.log" 2>&1 &
        LTVD_PID=$!
        pids+=("$LTVD_PID")
        if wait_200 "$LTVD_ADDR" /healthz 120 "$LTVD_PID"; then
            HEALTHZ_S=$(calc %.3f "$(date +%s.%N) - $t0")
            wait_started "$LTVD_ADDR" 300 "$LTVD_PID" || break
            STARTUP_S=$(calc %.3f "$(date +%s.%N) - $t0")
            return 0
        fi
        stop "$LTVD_PID"
    done
    tail "$tmp/ltvd.log" >&2
    return 1
}

# Loads $2 customers into the database $1 (customer_days, tenant default):
# each buys and drops out as BG/NBD has it, with rates and drop-out
# probabilities that differ between customers (all alike, a BG/NBD fit is
# degenerate: a -> infinity, where each score costs milliseconds), seeded,
# first purchases over 1997, cut at day 545 (1998-06-30). Says how long it
# took; returns non-zero when psql fails.
load_btyd_customers() {
    local url=$1 n=$2 t0
    t0=$(date +%s.%N)
    psql -X -q -v ON_ERROR_STOP=1 "$url" -c "SELECT setseed(0.42)" -c "
INSERT INTO customer_days (customer_id, day, amount, n_transactions)
WITH c AS (
  SELECT g, g % 365 AS f,
         1 + floor(-ln(1 - random()) * 40)::int AS gap,
         least(30, floor(ln(1 - random()) / ln(1 - (0.05 + 0.6 * random() ^ 2))))::int AS k,
         10 + floor(random() * 90) AS base
  FROM generate_series(1, $n) g)
SELECT 'c' || lpad(g::text, 11, '0'), date '1997-01-01' + f + j * gap, base + j, 1
FROM c, generate_series(0, k) j
WHERE f + j * gap <= 545" -c "VACUUM ANALYZE customer_days" >/dev/null || return 1
    say "$n customers loaded in $(calc %.1f "$(date +%s.%N) - $t0") s"
}
