/* The HTTP server: libmicrohttpd set-up, start and graceful stop.
 *
 * Threads: MHD_OPTION_THREAD_POOL_SIZE workers, each polling its share of
 * the connections with poll(). Not epoll: libmicrohttpd 0.9.75 in epoll
 * mode stalls when exactly 128 connections are ready at once (DESIGN.md),
 * and tests/unit/test_http.c checks 130 concurrent connections. Besides
 * libmicrohttpd's idle timeout, the deadlines of http/deadline.h close
 * connections that trickle a request or read its answer too slowly
 * (tests/unit/test_abuse.c, test_edge.c). The listening socket has
 * SO_REUSEADDR only, libmicrohttpd's default (never SO_REUSEPORT): a second
 * server on the same address fails to start instead of sharing the port. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/deadline.h"
#include "http/offload.h"
#include "http/router.h"
#include "log/log.h"

/* The largest certificate or key file read for HTTPS. */
#define TLS_FILE_MAX (1024 * 1024)

/* Per-connection memory of libmicrohttpd: the request line and headers
 * must fit, so it is twice the largest max_url_bytes (16 KiB); longer
 * request heads get libmicrohttpd's own 414/431. No larger: libmicrohttpd
 * clears the pool between the requests of a connection (64 KiB cost 9% of
 * a GET's time, perf on wrk -c64). */
#define CONNECTION_MEMORY (32 * 1024)

struct http_server {
    const ltvd_config *cfg;
    http_context ctx;
    router router;
    struct MHD_Daemon *daemon;
    deadlines *deadlines; /* running while the daemon is */
    uint16_t port;
    bool quiesced;
    char *tls_cert, *tls_key; /* PEM text of tls_cert_file and tls_key_file, or NULL */
};

http_server *http_server_new(const ltvd_config *cfg)
{
    http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->cfg = cfg;
    s->ctx.config = cfg;
    router_init(&s->router, &s->ctx);
    return s;
}

bool http_server_add_routes(http_server *s, const http_route *table, size_t n)
{
    return s->daemon == NULL && router_add(&s->router, table, n);
}

bool http_server_add_probe_routes(http_server *s, const http_route *table, size_t n)
{
    return s->daemon == NULL && router_add_probes(&s->router, table, n);
}

void http_server_set_readiness(http_server *s, http_readiness ready, void *cls)
{
    s->ctx.ready = ready;
    s->ctx.ready_cls = cls;
}

void http_server_set_started(http_server *s, http_readiness started, void *cls)
{
    s->ctx.started = started;
    s->ctx.started_cls = cls;
}

void http_server_set_read_only(http_server *s, http_readiness read_only, void *cls)
{
    s->ctx.read_only = read_only;
    s->ctx.read_only_cls = cls;
}

void http_server_set_metrics_source(http_server *s, http_metrics_source source, void *cls)
{
    s->ctx.more_metrics = source;
    s->ctx.more_metrics_cls = cls;
}

void http_server_set_app(http_server *s, void *app)
{
    s->ctx.app = app;
}

void http_server_set_tenants(http_server *s, void *(*acquire)(void *app, const char *id),
                             void (*release)(void *tenant))
{
    s->ctx.tenant_acquire = acquire;
    s->ctx.tenant_release = release;
}

void http_server_set_auth(http_server *s, struct auth_keys *auth)
{
    s->ctx.auth = auth;
}

/* ----------------------------------------------------------------- HTTPS */

/* The whole of path as a NUL-terminated malloc'd string, or NULL with err. */
static char *read_pem(const char *key, const char *path, char err[CONFIG_ERR_MAX])
{
    FILE *f = fopen(path, "rb");
    char *text = f != NULL ? malloc(TLS_FILE_MAX + 1) : NULL;
    size_t n = text != NULL ? fread(text, 1, TLS_FILE_MAX + 1, f) : 0;
    if (f == NULL || text == NULL || ferror(f) || n == 0 || n > TLS_FILE_MAX) {
        snprintf(err, CONFIG_ERR_MAX, "%s: %.180s: %s", key, path,
                 f == NULL      ? strerror(errno)
                 : text == NULL ? "out of memory"
                 : n == 0       ? "empty or unreadable"
                                : "larger than 1 MiB");
        free(text);
        text = NULL;
    } else {
        text[n] = '\0';
    }
    if (f != NULL)
        fclose(f);
    return text;
}

/* Reads the certificate and key files when HTTPS is configured. */
static bool tls_load(http_server *s, char err[CONFIG_ERR_MAX])
{
    if (s->cfg->tls_cert_file[0] == '\0')
        return true;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, CONFIG_ERR_MAX,
                 "tls_cert_file: libmicrohttpd was built without TLS");
        return false;
    }
    if (s->tls_cert == NULL &&
        (s->tls_cert = read_pem("tls_cert_file", s->cfg->tls_cert_file, err)) == NULL)
        return false;
    if (s->tls_key == NULL &&
        (s->tls_key = read_pem("tls_key_file", s->cfg->tls_key_file, err)) == NULL)
        return false;
    return true;
}

/* Frees the PEM texts, wiping the private key first. */
static void tls_forget(http_server *s)
{
    if (s->tls_key != NULL)
        explicit_bzero(s->tls_key, strlen(s->tls_key));
    free(s->tls_key);
    free(s->tls_cert);
    s->tls_key = s->tls_cert = NULL;
}

/* ---------------------------------------------------------------- daemon */

static struct MHD_Daemon *start_daemon(http_server *s, const struct sockaddr_in *addr)
{
    const ltvd_config *c = s->cfg;
    unsigned int flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                         MHD_ALLOW_SUSPEND_RESUME; /* for the offload pool */
    /* HTTPS adds two options; without it the array ends at once */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    if (s->tls_cert != NULL)
        flags |= MHD_USE_TLS;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, router_access, &s->router,
        /* first, so that no message goes to libmicrohttpd's own logger */
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_SOCK_ADDR,
        (const struct sockaddr *)addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)c->thread_pool_size, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)c->connection_limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)c->per_ip_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)c->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, router_completed,
        &s->router, MHD_OPTION_NOTIFY_CONNECTION, deadlines_notify, s->deadlines,
        MHD_OPTION_UNESCAPE_CALLBACK, router_unescape, &s->router, MHD_OPTION_ARRAY,
        s->tls_cert != NULL ? tls : tls + 2, MHD_OPTION_END);
}

bool http_server_start(http_server *s, char err[CONFIG_ERR_MAX])
{
    if (s->daemon != NULL)
        return true;
    if (!tls_load(s, err))
        return false;
    size_t n = s->router.nroutes;
    if (s->ctx.metrics == NULL && (s->ctx.metrics = metrics_new(n)) == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        metrics_set_route(s->ctx.metrics, i, s->router.routes[i]->method,
                          s->router.routes[i]->pattern);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons(s->cfg->listen_port)};
    inet_pton(AF_INET, s->cfg->listen_host, &addr.sin_addr);
    if ((s->deadlines = deadlines_start(s->cfg->connection_timeout_s)) == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "cannot start the request deadlines' thread");
        return false;
    }
    long n_off = config_offload_threads(s->cfg);
    if ((s->router.pool = offload_start((size_t)n_off, (size_t)s->cfg->offload_queue)) ==
        NULL) {
        deadlines_stop(s->deadlines);
        s->deadlines = NULL;
        snprintf(err, CONFIG_ERR_MAX, "cannot start the offload threads");
        return false;
    }
    errno = 0;
    s->daemon = start_daemon(s, &addr);
    if (s->daemon == NULL) {
        int e = errno;
        offload_stop(s->router.pool);
        s->router.pool = NULL;
        deadlines_stop(s->deadlines);
        s->deadlines = NULL;
        snprintf(err, CONFIG_ERR_MAX, "cannot listen on %s: %s%s", s->cfg->listen,
                 e == EADDRINUSE ? "the address is already in use (is another server "
                                   "listening there?)"
                 : e != 0        ? strerror(e)
                                 : "libmicrohttpd could not start",
                 s->tls_cert != NULL
                     ? " (or tls_cert_file and tls_key_file are not a PEM "
                       "certificate and its key)"
                     : "");
        return false;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : s->cfg->listen_port;
    s->quiesced = false;
    log_write(LOG_INFO, "listening on %s:%u (%ld threads, poll, %s)", s->cfg->listen_host,
              (unsigned)s->port, s->cfg->thread_pool_size,
              s->tls_cert != NULL ? "https" : "http");
    return true;
}

uint16_t http_server_port(const http_server *s)
{
    return s->daemon != NULL ? s->port : 0;
}

metrics *http_server_metrics(http_server *s)
{
    return s->ctx.metrics;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

bool http_server_stop(http_server *s, double deadline_s)
{
    if (s->daemon == NULL)
        return true;
    if (!s->quiesced) {
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
        s->quiesced = true;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (router_in_flight(&s->router) > 0 && seconds_since(&t0) < deadline_s)
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    long left = router_in_flight(&s->router);
    if (left > 0)
        log_write(LOG_WARN, "stopping with %ld requests still in flight", left);
    /* drained before the daemon stops: libmicrohttpd may not stop with a
     * connection suspended, and every offloaded one resumes when its
     * handler ends (each is bounded; shutdown_deadline_s is the backstop);
     * freed after, when no HTTP thread can submit any more */
    offload_drain(s->router.pool); /* later requests get 503 too-busy */
    MHD_stop_daemon(s->daemon);
    offload_free(s->router.pool); /* no HTTP thread is left to reach it */
    s->router.pool = NULL;
    s->daemon = NULL;
    deadlines_stop(s->deadlines);
    s->deadlines = NULL;
    return left == 0;
}

void http_server_free(http_server *s)
{
    if (s == NULL)
        return;
    http_server_stop(s, 0);
    tls_forget(s);
    metrics_free(s->ctx.metrics);
    free(s);
}
