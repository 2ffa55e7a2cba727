/* Persisted model snapshots: one row per refit (a purchase model plus,
 * optionally, the Gamma-Gamma spend model), the newest one served after a
 * restart. Parameters travel as JSON text (jsonb in the table) so this layer
 * needs no knowledge of each model's parameter names. */
#ifndef LTVD_STORE_SNAPSHOT_H
#define LTVD_STORE_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"
#include "store/fleet.h"

/* One fitted model. */
typedef struct store_fit {
    char *model;           /* "bgnbd", "pareto", "gg", ... */
    char *params_json;     /* a JSON object, e.g. {"r":0.24,"alpha":4.4,...} */
    char *std_errors_json; /* a JSON object, or NULL when not available */
    double log_likelihood;
    int64_t n_customers;
    int64_t n_patterns;
    bool converged;
    int iterations;
    double seconds; /* wall time of the fit */
} store_fit;

typedef struct store_snapshot {
    int64_t id;        /* set by store_snapshot_save / _load */
    double created_at; /* UTC seconds since 1970 (set by the database) */
    double as_of;      /* UTC seconds since 1970: the time T runs to */
    char period[8];    /* "day" or "week" (the configured period) */
    /* The other settings it was fitted under: the configured model ("" when
     * not recorded: a row from before migration 007, never served), and the
     * configured as_of day (settings_as_of_set false: as_of followed the
     * clock). */
    char settings_model[16];
    bool settings_as_of_set;
    int64_t settings_as_of_day; /* UTC day number */
    store_fit purchase;
    bool has_spend;
    store_fit spend;      /* Gamma-Gamma, when has_spend */
    int64_t spend_n_zero; /* customers left out of it: repeat spend all zero */
    char *fallback;       /* how it differs from the configured model and why, or NULL */
    /* The parameters' covariance (migration 015, store/snapshot_cov.h): JSON
     * text, or NULL when not available. */
    char *covariance_json;
    /* The fit (migration 008): when it began, with the fit lock held (UTC
     * seconds, database clock; 0 when unknown), and the transaction horizon
     * of the data it read (has_data_xmin false when unknown). */
    double fit_started_at;
    bool has_data_xmin;
    int64_t data_xmin;
} store_snapshot;

/* Inserts s (its strings are borrowed; id and created_at are ignored) and
 * sets s->id and s->created_at (the database clock, to the microsecond, so
 * s->created_at equals what store_snapshot_load_* read back), and announces
 * it (NOTIFY STORE_SNAPSHOT_CHANNEL, "<tenant> <id>"), in one transaction.
 * The tenant's fit lock is checked in that transaction: when lock is not
 * NULL it must still be held by db's session (the same connection it was
 * taken on; s->fit_started_at and s->data_xmin are then the lock's), and in
 * any case no other session may hold it. Citus-ready: no
 * volatile function in a default or RETURNING the insert relies on.
 * Returns 0, or -1 with db->err set (also when a JSON text is not valid
 * JSON, or the lock is not ours). NULL tenant: STORE_TENANT_DEFAULT. */
int store_snapshot_save_fit(store_db *db, const char *tenant, const store_fit_lock *lock,
                            store_snapshot *s);

/* store_snapshot_save_fit for the default tenant without a session lock. */
int store_snapshot_save(store_db *db, store_snapshot *s);

/* Loads tenant's newest snapshot (NULL: STORE_TENANT_DEFAULT) into *out. Returns 1 when
 * there is one (free it with store_snapshot_free: out owns every string), 0 when the
 * table is empty
 * (*out zeroed), -1 on error with db->err set. */
int store_snapshot_load_latest(store_db *db, const char *tenant, store_snapshot *out);

/* The same for the newest snapshot with an id below before_id (start-up
 * walks back from INT64_MAX past the snapshots it cannot use). */
int store_snapshot_load_before(store_db *db, const char *tenant, int64_t before_id,
                               store_snapshot *out);

/* Frees the strings of a snapshot filled by store_snapshot_load_latest. */
void store_snapshot_free(store_snapshot *s);

#endif
