/* `ltvd serve`: loads the configuration, listens at once (and on
 * health_listen), then starts the app while /healthz, /readyz and /metrics
 * answer (migrations, API keys, cache rebuild, model snapshot, worker,
 * catch-up; the /v1 routes answer 503 `starting` meanwhile, and a start-up
 * that fails still exits 1 with its message); serves HTTP until SIGTERM or
 * SIGINT, then stops accepting, lets the requests in flight finish within
 * shutdown_deadline_s, and exits 0 by then in any case: a backstop thread
 * ends the process at the deadline when a handler (or the clean-up) is
 * still running. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "app/app_metrics.h"
#include "app/checkpoint.h"
#include "app/db_wait.h"
#include "app/mode.h"
#include "auth/auth.h"
#include "cli/cli.h"
#include "config/config.h"
#include "http/api.h"
#include "http/health.h"
#include "http/server.h"
#include "log/log.h"

static const char serve_usage[] =
    "usage: ltvd serve [--config FILE]\n"
    "  --config FILE  configuration file (default config/ltvd.conf; the default\n"
    "                 may be missing, then the built-in defaults apply)\n"
    "Every key can be overridden by LTVD_<KEY>; DATABASE_URL names the database\n"
    "(without it only the operations endpoints are served, never ready);\n"
    "LTVD_MIGRATIONS_DIR the migrations (default migrations); DATABASE_READ_URL,\n"
    "when set, where the start-up cache rebuild is read (a replica).\n";

/* Without a database nothing but the operations endpoints can run. */
static bool readiness_no_db(void *cls, char *why, size_t n)
{
    (void)cls;
    snprintf(why, n, "no database configured");
    return false;
}

/* Wires the app (not loaded yet: app_new) and an empty copy of the API
 * keys (loaded by start_app after the migrations: the /v1 endpoints need
 * them unless auth_required is off, a private /metrics in any case) into
 * server when a database is configured, with its routes and the start-up
 * check that keeps them 503 `starting` until start_app is through. Returns
 * false with a message in err; *out is the app or NULL (no database),
 * *keys the API keys or NULL. */
static bool wire_app(http_server *server, const ltvd_config *cfg, app **out,
                     auth_keys **keys, char err[CONFIG_ERR_MAX])
{
    *out = NULL;
    *keys = NULL;
    if (cfg->database_url[0] == '\0') {
        http_server_set_readiness(server, readiness_no_db, NULL);
        return true;
    }
    const char *dir = getenv("LTVD_MIGRATIONS_DIR");
    app *a = app_new(cfg, dir != NULL && dir[0] != '\0' ? dir : "migrations", err);
    if (a == NULL)
        return false;
    *out = a;
    if (!cfg->auth_required)
        log_write(LOG_WARN,
                  "auth_required is false: the /v1 endpoints are open to anyone");
    if ((*keys = auth_keys_new(AUTH_RELOAD_MS)) == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "api keys: out of memory");
        return false;
    }
    if (!api_add_routes(server)) {
        snprintf(err, CONFIG_ERR_MAX, "too many routes");
        return false;
    }
    http_server_set_auth(server, *keys);
    http_server_set_app(server, a);
    http_server_set_tenants(server, app_http_tenant_acquire, app_http_tenant_release);
    http_server_set_started(server, app_started, a);
    http_server_set_readiness(server, app_ready, a);
    http_server_set_read_only(server, app_read_only, a);
    http_server_set_metrics_source(server, app_metrics_render, a);
    return true;
}

/* The checkpoint writer (app/checkpoint.h), stopped before the app. */
static app_checkpoint *checkpoints;

/* Start-up proper, while the listeners answer: migrations, the API keys,
 * the cache rebuild and the model snapshot, the worker and the catch-up;
 * then every route is served. Returns false with a message in err. */
static bool start_app(const ltvd_config *cfg, app *a, auth_keys *keys,
                      char err[CONFIG_ERR_MAX])
{
    if (app_start_migrate(a, err) != 0)
        return false;
    char why[AUTH_ERR_MAX];
    store_db_limits lim;
    app_db_limits(cfg, &lim);
    if (auth_keys_connect(keys, cfg->database_url, &lim, why) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "%s", why);
        return false;
    }
    log_write(LOG_INFO, "api keys: %zu valid", auth_keys_count(keys));
    if (app_start_load(a, err) != 0)
        return false;
    if (!app_worker_start(a)) {
        snprintf(err, CONFIG_ERR_MAX, "the refit worker could not be started");
        return false;
    }
    if (!app_sync_begin(a)) {
        snprintf(err, CONFIG_ERR_MAX, "the cache catch-up could not be started");
        return false;
    }
    checkpoints = app_checkpoint_start(a); /* NULL: none written (logged) */

    app_start_serving(a);
    return true;
}

/* Parses argv; returns the config path, or NULL after printing usage
 * (*status says with which exit status). */
static const char *parse_args(int argc, char **argv, int *status)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = CONFIG_DEFAULT_PATH;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            path = optarg;
        } else {
            fputs(serve_usage, c == 'h' ? stdout : stderr);
            *status = c == 'h' ? 0 : 2;
            return NULL;
        }
    }
    if (optind < argc) {
        fputs(serve_usage, stderr);
        *status = 2;
        return NULL;
    }
    return path;
}

/* Blocks the stop signals in every thread (libmicrohttpd's threads inherit
 * the mask) so that only sigwait sees them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The stop signal, taken by one thread from the start: during start-up
 * (which may wait on a hung database up to its bounds) it ends the process
 * at once with status 0 (nothing was acknowledged yet); once serving, it is
 * handed to the main thread, which stops the server in order. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sigset_t set;
    int sig;      /* the signal received, 0 until then */
    bool serving; /* start-up is over: the main thread stops */
} stopper = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *stop_watch(void *arg)
{
    (void)arg;
    int sig = 0;
    sigwait(&stopper.set, &sig);
    pthread_mutex_lock(&stopper.mu);
    stopper.sig = sig;
    bool serving = stopper.serving;
    pthread_cond_signal(&stopper.cv);
    pthread_mutex_unlock(&stopper.mu);
    if (!serving) {
        log_write(LOG_INFO, "%s during start-up: exiting",
                  sig == SIGINT ? "SIGINT" : "SIGTERM");
        _exit(0);
    }
    return NULL;
}

/* Waits for the stop signal once serving; returns it. */
static int wait_stop(void)
{
    pthread_mutex_lock(&stopper.mu);
    stopper.serving = true;
    while (stopper.sig == 0)
        pthread_cond_wait(&stopper.cv, &stopper.mu);
    int sig = stopper.sig;
    pthread_mutex_unlock(&stopper.mu);
    return sig;
}

/* When the backstop ends the process (CLOCK_MONOTONIC). */
typedef struct backstop {
    struct timespec at;
} backstop;

/* Ends the process with status 0 at the deadline. A request still running
 * then was never acknowledged (an ingest's transaction is rolled back when
 * its connection goes), so nothing is lost, and an orchestrator expects a
 * stop to succeed. */
static void *backstop_run(void *arg)
{
    backstop *b = arg;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &b->at, NULL) != 0) {
    }
    /* http_server_stop has logged how many requests were still in flight */
    log_write(LOG_WARN, "stopped at the deadline (shutdown_deadline_s): a request or the "
                        "clean-up was still running");
    _exit(0);
}

/* Starts the backstop for deadline_s from now. Returns false when the
 * thread cannot start (the stop then waits for the clean-up). */
static bool backstop_start(backstop *b, long deadline_s)
{
    clock_gettime(CLOCK_MONOTONIC, &b->at);
    b->at.tv_sec += deadline_s;
    pthread_t t;
    if (pthread_create(&t, NULL, backstop_run, b) != 0)
        return false;
    pthread_detach(t);
    return true;
}

/* The listener of health_listen: /healthz, /readyz and /metrics only, on
 * one thread and a few connections of its own, sharing the main server's
 * readiness, metrics source and keys. Its config is cfg with listen set to
 * health_listen (kept in *hcfg, which must outlive it). NULL with a
 * message in err when it cannot start. */
static http_server *health_server_start(const ltvd_config *cfg, ltvd_config *hcfg, app *a,
                                        auth_keys *keys, char err[CONFIG_ERR_MAX])
{
    *hcfg = *cfg;
    if (!config_set(hcfg, "listen", cfg->health_listen, err))
        return NULL;
    hcfg->thread_pool_size = 1;
    hcfg->offload_threads = 1;
    hcfg->connection_limit = 64;
    hcfg->per_ip_limit = 0;
    http_server *h = http_server_new(hcfg);
    if (h == NULL || !http_server_add_probe_routes(h, health_routes, health_nroutes)) {
        snprintf(err, CONFIG_ERR_MAX, "out of memory");
        http_server_free(h);
        return NULL;
    }
    http_server_set_auth(h, keys);
    if (a != NULL) {
        http_server_set_app(h, a);
        http_server_set_tenants(h, app_http_tenant_acquire, app_http_tenant_release);
        http_server_set_started(h, app_started, a);
        http_server_set_readiness(h, app_ready, a);
        http_server_set_read_only(h, app_read_only, a);
        http_server_set_metrics_source(h, app_metrics_render, a);
    } else {
        http_server_set_readiness(h, readiness_no_db, NULL);
    }
    if (!http_server_start(h, err)) {
        http_server_free(h);
        return NULL;
    }
    return h;
}

int cli_serve_main(int argc, char **argv)
{
    int status = 0;
    const char *path = parse_args(argc, argv, &status);
    if (path == NULL)
        return status;
    static ltvd_config cfg;
    char err[CONFIG_ERR_MAX];
    if (!config_load(&cfg, path, err)) {
        fprintf(stderr, "ltvd serve: %s\n", err);
        return 2;
    }
    sigset_t stop;
    block_signals(&stop);
    stopper.set = stop;
    pthread_t watcher;
    if (pthread_create(&watcher, NULL, stop_watch, NULL) != 0) {
        fprintf(stderr, "ltvd serve: cannot start the signal thread\n");
        return 1;
    }
    pthread_detach(watcher);
    http_server *server = http_server_new(&cfg);
    if (server == NULL ||
        !http_server_add_probe_routes(server, health_routes, health_nroutes)) {
        fprintf(stderr, "ltvd serve: out of memory\n");
        http_server_free(server);
        return 1;
    }
    app *a = NULL;
    auth_keys *keys = NULL;
    static ltvd_config health_cfg;
    http_server *health = NULL;
    /* listening first (a second server on the port fails here, at once):
     * the probes answer while start_app runs, the /v1 routes 503 */
    bool ok = wire_app(server, &cfg, &a, &keys, err) && http_server_start(server, err);
    if (ok && cfg.health_listen[0] != '\0' &&
        (health = health_server_start(&cfg, &health_cfg, a, keys, err)) == NULL) {
        char why[CONFIG_ERR_MAX];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, CONFIG_ERR_MAX, "health_listen: %.200s", why);
        ok = false;
    }
    if (ok && a != NULL && !start_app(&cfg, a, keys, err)) {
        app_start_failed(a, err); /* what the probes say until the exit */
        ok = false;
    }
    if (ok && a == NULL)
        log_write(LOG_INFO, "started in 0.000 s: no database configured, the operations "
                            "endpoints only");
    if (!ok) {
        fprintf(stderr, "ltvd serve: %s\n", err);
        if (health != NULL)
            http_server_stop(health, 0);
        http_server_free(health);
        http_server_stop(server, 0);
        http_server_free(server);
        auth_keys_free(keys);
        app_free(a);
        return 1;
    }
    int sig = wait_stop();
    log_write(LOG_INFO, "%s received: stopping (deadline %lds)",
              sig == SIGINT ? "SIGINT" : "SIGTERM", cfg.shutdown_deadline_s);
    /* a handler stuck past the deadline must not keep us alive */
    static backstop stop_by;
    if (!backstop_start(&stop_by, cfg.shutdown_deadline_s))
        log_write(LOG_WARN, "no shutdown backstop thread: waiting for the requests");
    /* Requests still open near the deadline (a client that never finished
     * its body, a handler still working) were never acknowledged, so nothing
     * is lost: the server logs how many were cut and still exits 0, as
     * orchestrators expect of a stop. Half a second is left for closing. */
    if (health != NULL) {
        http_server_stop(health, 0.5);
        http_server_free(health);
    }
    bool drained = http_server_stop(server, (double)cfg.shutdown_deadline_s - 0.5);
    http_server_free(server);
    auth_keys_free(keys);
    app_checkpoint_stop(checkpoints); /* a checkpoint being written is rolled back */
    app_free(a);
    log_write(LOG_INFO, drained ? "stopped" : "stopped at the deadline");
    return 0;
}
