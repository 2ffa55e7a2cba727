#!/bin/bash
# Runs the check binary (through scripts/with_pg.sh) with its output shown as
# it comes and kept in LOG; when it fails, repeats at the very end what a
# reader of a truncated CI log needs: each failed check, the summary lines,
# and the head of a sanitizer's report (a leak's first stacks, not its
# last). Exits with the binary's status.
#   scripts/run_checks.sh LOG build/asan/check_ltvd
set -uo pipefail

[ $# -ge 2 ] || { echo "usage: run_checks.sh LOG CMD [ARGS...]" >&2; exit 2; }
log=$1
shift
mkdir -p "$(dirname "$log")"
here=$(cd "$(dirname "$0")" && pwd -P)
"$here/with_pg.sh" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
    echo
    echo "== $* failed (status $rc); its failures and summaries again (all in $log) =="
    grep -E ':[FE]:|^[0-9]+%: Checks' "$log"
    grep -m1 -A40 -E '^==[0-9]+==ERROR: |runtime error:' "$log"
    echo "== end of the failures of $* =="
fi
exit "$rc"
