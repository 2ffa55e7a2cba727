# ltvd container image: a build stage that compiles ltvd and runs its whole
# test suite, then a slim runtime stage with only the shared libraries.
#
#   docker build -t ltvd .
#   docker run -e DATABASE_URL=postgresql://user:pw@host:5432/db -p 8080:8080 ltvd
#
# or `docker compose up` (docker-compose.yml: PostgreSQL 15, then ltvd).
# tests/unit/test_docker.c checks the structure of this file.

# --- Stage 1: build and test ------------------------------------------------
# Debian 12 (bookworm), the distribution the project builds and is tested on.
# The packages are those of scripts/deps.sh (so `make`'s own deps step finds
# them all and installs nothing) plus the compiler and make; curl is for the
# docs check of make test, which runs the README's session. The postgresql
# server is there for the tests: scripts/with_pg.sh starts a temporary cluster
# (scripts/pg_local.sh runs it as the `postgres` user when, as here, the build
# runs as root). Debian's automatic "main" cluster is switched off: the tests
# never use it. nodejs and npm bundle the dashboard (web/, `npm ci` from the
# committed lockfile), chromium runs its browser test.
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/ltvd.conf \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential pkg-config \
        libgsl-dev libjansson-dev libmicrohttpd-dev libpq-dev libgnutls28-dev libyaml-dev check \
        postgresql curl nodejs npm chromium \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore keeps the host's build/, ./ltvd and .git out of the context.
COPY . .
RUN make
# Every check suite against a temporary PostgreSQL, then again under
# ASan+UBSan. Builders are often slower than a workstation: give check's
# per-test timeouts some room. A failing test fails the image build.
RUN CK_TIMEOUT_MULTIPLIER=4 make test

# --- Stage 2: runtime ---------------------------------------------------------
# debian:12-slim with only the runtime libraries ltvd links (package names of
# Debian 12: GSL 2.7 is libgsl27 + libgslcblas0, jansson libjansson4,
# libmicrohttpd 0.9.75 libmicrohttpd12, libpq libpq5, GnuTLS libgnutls30),
# and tini as PID 1: it forwards SIGTERM to `ltvd serve` (graceful drain) and
# reaps, and ltvd is not PID 1 itself, whose signals without a handler (the
# SIGALRM shutdown backstop) the kernel would drop.
FROM debian:12-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libgsl27 libgslcblas0 libjansson4 libmicrohttpd12 libpq5 libgnutls30 tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 ltvd \
    && useradd --system --uid 10001 --gid ltvd --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin ltvd
COPY --from=build /src/ltvd /usr/local/bin/ltvd
# ltvd reads config/ltvd.conf and migrations/ relative to its working
# directory; both are read-only for the service user (owned by root).
WORKDIR /app
COPY --from=build /src/config/ /app/config/
COPY --from=build /src/migrations/ /app/migrations/
ENV LTVD_LISTEN=0.0.0.0:8080 \
    LTVD_MIGRATIONS_DIR=/app/migrations
USER 10001:10001
EXPOSE 8080
# The probe needs no curl or wget: bash (always in Debian, slim included)
# opens a TCP connection through /dev/tcp, sends a plain HTTP/1.0 GET
# /healthz and requires a 200 status line. The port is the 8080 of
# LTVD_LISTEN above; change both together. docker-compose.yml uses the same
# command.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q '^HTTP/1\\.[01] 200 '"]
# Apply pending migrations to DATABASE_URL (from the environment; nothing is
# baked in), then replace the shell with the server. A failed migration
# stops the container with ltvd's message and exit status 1.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/bin/sh", "-c", "ltvd migrate && exec ltvd serve"]
