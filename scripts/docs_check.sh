#!/bin/bash
# The docs check (`make docs-check`, part of `make test`): runs the commands
# of README.md and docs/*.md as written, so the documentation cannot drift
# from the program.
#
#   scripts/docs_check.sh [FILE.md ...]     (default: README.md docs/*.md)
#   DOCS_CHECK_VERBOSE=1: print every file's output, not only a failure's
#
# The convention (docs/index.md repeats it for writers):
# - A fenced block marked ```sh is run. The blocks of one file run in order
#   in one bash (`set -e`: any failing command fails the check), so a
#   variable exported or a file written by one block is there for the next.
# - ```sh background marks a block that serves (`make run`): it is started in
#   the background, the check waits until GET /healthz answers on
#   LTVD_LISTEN and start-up is over (GET /readyz is not 503 `starting`),
#   and stops it when the file is done.
# - Every other block (```text, ```json, ```yaml...) is not run. A command
#   that cannot run here (one that serves forever in the foreground, needs
#   Docker, or is `make test` itself) goes in a ```text block with the reason
#   beside it. ```bash, ```shell and ```console are refused, so that nobody
#   believes such a block is checked, and so is a block without a language.
#
# Each file runs in a scratch directory that looks like a checkout (its
# top-level entries are links to this tree's, ./ltvd is $LTVD_BIN), with no
# DATABASE_URL and no LTVD_* variable from the caller: `.ltvd/pg` there is a
# new PostgreSQL. Two stand-ins, both said here and nowhere hidden:
# `make run` is scripts/run_local.sh (what `make run` runs after building:
# the binary under test is built already), and the address 127.0.0.1:8080 of
# the blocks is replaced by a free port's (LTVD_LISTEN), so that the check
# never collides with a server already running.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root" || exit 1
bin=${LTVD_BIN:-$root/ltvd}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
[ -x "$bin" ] || { echo "docs check: no ltvd binary at $bin (make, or set LTVD_BIN)" >&2; exit 1; }
command -v curl >/dev/null || { echo "docs check: curl is missing (scripts/deps.sh)" >&2; exit 1; }
FILE_TIMEOUT=${DOCS_CHECK_TIMEOUT:-600}

if [ $# -eq 0 ]; then
    set -- README.md docs/*.md
fi

# True when something accepts TCP connections on 127.0.0.1:$1.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$((20000 + RANDOM % 10000))
        port_busy "$p" || { echo "$p"; return 0; }
    done
    return 1
}

# Turns FILE.md into a bash script on stdout: each ```sh block preceded by
# a line saying where it starts, each ```sh background block fed to
# docs_bg. Exits 1 on a refused or unterminated block.
extract() {
    awk -v file="$1" -v port="$2" '
        function fail(msg) { print "docs check: " file ":" NR ": " msg > "/dev/stderr"; bad = 1; exit 1 }
        /^```/ && !inside {
            info = substr($0, 4); sub(/[ \t]+$/, "", info)
            split(info, w, /[ \t]+/)
            if (info == "")
                fail("a block without a language: mark it ```sh (run by this check) or ```text (not run)")
            if (w[1] == "bash" || w[1] == "shell" || w[1] == "console" || w[1] == "zsh")
                fail("```" w[1] " block: mark it ```sh (run by this check) or ```text (not run)")
            inside = 1; start = NR
            mode = (w[1] == "sh") ? (w[2] == "background" ? "bg" : "fg") : "skip"
            if (mode == "fg") { printf "docs_at %s:%d\n", file, NR + 1; n++ }
            if (mode == "bg") { printf "docs_bg %s:%d <<'"'"'DOCS_CHECK_EOF'"'"'\n", file, NR + 1; n++ }
            next
        }
        /^```[ \t]*$/ && inside {
            if (mode == "bg") print "DOCS_CHECK_EOF"
            inside = 0; next
        }
        inside && mode != "skip" {
            line = $0
            gsub(/127\.0\.0\.1:8080/, "127.0.0.1:" port, line)
            print line
        }
        END {
            if (bad) exit 1
            if (inside) { print "docs check: " file ":" start ": block never closed" > "/dev/stderr"; exit 1 }
            printf "docs_done %d\n", n
        }
    ' "$1"
}

# What every file's script starts with: the helpers the extracted blocks call.
prelude() {
    cat <<'EOF'
set -e
docs_at() { DOCS_WHERE=$1; echo "--- $1"; }
trap 'echo "docs check: $DOCS_WHERE: a command failed (exit $?)" >&2' ERR
# A serving block: started in its own process group, ready once /healthz
# answers and start-up is over (/readyz answers, and not 503 `starting`).
docs_bg() {
    DOCS_WHERE=$1
    echo "--- $1 (background)"
    cat > .docs_bg.sh
    setsid bash -e .docs_bg.sh > .docs_bg.log 2>&1 < /dev/null &
    echo $! > .docs_bg.pid
    local i
    for i in $(seq 1 600); do
        if curl -fsS -o /dev/null --max-time 2 "http://$LTVD_LISTEN/healthz" 2>/dev/null &&
            ! curl -sS --max-time 2 "http://$LTVD_LISTEN/readyz" 2>/dev/null |
                grep -q 'problem:starting'; then
            return 0
        fi
        kill -0 "$(cat .docs_bg.pid)" 2>/dev/null || break
        sleep 0.2
    done
    echo "docs check: $1: the server did not answer /healthz on $LTVD_LISTEN:" >&2
    tail -n 30 .docs_bg.log >&2
    return 1
}
docs_done() { echo "--- $1 blocks run"; }
EOF
}

# Stops what a file's blocks started in $1: the background group, and the
# PostgreSQL of .ltvd/pg.
stop_scratch() {
    local dir=$1 pid i
    if [ -f "$dir/.docs_bg.pid" ]; then
        pid=$(cat "$dir/.docs_bg.pid")
        kill -TERM -- "-$pid" 2>/dev/null
        for i in $(seq 1 150); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null
    fi
    if [ -f "$dir/.ltvd/pg/port" ]; then
        "$root/scripts/pg_local.sh" stop "$dir/.ltvd/pg" >/dev/null 2>&1
    fi
}

# Every relative link of $1 names a file or directory that exists.
check_links() {
    local md=$1 base target bad=0
    base=$(dirname "$md")
    while IFS= read -r target; do
        target=${target%%#*}
        [ -z "$target" ] && continue
        if [ ! -e "$base/$target" ]; then
            echo "docs check: $md: a link to $target, which does not exist" >&2
            bad=1
        fi
    done < <(grep -o '](\([^)]*\))' "$md" | sed 's/^](\(.*\))$/\1/' | grep -v '^[a-z]*:')
    return "$bad"
}

# Runs one markdown file's blocks. Returns 0 when all passed.
check_file() {
    local md=$1 port dir script status
    check_links "$md" || return 1
    port=$(free_port) || { echo "docs check: no free port" >&2; return 1; }
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ltvd_docs.XXXXXX") || return 1
    chmod 755 "$dir"  # pg_local.sh runs PostgreSQL as postgres when root
    local e
    for e in "$root"/* "$root"/.[!.]*; do
        case ${e##*/} in .git | .ltvd | build | ltvd | '.[!.]*') continue ;; esac
        ln -s "$e" "$dir/${e##*/}"
    done
    ln -s "$bin" "$dir/ltvd"
    mkdir "$dir/.docs_path"
    cat > "$dir/.docs_path/make" <<'EOF'
#!/bin/bash
# The docs check's stand-in for make: `make run` is what make run runs after
# building (scripts/run_local.sh); nothing else is run from the docs.
[ "$*" = run ] && exec scripts/run_local.sh
echo "docs check: only 'make run' may be run from a \`\`\`sh block, not 'make $*'" >&2
exit 1
EOF
    chmod +x "$dir/.docs_path/make"
    script=$dir/.docs_check.sh
    { prelude; extract "$md" "$port"; } > "$script" || { rm -rf "$dir"; return 1; }
    if ! grep -q '^docs_\(at\|bg\) ' "$script"; then
        echo "docs check: $md: nothing to run"
        rm -rf "$dir"
        return 0
    fi
    echo "docs check: $md (scratch $dir, server port $port)"
    (
        cd "$dir" || exit 1
        unset DATABASE_URL
        for v in $(compgen -e | grep '^LTVD_'); do unset "$v"; done
        export LTVD_LISTEN=127.0.0.1:$port
        export PATH=$dir/.docs_path:$PATH
        exec timeout "$FILE_TIMEOUT" bash "$script"
    ) > "$dir/.docs_check.log" 2>&1
    status=$?
    stop_scratch "$dir"
    if [ "$status" -ne 0 ]; then
        [ "$status" -eq 124 ] && echo "docs check: $md: timed out after ${FILE_TIMEOUT}s" >&2
        echo "docs check: $md FAILED (exit $status); its output:" >&2
        tail -n 60 "$dir/.docs_check.log" >&2
        if [ -f "$dir/.docs_bg.log" ]; then
            echo "docs check: the background block's output:" >&2
            tail -n 20 "$dir/.docs_bg.log" >&2
        fi
    elif [ -n "${DOCS_CHECK_VERBOSE:-}" ]; then
        cat "$dir/.docs_check.log"
    else
        tail -n 1 "$dir/.docs_check.log"
    fi
    rm -rf "$dir"
    return "$status"
}

failed=0
for md in "$@"; do
    check_file "$md" || failed=$((failed + 1))
done
if [ "$failed" -ne 0 ]; then
    echo "docs check: $failed of $# files failed" >&2
    exit 1
fi
echo "docs check: $# files ok"
