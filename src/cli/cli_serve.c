/* `ltvd serve`: loads the configuration, serves HTTP until SIGTERM or
 * SIGINT, then stops accepting, lets the requests in flight finish within
 * shutdown_deadline_s, and exits. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "http/health.h"
#include "http/log.h"
#include "http/server.h"

static const char serve_usage[] =
    "usage: ltvd serve [--config FILE]\n"
    "  --config FILE  configuration file (default config/ltvd.conf; the default\n"
    "                 may be missing, then the built-in defaults apply)\n"
    "Every key can be overridden by LTVD_<KEY>; DATABASE_URL names the database.\n";

/* Not ready until the store and a model are wired into the server. */
static bool readiness(void *cls, char *why, size_t n)
{
    const ltvd_config *cfg = cls;
    snprintf(why, n, "%s", cfg->database_url[0] == '\0'
                               ? "no database configured"
                               : "the database is not wired into the server yet");
    return false;
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
    http_server *server = http_server_new(&cfg);
    if (server == NULL || !http_server_add_routes(server, health_routes, health_nroutes)) {
        fprintf(stderr, "ltvd serve: out of memory\n");
        http_server_free(server);
        return 1;
    }
    http_server_set_readiness(server, readiness, &cfg);
    if (!http_server_start(server, err)) {
        fprintf(stderr, "ltvd serve: %s\n", err);
        http_server_free(server);
        return 1;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    log_write(LOG_INFO, "%s received: stopping (deadline %lds)", sig == SIGINT ? "SIGINT" : "SIGTERM",
              cfg.shutdown_deadline_s);
    /* backstop: a handler stuck past the deadline must not keep us alive */
    alarm((unsigned)cfg.shutdown_deadline_s + 2);
    bool drained = http_server_stop(server, (double)cfg.shutdown_deadline_s);
    http_server_free(server);
    log_write(LOG_INFO, "stopped");
    return drained ? 0 : 1;
}
