#!/bin/bash
# A streaming replica (hot standby) of a running PostgreSQL, in a directory:
# for the tests of read-only processes (tests/unit/test_replica.c) and for
# trying one by hand (docs/operations.md, "Read replicas").
#
#   pg_replica.sh start DIR URL   copies the server of URL (pg_basebackup -R,
#                                 WAL streamed) into DIR and starts it as a
#                                 standby on 127.0.0.1 and a free port; prints
#                                 REPLICA_PORT=<port> on stdout
#   pg_replica.sh stop DIR        stops it (immediate: it holds nothing of its own)
#
# URL must be a role with the REPLICATION attribute (a superuser, as the one
# of scripts/pg_local.sh) allowed by the primary's pg_hba.conf to connect for
# replication from 127.0.0.1 (initdb's default). The standby has the
# primary's settings, its port, its socket in DIR. Same server binaries as
# scripts/pg_local.sh (Debian's postgresql package); as root, the server runs
# as `postgres`. Everything else goes to stderr.
set -euo pipefail

die() { echo "pg_replica: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: pg_replica.sh start DIR URL | stop DIR"
cmd=$1
DIR=$2
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
DATA=$DIR/data

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] || BIN=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
[ -x "$BIN/pg_basebackup" ] || die "no PostgreSQL server binaries (install package postgresql: scripts/deps.sh)"

if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || die "running as root but there is no postgres user"
    AS=(runuser -u postgres --)
    chown postgres: "$DIR"
else
    AS=()
fi
chmod 700 "$DIR"
run() { "${AS[@]}" "$@"; }

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

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

case $cmd in
start)
    [ $# -eq 3 ] || die "usage: pg_replica.sh start DIR URL"
    url=$3
    if [ ! -f "$DATA/PG_VERSION" ]; then
        run "$BIN/pg_basebackup" -D "$DATA" -d "$url" -R -X stream -c fast \
            >"$DIR/basebackup.log" 2>&1 ||
            { cat "$DIR/basebackup.log" >&2; die "pg_basebackup failed"; }
        cat >>"$DATA/postgresql.conf" <<CONF

# pg_replica.sh: a standby of $(printf '%s' "$url" | sed 's/:[^:@/]*@/:***@/')
unix_socket_directories = '$DIR'
hot_standby = on
hot_standby_feedback = on
CONF
    fi
    for tries in 1 2 3 4 5; do
        port=$(free_port)
        if run "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -s -w -t 60 -o "-p $port" start >&2; then
            echo "$port" >"$DIR/port"
            echo "REPLICA_PORT=$port"
            exit 0
        fi
        port_busy "$port" && continue
        tail -n 20 "$DIR/server.log" >&2 || true
        die "the standby did not start (see $DIR/server.log)"
    done
    die "the standby did not start"
    ;;
stop)
    [ -f "$DATA/PG_VERSION" ] || exit 0
    run "$BIN/pg_ctl" -D "$DATA" -s -m immediate -w stop >&2 || true
    ;;
*)
    die "usage: pg_replica.sh start DIR URL | stop DIR"
    ;;
esac
