/* Service configuration: the key table, the file reader and the
 * environment overrides. Every value, default included, goes through
 * config_set, so a default is checked exactly like an operator's value. */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary/summary.h"

#define F(field) offsetof(ltvd_config, field)
#define S(field) sizeof(((ltvd_config *)0)->field)

/* Sorted by name; config/ltvd.conf documents each key (tests/unit/test_config.c). */
static const config_key keys[] = {
    {"as_of", CONFIG_STRING, F(as_of), S(as_of), "", 0, 0, NULL,
     "score and fit as of this date (YYYY-MM-DD or RFC 3339); empty = now"},
    {"auth_required", CONFIG_BOOL, F(auth_required), 0, "true", 0, 0, NULL,
     "the /v1 endpoints need an API key (ltvd key create); false opens them (demos)"},
    {"backtest_holdout_days", CONFIG_INT, F(backtest_holdout_days), 0, "0", 0, 36500,
     NULL,
     "days of the most recent history the refit's back-test holds out; 0 = a quarter of "
     "the history, at most 180"},
    {"backtest_statement_timeout_ms", CONFIG_INT, F(backtest_statement_timeout_ms), 0,
     "600000", 0, 86400000, NULL,
     "statement_timeout of the refit's back-test reads (a connection of their own, in "
     "the background); 0 = none"},
    {"cache_checkpoint_interval_s", CONFIG_INT, F(cache_checkpoint_interval_s), 0, "3600",
     0, 604800, NULL,
     "seconds between checkpoints of the cache's summaries, loaded at start-up; 0 = "
     "never"},
    {"cache_sync_ms", CONFIG_INT, F(cache_sync_ms), 0, "1000", 0, 3600000, NULL,
     "milliseconds between cache catch-ups with PostgreSQL; 0 = never"},
    {"churn_high_below", CONFIG_DOUBLE, F(churn_high_below), 0, "0.3", 0, 1, NULL,
     "P(alive) below which the churn risk is high"},
    {"churn_medium_below", CONFIG_DOUBLE, F(churn_medium_below), 0, "0.7", 0, 1, NULL,
     "P(alive) below which the churn risk is medium"},
    {"connection_limit", CONFIG_INT, F(connection_limit), 0, "1024", 1, 65536, NULL,
     "most open client connections"},
    {"connection_timeout_s", CONFIG_INT, F(connection_timeout_s), 0, "30", 1, 3600, NULL,
     "seconds a connection may stay idle, or take to send a request's head or body or "
     "to read an answer"},
    {"db_connect_timeout_s", CONFIG_INT, F(db_connect_timeout_s), 0, "5", 1, 600, NULL,
     "seconds to connect to PostgreSQL"},
    {"db_idle_in_transaction_timeout_ms", CONFIG_INT,
     F(db_idle_in_transaction_timeout_ms), 0, "10000", 0, 86400000, NULL,
     "idle_in_transaction_session_timeout of the service's sessions; 0 = none"},
    {"db_keepalives_count", CONFIG_INT, F(db_keepalives_count), 0, "3", 1, 100, NULL,
     "TCP keepalives lost before a PostgreSQL connection counts as dead"},
    {"db_keepalives_idle_s", CONFIG_INT, F(db_keepalives_idle_s), 0, "10", 1, 7200, NULL,
     "idle seconds before the first TCP keepalive to PostgreSQL"},
    {"db_keepalives_interval_s", CONFIG_INT, F(db_keepalives_interval_s), 0, "3", 1, 600,
     NULL, "seconds between TCP keepalives to PostgreSQL"},
    {"db_lock_timeout_ms", CONFIG_INT, F(db_lock_timeout_ms), 0, "2000", 0, 3600000, NULL,
     "lock_timeout of the service's sessions; 0 = none"},
    {"db_request_threads", CONFIG_INT, F(db_request_threads), 0, "0", 0, 256, NULL,
     "requests that may wait on PostgreSQL at once; 0 = offload threads - 1"},
    {"db_request_timeout_ms", CONFIG_INT, F(db_request_timeout_ms), 0, "8000", 100,
     3600000, NULL, "longest a request waits on PostgreSQL before a 503"},
    {"db_statement_timeout_ms", CONFIG_INT, F(db_statement_timeout_ms), 0, "5000", 0,
     3600000, NULL, "statement_timeout of the service's sessions; 0 = none"},
    {"db_tcp_user_timeout_ms", CONFIG_INT, F(db_tcp_user_timeout_ms), 0, "10000", 0,
     3600000, NULL, "tcp_user_timeout of PostgreSQL connections; 0 = the system's"},
    {"discount_rate", CONFIG_DOUBLE, F(discount_rate), 0, "0.01", 0, 1, NULL,
     "monthly discount rate of the predicted LTV"},
    {"export_max", CONFIG_INT, F(export_max), 0, "4", 0, 1024, NULL,
     "GET /v1/customers/export streams at once in the process; 0 = none"},
    {"health_listen", CONFIG_STRING, F(health_listen), S(health_listen), "", 0, 0, NULL,
     "IPv4 address and port of a listener for /healthz, /readyz and /metrics only; empty "
     "= none"},
    {"horizon_days", CONFIG_INT, F(horizon_days), 0, "365", 1, 36500, NULL,
     "default prediction horizon in days"},
    {"lifecycle_established_repeats", CONFIG_INT, F(lifecycle_established_repeats), 0,
     "3", 1, 1000000, NULL,
     "repeat purchases from which an active customer is established"},
    {"lifecycle_new_days", CONFIG_INT, F(lifecycle_new_days), 0, "90", 1, 36500, NULL,
     "days after the first purchase during which a customer without repeats is new"},
    {"list_budget_ms", CONFIG_INT, F(list_budget_ms), 0, "2000", 10, 600000, NULL,
     "time budget of one GET /v1/customers request, in milliseconds"},
    {"list_horizon_days_max", CONFIG_INT, F(list_horizon_days_max), 0, "1095", 1, 36500,
     NULL, "largest horizon_days of GET /v1/customers"},
    {"list_refresh_ms", CONFIG_INT, F(list_refresh_ms), 0, "100", 10, 60000, NULL,
     "milliseconds between refreshes of the list score table"},
    {"list_rescore_max", CONFIG_INT, F(list_rescore_max), 0, "5000", 0, 1000000000, NULL,
     "most customers a list may score per request (past as_of, other options)"},
    {"list_score_helper", CONFIG_BOOL, F(list_score_helper), 0, "true", 0, 0, NULL,
     "a list page may start a second thread to score its items"},
    {"list_thread_share", CONFIG_INT, F(list_thread_share), 0, "50", 1, 100, NULL,
     "percent of the offload threads that lists may hold at once"},
    {"listen", CONFIG_STRING, F(listen), S(listen), "127.0.0.1:8080", 0, 0, NULL,
     "IPv4 address and port to listen on"},
    {"margin", CONFIG_DOUBLE, F(margin), 0, "1", 0, 1, NULL,
     "profit margin applied to expected spend in the LTV"},
    {"max_batch_items", CONFIG_INT, F(max_batch_items), 0, "10000", 1, 1000000, NULL,
     "most transactions in one POST /v1/transactions"},
    {"max_body_bytes", CONFIG_INT, F(max_body_bytes), 0, "8388608", 1024, 1073741824,
     NULL, "largest request body accepted"},
    {"max_url_bytes", CONFIG_INT, F(max_url_bytes), 0, "2048", 256, 16384, NULL,
     "longest request target (path and query) accepted"},
    {"metrics_public", CONFIG_BOOL, F(metrics_public), 0, "true", 0, 0, NULL,
     "serve /metrics without an API key"},
    {"model", CONFIG_ENUM, F(model), 0, "bgnbd", 0, 0, "bgnbd|pareto",
     "purchase model fitted by the worker"},
    {"model_min_customers", CONFIG_INT, F(model_min_customers), 0, "20", 1, 1000000000,
     NULL, "fewest customers (as of as_of) a model is fitted on"},
    {"model_min_repeaters", CONFIG_INT, F(model_min_repeaters), 0, "10", 2, 1000000000,
     NULL, "fewest customers with repeat purchases a model is fitted on"},
    {"offload_queue", CONFIG_INT, F(offload_queue), 0, "256", 1, 1000000, NULL,
     "requests that may wait (ingest, lists, as_of) queued for an offload thread; more "
     "get 503"},
    {"offload_threads", CONFIG_INT, F(offload_threads), 0, "0", 0, 1024, NULL,
     "threads that run the requests that may wait; 0 = thread_pool_size"},
    {"per_ip_limit", CONFIG_INT, F(per_ip_limit), 0, "256", 0, 65536, NULL,
     "most open connections from one client address; 0 = no limit"},
    {"period", CONFIG_ENUM, F(period), 0, "day", 0, 0, "day|week",
     "time unit of the models"},
    {"read_only", CONFIG_BOOL, F(read_only), 0, "false", 0, 0, NULL,
     "never write to PostgreSQL (no migrations, no fits; writes answered 503 read-only); "
     "false = read-only only when the database is (a standby, or a read-only session)"},
    {"readiness_interval_ms", CONFIG_INT, F(readiness_interval_ms), 0, "1000", 100, 60000,
     NULL, "milliseconds between the background readiness checks"},
    {"refit_after_txns", CONFIG_INT, F(refit_after_txns), 0, "10000", 1, 1000000000, NULL,
     "refit after this many new transactions"},
    {"refit_interval_s", CONFIG_INT, F(refit_interval_s), 0, "3600", 10, 604800, NULL,
     "refit at least this often, in seconds"},
    {"retention_model", CONFIG_ENUM, F(retention_model), 0, "sbg", 0, 0, "sbg|bdw",
     "retention model fitted on the subscriptions' cohorts"},
    {"shutdown_deadline_s", CONFIG_INT, F(shutdown_deadline_s), 0, "10", 1, 600, NULL,
     "seconds allowed to finish in-flight requests on SIGTERM"},
    {"snapshot_poll_ms", CONFIG_INT, F(snapshot_poll_ms), 0, "500", 50, 60000, NULL,
     "milliseconds between looks for a newer snapshot fitted by another process"},
    {"subscription_grace_days", CONFIG_INT, F(subscription_grace_days), 0, "7", 0, 366,
     NULL, "days past a paid period's end before an unrenewed subscription has lapsed"},
    {"thread_pool_size", CONFIG_INT, F(thread_pool_size), 0, "4", 1, 256, NULL,
     "HTTP worker threads"},
    {"tls_cert_file", CONFIG_STRING, F(tls_cert_file), S(tls_cert_file), "", 0, 0, NULL,
     "PEM certificate (chain) for HTTPS; empty = plain HTTP"},
    {"tls_key_file", CONFIG_STRING, F(tls_key_file), S(tls_key_file), "", 0, 0, NULL,
     "PEM private key of tls_cert_file; empty = plain HTTP"},
    {"write_url", CONFIG_STRING, F(write_url), S(write_url), "", 0, 0, NULL,
     "where a read-only process tells clients to send writes (its read-only problem); "
     "empty = not said"},
};

const config_key *config_keys(size_t *n)
{
    *n = sizeof keys / sizeof keys[0];
    return keys;
}

static const config_key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* ---------------------------------------------------------------- values */

/* Writes "KEY: must be MIN..MAX" in the shortest form that reads well. */
static bool range_error(const config_key *k, char err[CONFIG_ERR_MAX])
{
    if (k->type == CONFIG_INT)
        snprintf(err, CONFIG_ERR_MAX, "%s: must be %.0f..%.0f", k->name, k->min, k->max);
    else
        snprintf(err, CONFIG_ERR_MAX, "%s: must be %g..%g", k->name, k->min, k->max);
    return false;
}

static bool parse_int(const config_key *k, const char *v, long *out,
                      char err[CONFIG_ERR_MAX])
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || isspace((unsigned char)*v))
        return range_error(k, err);
    if ((double)x < k->min || (double)x > k->max)
        return range_error(k, err);
    *out = x;
    return true;
}

static bool parse_double(const config_key *k, const char *v, double *out,
                         char err[CONFIG_ERR_MAX])
{
    double x;
    if (summary_parse_number(v, &x) != 0 || !(x >= k->min && x <= k->max))
        return range_error(k, err);
    *out = x;
    return true;
}

static bool parse_bool(const config_key *k, const char *v, bool *out,
                       char err[CONFIG_ERR_MAX])
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
        *out = false;
    else {
        snprintf(err, CONFIG_ERR_MAX, "%s: must be true or false", k->name);
        return false;
    }
    return true;
}

/* Stores the index of v among the '|'-separated choices. */
static bool parse_enum(const config_key *k, const char *v, int *out,
                       char err[CONFIG_ERR_MAX])
{
    size_t len = strlen(v);
    int index = 0;
    for (const char *p = k->choices; *p != '\0'; index++) {
        size_t n = strcspn(p, "|");
        if (n == len && strncmp(p, v, n) == 0) {
            *out = index;
            return true;
        }
        p += n + (p[n] == '|');
    }
    snprintf(err, CONFIG_ERR_MAX, "%s: must be one of %s", k->name, k->choices);
    return false;
}

/* listen: IPv4-literal:port. */
static bool set_listen(ltvd_config *c, const char *v, char err[CONFIG_ERR_MAX])
{
    const char *colon = strrchr(v, ':');
    char host[48];
    struct in_addr addr;
    long port = -1;
    if (colon != NULL && (size_t)(colon - v) < sizeof host) {
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
        char *end;
        errno = 0;
        port = isdigit((unsigned char)colon[1]) ? strtol(colon + 1, &end, 10) : -1;
        if (port >= 0 && (*end != '\0' || errno != 0))
            port = -1;
    }
    if (port < 0 || port > 65535 || inet_pton(AF_INET, host, &addr) != 1) {
        snprintf(err, CONFIG_ERR_MAX, "listen: must be IPV4:PORT, e.g. 127.0.0.1:8080");
        return false;
    }
    snprintf(c->listen, sizeof c->listen, "%s", v);
    snprintf(c->listen_host, sizeof c->listen_host, "%s", host);
    c->listen_port = (uint16_t)port;
    return true;
}

static bool set_as_of(ltvd_config *c, const char *v, char err[CONFIG_ERR_MAX])
{
    int64_t day = 0;
    if (*v != '\0' && summary_parse_day(v, &day) != 0) {
        snprintf(err, CONFIG_ERR_MAX, "as_of: must be empty, YYYY-MM-DD or RFC 3339");
        return false;
    }
    snprintf(c->as_of, sizeof c->as_of, "%s", v);
    c->has_as_of = *v != '\0';
    c->as_of_day = day;
    return true;
}

static bool set_string(ltvd_config *c, const config_key *k, const char *v,
                       char err[CONFIG_ERR_MAX])
{
    if (strlen(v) >= k->size) {
        snprintf(err, CONFIG_ERR_MAX, "%s: longer than %zu bytes", k->name, k->size - 1);
        return false;
    }
    if (strcmp(k->name, "listen") == 0)
        return set_listen(c, v, err);
    if (strcmp(k->name, "health_listen") == 0 && *v != '\0') {
        ltvd_config probe; /* the same grammar as listen */
        if (!set_listen(&probe, v, err)) {
            snprintf(err, CONFIG_ERR_MAX, "health_listen: must be empty or IPV4:PORT");
            return false;
        }
    }
    if (strcmp(k->name, "as_of") == 0)
        return set_as_of(c, v, err);
    memcpy((char *)c + k->offset, v, strlen(v) + 1);
    return true;
}

bool config_set(ltvd_config *c, const char *key, const char *value,
                char err[CONFIG_ERR_MAX])
{
    const config_key *k = find_key(key);
    if (k == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "%.64s: unknown key", key);
        return false;
    }
    void *field = (char *)c + k->offset;
    switch (k->type) {
    case CONFIG_INT:
        return parse_int(k, value, (long *)field, err);
    case CONFIG_DOUBLE:
        return parse_double(k, value, (double *)field, err);
    case CONFIG_BOOL:
        return parse_bool(k, value, (bool *)field, err);
    case CONFIG_ENUM:
        return parse_enum(k, value, (int *)field, err);
    case CONFIG_STRING:
        return set_string(c, k, value, err);
    }
    return false;
}

void config_defaults(ltvd_config *c)
{
    char err[CONFIG_ERR_MAX];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!config_set(c, keys[i].name, keys[i].def, err))
            abort(); /* a bad default is a programming error (test_config) */
}

/* ------------------------------------------------------------ file, env */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Splits one line into key and value; false when it is not `key = value`.
 * A '#' after whitespace starts a comment. */
static bool split_line(char *line, char **key, char **value)
{
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return false;
    *eq = '\0';
    *key = trim(line);
    char *v = eq + 1;
    for (char *h = strchr(v, '#'); h != NULL; h = strchr(h + 1, '#'))
        if (h == v || isspace((unsigned char)h[-1])) {
            *h = '\0';
            break;
        }
    *value = trim(v);
    return **key != '\0';
}

bool config_load_file(ltvd_config *c, const char *path, char err[CONFIG_ERR_MAX])
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, strerror(errno));
        return false;
    }
    bool seen[sizeof keys / sizeof keys[0]] = {false};
    char line[2048], why[CONFIG_ERR_MAX];
    bool ok = true;
    for (int lineno = 1; ok && fgets(line, sizeof line, f) != NULL; lineno++) {
        char *s = trim(line), *key, *value;
        if (*s == '\0' || *s == '#')
            continue;
        if (!split_line(s, &key, &value)) {
            snprintf(why, sizeof why, "expected key = value");
            ok = false;
        } else if (find_key(key) != NULL && seen[find_key(key) - keys]) {
            snprintf(why, sizeof why, "%.64s: set twice", key);
            ok = false;
        } else if (config_set(c, key, value, why)) {
            seen[find_key(key) - keys] = true;
        } else {
            ok = false;
        }
        if (!ok)
            snprintf(err, CONFIG_ERR_MAX, "%.100s:%d: %.140s", path, lineno, why);
    }
    fclose(f);
    return ok;
}

/* A connection string from the environment variable name into dst (left
 * as is when unset). False with err when too long. */
static bool env_url(const char *name, char *dst, size_t size, char err[CONFIG_ERR_MAX])
{
    const char *url = getenv(name);
    if (url == NULL)
        return true;
    if (strlen(url) >= size) {
        snprintf(err, CONFIG_ERR_MAX, "%s: longer than %zu bytes", name, size - 1);
        return false;
    }
    snprintf(dst, size, "%s", url);
    return true;
}

bool config_load_env(ltvd_config *c, char err[CONFIG_ERR_MAX])
{
    char name[64], why[CONFIG_ERR_MAX];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        snprintf(name, sizeof name, "LTVD_%s", keys[i].name);
        for (char *p = name; *p != '\0'; p++)
            *p = (char)toupper((unsigned char)*p);
        const char *v = getenv(name);
        if (v != NULL && !config_set(c, keys[i].name, v, why)) {
            snprintf(err, CONFIG_ERR_MAX, "%.190s (from %.50s)", why, name);
            return false;
        }
    }
    return env_url("DATABASE_URL", c->database_url, sizeof c->database_url, err) &&
           env_url("DATABASE_READ_URL", c->database_read_url, sizeof c->database_read_url,
                   err);
}

bool config_check(const ltvd_config *c, char err[CONFIG_ERR_MAX])
{
    if (c->churn_high_below > c->churn_medium_below) {
        snprintf(err, CONFIG_ERR_MAX,
                 "churn_high_below: must not exceed churn_medium_below (%g)",
                 c->churn_medium_below);
        return false;
    }
    if (c->thread_pool_size > c->connection_limit) {
        snprintf(err, CONFIG_ERR_MAX,
                 "thread_pool_size: must not exceed connection_limit (%ld)",
                 c->connection_limit);
        return false;
    }
    if ((c->tls_cert_file[0] == '\0') != (c->tls_key_file[0] == '\0')) {
        snprintf(err, CONFIG_ERR_MAX, "%s: must be set together with %s",
                 c->tls_cert_file[0] != '\0' ? "tls_cert_file" : "tls_key_file",
                 c->tls_cert_file[0] != '\0' ? "tls_key_file" : "tls_cert_file");
        return false;
    }
    if (c->per_ip_limit > c->connection_limit) {
        snprintf(err, CONFIG_ERR_MAX,
                 "per_ip_limit: must not exceed connection_limit (%ld)",
                 c->connection_limit);
        return false;
    }
    return true;
}

bool config_load(ltvd_config *c, const char *path, char err[CONFIG_ERR_MAX])
{
    config_defaults(c);
    if (path != NULL) {
        FILE *probe = fopen(path, "r");
        bool skip =
            probe == NULL && errno == ENOENT && strcmp(path, CONFIG_DEFAULT_PATH) == 0;
        if (probe != NULL)
            fclose(probe);
        if (!skip && !config_load_file(c, path, err))
            return false;
    }
    return config_load_env(c, err) && config_check(c, err);
}

long config_offload_threads(const ltvd_config *c)
{
    return c->offload_threads > 0 ? c->offload_threads : c->thread_pool_size;
}
