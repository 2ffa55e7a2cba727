#!/bin/sh
# Fails when the folders of src/ include each other in a cycle, or when a
# folder includes one it must not (FORBIDDEN below). The edges are read off
# the `#include "folder/file.h"` lines; tsort finds any cycle. Run by
# `make test` (target check-layers); exits 0 when the graph is a DAG.
#   scripts/check_layers.sh [SRC_DIR]
set -eu
src=${1:-src}

# "from to" folder pairs that must never appear, whatever else changes:
# handlers parse, call app/ and reply; only app/ and cli/ talk to the store.
FORBIDDEN="http store
model store
model http
cache store
log .
base ."

edges=$(grep -rE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z_]+/' "$src" --include='*.[ch]' |
    sed -E "s|^$src/([^/:]+)/[^:]*:.*#[[:space:]]*include[[:space:]]+\"([a-z_]+)/.*|\1 \2|" |
    awk '$1 != $2' | sort -u)

status=0
printf '%s\n' "$FORBIDDEN" | while read -r from to; do
    printf '%s\n' "$edges" | while read -r a b; do
        if [ "$a" = "$from" ] && { [ "$to" = "." ] || [ "$b" = "$to" ]; }; then
            echo "check_layers: src/$a/ must not include src/$b/:" >&2
            grep -rlE "#[[:space:]]*include[[:space:]]+\"$b/" "$src/$a" | sed 's/^/  /' >&2
            exit 1
        fi
    done || exit 1
done || status=1

if ! printf '%s\n' "$edges" | tsort >/dev/null 2>"${TMPDIR:-/tmp}/check_layers.$$"; then
    echo "check_layers: the folders of $src/ include each other in a cycle:" >&2
    sed 's/^tsort: /  /' "${TMPDIR:-/tmp}/check_layers.$$" >&2
    status=1
fi
rm -f "${TMPDIR:-/tmp}/check_layers.$$"
[ "$status" -eq 0 ] && echo "check_layers: $(printf '%s\n' "$edges" | wc -l) folder edges, no cycle"
exit "$status"
