# ltvd: build, run, test and bench. `make` leaves ./ltvd; objects go under build/.
# Every target that compiles first makes sure the Debian packages are present
# (scripts/deps.sh installs what is missing, as root or through sudo).

CC       ?= cc
PKGS     := gsl jansson libmicrohttpd libpq gnutls
CSTD     := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT      ?= -O2 -g
BUILD    ?= build
SANFLAGS :=
VERSION  := $(shell cat VERSION)

# pkg-config is only asked once the packages are there (see `deps`).
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
CHECK_LIBS = $(shell pkg-config --libs check yaml-0.1 2>/dev/null)

CFLAGS_ALL = $(CSTD) $(WARN) $(EXTRA_WARN) $(OPT) $(SANFLAGS) -Isrc $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

SRC      := $(shell find src -name '*.c' ! -name main.c | sort)
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libltvd.a
TEST_SRC := $(sort $(wildcard tests/unit/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_SRC := $(sort $(wildcard bench/*.c))
SERVICE_BENCH_SRC := $(sort $(wildcard bench/service/*.c))

.PHONY: all deps run test test-unit test-asan test-valgrind bench clean reference format
.PHONY: fuzz fuzz-build fuzz-smoke soak check-layers docs-check check-unit format-check

all: deps
	@$(MAKE) --no-print-directory ltvd

deps:
	@./scripts/deps.sh

ltvd: $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# The same binary inside a build directory (e.g. make BUILD=build/x build/x/ltvd,
# then LTVD_BIN=build/x/ltvd), so parallel builds do not overwrite ./ltvd.
$(BUILD)/ltvd: $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# `ltvd --version`: the one version string is the VERSION file.
$(BUILD)/src/main.o: VERSION
$(BUILD)/src/main.o: CFLAGS_ALL += -DLTVD_VERSION='"$(VERSION)"'

# The dashboard (web/, docs/dashboard.md): `npm ci` when node_modules is
# missing or older than the lockfile, then esbuild bundles it and
# web/build.mjs writes its files as a C table, compiled into the library.
WEB_SRC  := $(sort $(wildcard web/src/*)) web/build.mjs web/package.json
WEB_C    := $(BUILD)/web/dashboard_assets.c
WEB_OBJ  := $(BUILD)/web/dashboard_assets.o

web/node_modules/.ltvd-npm-ci: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_C): $(WEB_SRC) web/node_modules/.ltvd-npm-ci
	@mkdir -p $(dir $@)
	node web/build.mjs $(BUILD)/web

$(WEB_OBJ): $(WEB_C)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIB): $(OBJ) $(WEB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Suites are found by name, not declared in a header.
$(TEST_OBJ): EXTRA_WARN := -Wno-missing-prototypes

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# The check runner: every tests/unit/*.c defines `Suite *suite_NAME(void)`;
# the list is generated so a new suite file needs no edit elsewhere.
$(BUILD)/tests/suites.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@sed -n 's/^Suite \*\(suite_[a-z0-9_]*\)(void).*/X(\1)/p' $(TEST_SRC) > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/tests/runner.o: tests/runner.c $(BUILD)/tests/suites.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -I$(BUILD)/tests -c -o $@ $<

$(BUILD)/check_ltvd: $(BUILD)/tests/runner.o $(TEST_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CHECK_LIBS) $(PKG_LIBS)

$(BUILD)/bench_ltvd: $(BENCH_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# The body reader on pathological bodies (bench/body/body.c; docs/http.md).
$(BUILD)/bench_body: $(BUILD)/bench/body/body.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-body
bench-body: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench_body
	$(BUILD)/bench_body

# The marketer fields' cost per customer document (bench/fields/fields.c;
# docs/benchmarks.md).
$(BUILD)/bench_fields: $(BUILD)/bench/fields/fields.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-fields
bench-fields: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench_fields
	$(BUILD)/bench_fields

# `ltvd fit --summary` as a whole process on a 1M-row summary CSV against
# lifetimes (bench/fitcsv/fitcsv.c; docs/benchmarks.md). The CSV (~50 MB) is
# written under the build directory.
$(BUILD)/bench_fitcsv: $(BUILD)/bench/fitcsv/fitcsv.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-fitcsv
bench-fitcsv: deps
	@$(MAKE) --no-print-directory $(BUILD)/ltvd $(BUILD)/bench_fitcsv
	$(BUILD)/bench_fitcsv $(BUILD)/ltvd $(BUILD)/bench_fitcsv.csv

# `ltvd fit --covariates` as a whole process on 1M simulated customers in 4
# channels (bench/covfit/covfit.c; docs/benchmarks.md); files under the build dir.
$(BUILD)/bench_covfit: $(BUILD)/bench/covfit/covfit.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-covariates
bench-covariates: deps
	@$(MAKE) --no-print-directory $(BUILD)/ltvd $(BUILD)/bench_covfit
	$(BUILD)/bench_covfit $(BUILD)/ltvd $(BUILD)

# The CLV of one list item at a custom horizon, per model (bench/clv/clv.c;
# docs/benchmarks.md).
$(BUILD)/bench_clv: $(BUILD)/bench/clv/clv.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-clv
bench-clv: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench_clv
	$(BUILD)/bench_clv

# One customer's 90% intervals beside its point scores, per model
# (bench/intervals/intervals.c; docs/intervals.md).
$(BUILD)/bench_intervals: $(BUILD)/bench/intervals/intervals.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

.PHONY: bench-intervals
bench-intervals: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench_intervals
	$(BUILD)/bench_intervals

# The C half of the service benchmarks (bench/service.sh runs it).
$(BUILD)/bench_service: $(SERVICE_BENCH_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# make run: a local PostgreSQL of the project's own (unless DATABASE_URL is
# set), the migrations, then `ltvd serve` on LTVD_LISTEN (127.0.0.1:8080).
run: all
	./scripts/run_local.sh

# make test: the check suites (the CLI end-to-end suite among them), then again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then each libFuzzer target briefly.
test: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory check-layers
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory docs-check
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory fuzz-smoke

# The suites that need neither PostgreSQL nor a server: `make check-unit`
# runs them in about 15 s (the NBD property grids sampled more thinly,
# LTVD_TEST_SHORT=1), for the changes that never touch the database.
UNIT_SUITES := backtest,batch,bgbb,bgnbd,cache,config,copy_text,csv,docker,fit,gg,http,hyp2f1,\
	json_out,mbgnbd,offload,pareto,retention,score,scores,slots,summary,summary_read,ticker,tls
check-unit: $(BUILD)/ltvd $(BUILD)/check_ltvd
	env -u DATABASE_URL LTVD_BIN=$(BUILD)/ltvd LTVD_SUITES='$(UNIT_SUITES)' LTVD_TEST_SHORT=1 \
	  $(BUILD)/check_ltvd

# The store suite needs a PostgreSQL: scripts/with_pg.sh starts a temporary
# one for the run (and removes it) unless DATABASE_URL is already set.
# scripts/run_checks.sh repeats the failures at the end of the output (and
# keeps it all in build/.../check.log): CI shows only the log's tail.
test-unit: ltvd $(BUILD)/check_ltvd
	scripts/run_checks.sh $(BUILD)/check.log $(BUILD)/check_ltvd

# No include cycle between the folders of src/, and no forbidden edge
# (scripts/check_layers.sh). The check is first shown to catch a cycle in a
# two-folder tree made for the purpose, so it cannot pass vacuously.
check-layers:
	@t=$$(mktemp -d) && mkdir -p $$t/a $$t/b && echo '#include "b/b.h"' > $$t/a/a.c && \
	  echo '#include "a/a.h"' > $$t/b/b.c && \
	  if scripts/check_layers.sh $$t >/dev/null 2>&1; then echo "check_layers missed a cycle" >&2; rm -rf $$t; exit 1; fi; \
	  rm -rf $$t
	@scripts/check_layers.sh src

# The docs check: runs the ```sh blocks of README.md and docs/*.md as written,
# against a new PostgreSQL and a real server (scripts/docs_check.sh).
docs-check: ltvd
	LTVD_BIN=$${LTVD_BIN:-./ltvd} scripts/docs_check.sh

# The suites under valgrind's memcheck (no fork, so leaks are attributed).
test-valgrind: ltvd $(BUILD)/check_ltvd
	CK_FORK=no scripts/with_pg.sh valgrind --leak-check=full \
	  --errors-for-leak-kinds=definite,indirect --error-exitcode=99 $(BUILD)/check_ltvd

test-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" build/asan/check_ltvd
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 CK_FORK=no \
	  scripts/run_checks.sh build/asan/check.log build/asan/check_ltvd

# The libFuzzer targets fuzz/fuzz_*.c (clang, ASan + UBSan, the library
# rebuilt under build/fuzz). `make fuzz` runs each for FUZZ_SECONDS on its
# corpus copied to build/fuzz/corpus; `make fuzz-smoke` (part of make test)
# runs each over its seeds plus a few thousand mutations. scripts/fuzz.sh.
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all

$(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%): $(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-build: deps
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	  SANFLAGS="$(FUZZ_SAN)" $(FUZZ_SRC:fuzz/%.c=build/fuzz/fuzz/%)

fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	scripts/fuzz.sh smoke

# make bench: the model benchmarks, one list item's LTV per model (bench-clv),
# `ltvd fit --summary` on 1M rows, then the
# service benchmarks of issue 3 (bench/service.sh: wrk, nginx and psql against a temporary PostgreSQL; its
# packages come from `deps.sh bench`, never needed by make test), and the
# customer document's 90% intervals (bench-intervals, bench/intervals.sh). Targets
# missed are reported in its table, not failed.
bench: deps
	@./scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/ltvd $(BUILD)/bench_ltvd $(BUILD)/bench_service
	$(BUILD)/bench_ltvd
	@$(MAKE) --no-print-directory bench-clv
	@$(MAKE) --no-print-directory bench-fitcsv
	@$(MAKE) --no-print-directory bench-covariates
	LTVD_BIN=$(BUILD)/ltvd BENCH_SERVICE=$(BUILD)/bench_service bench/service.sh
	scripts/with_pg.sh bench/tenants.sh $(BUILD)/ltvd $(BUILD)/bench_service
	LTVD_BIN=$(BUILD)/ltvd bench/acquisition.sh
	LTVD_BIN=$(BUILD)/ltvd bench/diagnostics.sh
	@$(MAKE) --no-print-directory bench-intervals
	LTVD_BIN=$(BUILD)/ltvd bench/intervals.sh

# make soak (issue 4; not part of make test or CI): mixed ingest and reads
# against `ltvd serve` for SOAK_SECONDS (bench/soak.sh, load from
# bench/soak/soak.c): requests, errors (must be 0), transactions acknowledged
# vs stored (must be equal), VmRSS after warm-up and at the end (no growth).
SOAK_SECONDS ?= 60

$(BUILD)/bench_soak: $(BUILD)/bench/soak/soak.o $(BUILD)/bench/service/client.o \
		$(BUILD)/bench/service/stats.o
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lpthread

soak: deps
	@$(MAKE) --no-print-directory $(BUILD)/ltvd $(BUILD)/bench_service $(BUILD)/bench_soak
	LTVD_BIN=$(BUILD)/ltvd BENCH_SERVICE=$(BUILD)/bench_service BENCH_SOAK=$(BUILD)/bench_soak \
	  SOAK_SECONDS=$(SOAK_SECONDS) bench/soak.sh

# Regenerates the high-precision reference values (needs python3-mpmath, and
# python3-scipy for the second covariate fit).
reference:
	@command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c "import mpmath, scipy" 2>/dev/null || \
	  { apt-get install -y -qq python3 python3-mpmath python3-scipy >/dev/null || sudo apt-get install -y -qq python3 python3-mpmath python3-scipy >/dev/null; }
	@for f in tests/reference/*.py; do echo "$$f"; /usr/bin/python3 "$$f" || exit 1; done

format:
	clang-format -i $$(find src tests bench -name '*.[ch]')

# Every C file as .clang-format lays it out (run by make test; `make format`
# fixes what it reports).
format-check: deps
	@clang-format --dry-run -Werror $$(find src tests bench -name '*.[ch]') && \
	  echo "format-check: $$(find src tests bench -name '*.[ch]' | wc -l) files ok"

clean:
	rm -rf build ltvd

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
