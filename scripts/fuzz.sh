#!/bin/sh
# Runs the libFuzzer targets that `make fuzz-build` left in build/fuzz/fuzz,
# one at a time (the machine is shared), each on fuzz/corpus/<target>:
#   fuzz.sh SECONDS  each target for SECONDS, new inputs kept in a copy of its
#                    corpus under build/fuzz/corpus (the seeds in the
#                    repository are only read), statistics at the end;
#   fuzz.sh smoke    each target over its seeds plus FUZZ_SMOKE_RUNS (20000)
#                    mutations, at most 10 s (make test).
# Leaks, sanitizer reports and broken invariants fail the run; the input
# is left as build/fuzz/<target>-crash-... (or leak-, timeout-).
set -eu
dir=build/fuzz
mode=${1:-60}
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
for src in fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  seeds=fuzz/corpus/$t
  if [ "$mode" = smoke ]; then
    work=$dir/smoke/$t
    rm -rf "$work"
    n=$(find "$seeds" -type f | wc -l)
    set -- -runs=$((n + ${FUZZ_SMOKE_RUNS:-20000})) -max_total_time=10
  else
    work=$dir/corpus/$t
    set -- -max_total_time="$mode" -print_final_stats=1
  fi
  mkdir -p "$work"
  echo "fuzz: $t ($mode)"
  "$dir/fuzz/$t" "$@" -timeout=10 -max_len=4096 -artifact_prefix="$dir/$t-" \
    "$work" "$seeds" 2>"$dir/$t.log" || { cat "$dir/$t.log" >&2; exit 1; }
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::" "$dir/$t.log" || true
done
