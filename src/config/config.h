/* Service configuration: one table of keys backed by one struct, read from
 * config/ltvd.conf and overridden by LTVD_<KEY> environment variables. */
#ifndef LTVD_CONFIG_H
#define LTVD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX 256
#define CONFIG_DEFAULT_PATH "config/ltvd.conf"

typedef enum config_period { CONFIG_PERIOD_DAY, CONFIG_PERIOD_WEEK } config_period;
typedef enum config_model { CONFIG_MODEL_BGNBD, CONFIG_MODEL_PARETO } config_model;

/* Every field is set by exactly one key of the table in config.c (its name
 * is the field's name), except database_url and database_read_url. */
typedef struct ltvd_config {
    char listen[64];            /* host:port to bind, IPv4 literal */
    char listen_host[48];       /* derived from listen */
    uint16_t listen_port;       /* derived from listen; 0 = any free port */
    char health_listen[64];     /* a second listener for /healthz, /readyz and
                                   /metrics only ("" = none) */
    int period;                 /* config_period: the models' time unit */
    char as_of[40];             /* "" = now; else YYYY-MM-DD or RFC 3339 */
    bool has_as_of;             /* derived: as_of is set */
    int64_t as_of_day;          /* derived: UTC day number of as_of */
    int model;                  /* config_model */
    long thread_pool_size;      /* MHD worker threads, each polling its own share */
    long connection_limit;      /* total open connections */
    long per_ip_limit;          /* open connections per client address */
    long connection_timeout_s;  /* idle seconds before a connection is closed */
    long max_body_bytes;        /* largest request body accepted (413 above) */
    long max_url_bytes;         /* longest request target accepted (414 above) */
    long max_batch_items;       /* most transactions in one batch (413 above) */
    long cache_sync_ms;         /* catch-up with other writers (ltvd import) */
    long refit_interval_s;      /* refit at least this often */
    long refit_after_txns;      /* ... or after this many new transactions */
    long snapshot_poll_ms;      /* look for snapshots other processes fitted */
    double churn_medium_below;  /* P(alive) below this: medium churn risk */
    double churn_high_below;    /* P(alive) below this: high churn risk */
    long horizon_days;          /* default horizon of predictions and LTV */
    long backtest_holdout_days; /* the refit's back-test holdout; 0 = a quarter, <= 180 */
    long backtest_statement_timeout_ms; /* bound of the back-test's reads; 0 = none */
    long lifecycle_new_days; /* no repeat yet and first purchase this recent: new */
    long lifecycle_established_repeats; /* active with this many repeats: established */
    double discount_rate;               /* monthly discount rate of the LTV */
    double margin;                      /* profit margin applied to spend in the LTV */
    long shutdown_deadline_s;           /* seconds to finish in-flight work on SIGTERM */
    bool metrics_public;                /* /metrics needs no API key */
    bool auth_required;                 /* the /v1 endpoints need an API key */
    char tls_cert_file[512];            /* PEM certificate for HTTPS; "" = plain HTTP */
    char tls_key_file[512];             /* its PEM private key; set both or neither */
    long model_min_customers; /* eligibility of a fit: this many customers ... */
    long model_min_repeaters; /* ... of whom this many with repeat purchases */
    /* bounded waits on PostgreSQL (docs/reliability.md) */
    long db_connect_timeout_s;    /* connecting */
    long db_statement_timeout_ms; /* statement_timeout of the service's sessions */
    long db_lock_timeout_ms;      /* lock_timeout */
    long db_idle_in_transaction_timeout_ms; /* idle_in_transaction_session_timeout */
    long db_keepalives_idle_s;     /* TCP keepalives: idle seconds before the first */
    long db_keepalives_interval_s; /* ... seconds between them */
    long db_keepalives_count;      /* ... lost ones before the connection is dead */
    long db_tcp_user_timeout_ms;   /* tcp_user_timeout */
    long db_request_timeout_ms;    /* a request's whole wait on PostgreSQL */
    long db_request_threads;       /* request threads that may wait on it; 0 = auto */
    long readiness_interval_ms;    /* background readiness check period */
    long offload_threads; /* threads for handlers that may wait; 0 = thread_pool_size */
    long offload_queue;   /* such requests waiting for one; more get 503 */
    char database_url[1024]; /* DATABASE_URL (libpq); "" = none */
    /* GET /v1/customers (docs/lists.md) */
    long list_budget_ms;        /* time budget of one list request */
    long list_thread_share;     /* percent of thread_pool_size lists may hold */
    long list_rescore_max;      /* most customers a list may score per request */
    long list_horizon_days_max; /* largest horizon_days of a list */
    long list_refresh_ms;       /* pause between score table refreshes */
    bool list_score_helper;     /* a page may score its items on a second thread */
    long export_max;            /* exports streaming at once (docs/service.md) */
    /* a process that never writes (docs/operations.md, "Read replicas") */
    bool read_only;               /* forced; else decided by the database at start-up */
    char database_read_url[1024]; /* DATABASE_READ_URL: the start-up rebuild reads
                                     there (a replica); "" = database_url */
    char write_url[256];          /* where writes go, said by the read-only problem */

    /* seconds between checkpoints of the summaries (app/checkpoint.h); 0: none */
    long cache_checkpoint_interval_s;

    /* subscriptions (docs/subscriptions.md, "The service") */
    int retention_model;          /* retention_kind: 0 sbg, 1 bdw */
    long subscription_grace_days; /* days past a period's end before a lapse */
} ltvd_config;

typedef enum config_type {
    CONFIG_INT,
    CONFIG_DOUBLE,
    CONFIG_BOOL,
    CONFIG_STRING,
    CONFIG_ENUM,
} config_type;

/* One key of the table: the doc string is the one-line summary; the full
 * documentation lives in config/ltvd.conf (a test checks it is there). */
typedef struct config_key {
    const char *name;
    config_type type;
    size_t offset;       /* of the field in ltvd_config */
    size_t size;         /* CONFIG_STRING: capacity of the char array */
    const char *def;     /* default, parsed like any other value */
    double min, max;     /* CONFIG_INT and CONFIG_DOUBLE: inclusive range */
    const char *choices; /* CONFIG_ENUM: "a|b", stored as the index */
    const char *doc;
} config_key;

/* The table, sorted by name. Never NULL. */
const config_key *config_keys(size_t *n);

/* Fills c with the defaults of every key. Cannot fail. */
void config_defaults(ltvd_config *c);

/* Sets one key from its text form. Returns false with a message
 * "KEY: reason" in err (c unchanged for that key) on an unknown key or a
 * bad value. */
bool config_set(ltvd_config *c, const char *key, const char *value,
                char err[CONFIG_ERR_MAX]);

/* Reads `key = value` lines (# comments, blank lines) from path over c.
 * Returns false with "PATH:LINE: KEY: reason" in err. A key set twice in
 * the file is an error. */
bool config_load_file(ltvd_config *c, const char *path, char err[CONFIG_ERR_MAX]);

/* Applies LTVD_<KEY> environment overrides and DATABASE_URL. Returns false
 * with "LTVD_KEY: reason" in err. */
bool config_load_env(ltvd_config *c, char err[CONFIG_ERR_MAX]);

/* Checks the rules that involve several keys. Returns false with a message. */
bool config_check(const ltvd_config *c, char err[CONFIG_ERR_MAX]);

/* Defaults, then the file (skipped when path is NULL, or when it is the
 * default path and missing), then the environment, then config_check. */
bool config_load(ltvd_config *c, const char *path, char err[CONFIG_ERR_MAX]);

/* The threads that run requests that may wait (offload_threads, or
 * thread_pool_size when 0): what the database and list slots share. */
long config_offload_threads(const ltvd_config *c);

#endif
