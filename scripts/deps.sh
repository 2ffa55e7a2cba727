#!/bin/sh
# Installs the Debian packages ltvd needs to build and test, when missing.
# Called by the Makefile; does nothing when everything is present. curl is
# for the docs check (make docs-check), whose README session uses it;
# postgresql brings pg_basebackup too (scripts/pg_replica.sh, the replica suite).
# `deps.sh bench` installs what `make bench` needs besides (BENCH_PKGS: the
# load generator, the nginx baseline, curl), kept out of the build and tests.
# FUZZ_PKGS: clang and its libFuzzer runtime (libclang-rt-dev, only
# recommended by clang), for make fuzz and the fuzz smoke step of make test;
# clang-format for make format-check (the first step of make test).
# The dashboard (web/, docs/dashboard.md) is bundled at build time with
# node and npm: Debian's nodejs and npm when no node is on the PATH (the
# machines here come with Node.js 20 and its npm); its browser test drives
# Debian's chromium (/usr/bin/chromium).
set -eu
pkgs="pkg-config libgsl-dev libjansson-dev libmicrohttpd-dev libpq-dev libgnutls28-dev libyaml-dev check postgresql curl"
FUZZ_PKGS="clang libclang-rt-dev"
pkgs="$pkgs $FUZZ_PKGS clang-format chromium"
BENCH_PKGS="wrk nginx curl"
if [ "${1:-}" = bench ]; then pkgs="$BENCH_PKGS"; fi
missing=""
if [ "${1:-}" != bench ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  missing=" nodejs npm"
fi
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
