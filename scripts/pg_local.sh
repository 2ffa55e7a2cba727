#!/bin/bash
# A PostgreSQL of our own in a directory: for `make run` and the tests.
#
#   pg_local.sh start DIR   initialises DIR (once) and starts the server; prints
#                           DATABASE_URL=postgresql://... on stdout
#   pg_local.sh stop DIR    stops it (fast shutdown)
#   pg_local.sh url DIR     prints the URL (the server need not be running)
#
# The server listens on 127.0.0.1 only, on a free port chosen at the first
# start and kept in DIR/port (a second start reuses cluster and port), its unix
# socket is in DIR, fsync stays on, and a superuser `ltvd` with a random
# password (DIR/password) owns a database `ltvd`. Run as root, the server runs
# as the `postgres` system user and DIR is chowned to it. Everything else goes
# to stderr, so `eval "$(pg_local.sh start DIR)"`-style use is safe.
set -euo pipefail

die() { echo "pg_local: $*" >&2; exit 1; }

usage() { die "usage: pg_local.sh start|stop|url DIR"; }

[ $# -eq 2 ] || usage
cmd=$1
DIR=$2
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
DATA=$DIR/data

# Debian keeps the server binaries off PATH; take the newest version.
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] || BIN=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
[ -x "$BIN/pg_ctl" ] || die "no PostgreSQL server binaries (install package postgresql: scripts/deps.sh)"

# As root, everything that touches the cluster runs as `postgres`.
if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || die "running as root but there is no postgres user"
    AS=(runuser -u postgres --)
else
    AS=()
fi
run() { "${AS[@]}" "$@"; }

url() {
    local port pw
    port=$(cat "$DIR/port" 2>/dev/null) || die "$DIR has no cluster (run start first)"
    pw=$(cat "$DIR/password")
    echo "postgresql://ltvd:$pw@127.0.0.1:$port/ltvd"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port nobody listens on, below the ephemeral range: a port in it may be
# the local end of an outgoing connection (not listening, so it looks free,
# but bind fails).
free_port() {
    local p i lo _
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 11000 ] || lo=60000
    for i in $(seq 1 200); do
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000) ))
        port_busy "$p" || { echo "$p"; return 0; }
    done
    die "no free port found"
}

init_cluster() {
    [ -f "$DATA/PG_VERSION" ] && return 0
    if [ "${#AS[@]}" -gt 0 ]; then
        chown postgres: "$DIR"
        chmod 700 "$DIR"
        # postgres must be able to reach DIR through its parents.
        run test -x "$DIR" || die "the postgres user cannot enter $DIR (check its parents' permissions)"
    fi
    umask 077
    head -c 18 /dev/urandom | base64 | tr '+/' 'xy' | tr -d '=\n' > "$DIR/password"
    [ "${#AS[@]}" -gt 0 ] && chown postgres: "$DIR/password"
    run "$BIN/initdb" -D "$DATA" -U ltvd --pwfile="$DIR/password" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 ||
        { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    cat >>"$DATA/postgresql.conf" <<EOF

# pg_local.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
fsync = on
logging_collector = off
EOF
}

running() {
    run "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

start_server() {
    local port tries
    if running; then
        return 0
    fi
    for tries in 1 2 3 4 5; do
        if [ -f "$DIR/port" ]; then
            port=$(cat "$DIR/port")
        else
            port=$(free_port)
            echo "$port" > "$DIR/port"
            [ "${#AS[@]}" -gt 0 ] && chown postgres: "$DIR/port"
        fi
        if run "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -s -w -t 60 -o "-p $port" start >&2; then
            return 0
        fi
        # The port was taken by someone else meanwhile: choose another (the
        # URL changes, the data stays).
        if port_busy "$port" || tail -n 20 "$DIR/server.log" 2>/dev/null | grep -q "Address already in use"; then
            echo "pg_local: port $port is taken, choosing another" >&2
            rm -f "$DIR/port"
            continue
        fi
        tail -n 20 "$DIR/server.log" >&2 || true
        die "the server did not start (see $DIR/server.log)"
    done
    die "the server did not start"
}

create_db() {
    local port
    port=$(cat "$DIR/port")
    if ! run "$BIN/psql" -X -q -h "$DIR" -p "$port" -U ltvd -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'ltvd'" | grep -q 1; then
        run "$BIN/createdb" -h "$DIR" -p "$port" -U ltvd ltvd >&2 ||
            die "createdb ltvd failed"
    fi
}

case $cmd in
start)
    init_cluster
    start_server
    create_db
    echo "DATABASE_URL=$(url)"
    ;;
stop)
    [ -f "$DATA/PG_VERSION" ] || exit 0
    if running; then
        run "$BIN/pg_ctl" -D "$DATA" -s -m fast -w stop >&2
    fi
    ;;
url)
    url
    ;;
*)
    usage
    ;;
esac
