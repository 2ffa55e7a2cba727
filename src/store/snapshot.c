/* Saves (and announces) and loads model snapshots (the model_snapshots
 * table). */
#include "store/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/snapshot_cov.h"

#define FIT_COLS 9

/* created_at and fit_started_at are values (the database clock, read by
 * clock_sql and store_fit_lock_try): nothing volatile in a default or in
 * RETURNING, which Citus refuses. */
static const char save_sql[] =
    "INSERT INTO model_snapshots (as_of, period,"
    " model, params, std_errors, log_likelihood, n_customers, n_patterns,"
    " converged, iterations, seconds,"
    " spend_model, spend_params, spend_std_errors, spend_log_likelihood,"
    " spend_n_customers, spend_n_patterns, spend_converged, spend_iterations,"
    " spend_seconds, settings_model, settings_as_of, spend_n_zero, fallback,"
    " created_at, fit_started_at, data_xmin, tenant_id)"
    " VALUES (to_timestamp($1::double precision), $2,"
    " $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10, $11,"
    " $12, $13::jsonb, $14::jsonb, $15, $16, $17, $18, $19, $20,"
    " $21, date '1970-01-01' + $22::integer, $23, $24,"
    " to_timestamp($25::double precision), to_timestamp($26::double precision),"
    " $27::bigint, $28)"
    " RETURNING id";

/* In the saving transaction: no other session holds the tenant's fit lock
 * (ours, when held, is re-entrant), and the time. */
static const char clock_sql[] =
    "SELECT pg_try_advisory_xact_lock(hashtext('ltvd-fit:' || $1::text)),"
    " extract(epoch FROM clock_timestamp())::text";

static const char notify_sql[] = "SELECT pg_notify($1, $2)";

static const char load_sql[] =
    "SELECT id, extract(epoch FROM created_at), extract(epoch FROM as_of), period,"
    " model, params::text, std_errors::text, log_likelihood, n_customers, n_patterns,"
    " converged, iterations, seconds,"
    " spend_model, spend_params::text, spend_std_errors::text, spend_log_likelihood,"
    " spend_n_customers, spend_n_patterns, spend_converged, spend_iterations,"
    " spend_seconds, settings_model, settings_as_of - date '1970-01-01',"
    " spend_n_zero, fallback,"
    " extract(epoch FROM fit_started_at), data_xmin"
    " FROM model_snapshots WHERE tenant_id = $2 AND id < $1::bigint"
    " ORDER BY id DESC LIMIT 1";

/* Text of one fit's nine columns; numbers are formatted into num (which
 * must outlive vals). A NULL fit gives nine NULLs. */
static void fit_params(const store_fit *f, const char **vals, char num[6][32])
{
    if (f == NULL) {
        for (int i = 0; i < FIT_COLS; i++)
            vals[i] = NULL;
        return;
    }
    snprintf(num[0], 32, "%.17g", f->log_likelihood);
    snprintf(num[1], 32, "%lld", (long long)f->n_customers);
    snprintf(num[2], 32, "%lld", (long long)f->n_patterns);
    snprintf(num[3], 32, "%d", f->iterations);
    snprintf(num[4], 32, "%.17g", f->seconds);
    vals[0] = f->model;
    vals[1] = f->params_json;
    vals[2] = f->std_errors_json;
    vals[3] = num[0];
    vals[4] = num[1];
    vals[5] = num[2];
    vals[6] = f->converged ? "true" : "false";
    vals[7] = num[3];
    vals[8] = num[4];
}

/* What the saving transaction needs. */
typedef struct save_job {
    const char *tenant;
    const store_fit_lock *lock;
    store_snapshot *s;
} save_job;

/* The tenant's fit lock is free or ours, and the database clock into
 * created (epoch text). */
static store_tx_status check_lock(store_db *db, const save_job *j, char created[64])
{
    if (j->lock != NULL && (!j->lock->held || db->generation != j->lock->generation)) {
        snprintf(db->err, sizeof db->err,
                 "save model snapshot: the session that held the fit lock was lost");
        return STORE_TX_ERROR;
    }
    const char *vals[1] = {j->tenant};
    PGresult *res = store_db_exec_prepared(db, "snapshot_clock", clock_sql, 1, vals);
    store_tx_status st = STORE_TX_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        store_db_fail(db, res, "save model snapshot: fit lock");
        st = STORE_TX_ERROR;
    } else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        snprintf(db->err, sizeof db->err,
                 "save model snapshot: another process holds the fit lock");
        st = STORE_TX_ERROR;
    } else {
        snprintf(created, 64, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return st;
}

static store_tx_status announce(store_db *db, const save_job *j)
{
    char payload[160];
    snprintf(payload, sizeof payload, "%.100s %lld", j->tenant, (long long)j->s->id);
    const char *vals[2] = {STORE_SNAPSHOT_CHANNEL, payload};
    PGresult *res = store_db_exec_prepared(db, "snapshot_notify", notify_sql, 2, vals);
    store_tx_status st = STORE_TX_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "announce model snapshot");
        st = STORE_TX_ERROR;
    }
    PQclear(res);
    return st;
}

static store_tx_status save_tx(store_db *db, void *arg)
{
    save_job *j = arg;
    store_snapshot *s = j->s;
    char created[64];
    store_tx_status st = check_lock(db, j, created);
    if (st != STORE_TX_OK)
        return st;
    if (j->lock != NULL) { /* the fit began when it took the lock */
        s->fit_started_at = j->lock->started_at;
        s->has_data_xmin = true;
        s->data_xmin = j->lock->data_xmin;
    }
    const char *vals[2 + 2 * FIT_COLS + 8];
    char as_of[32], pnum[6][32], snum[6][32], set_day[32], n_zero[32], started[32],
        xmin[32];
    snprintf(as_of, sizeof as_of, "%.6f", s->as_of);
    vals[0] = as_of;
    vals[1] = s->period;
    fit_params(&s->purchase, vals + 2, pnum);
    fit_params(s->has_spend ? &s->spend : NULL, vals + 2 + FIT_COLS, snum);
    snprintf(set_day, sizeof set_day, "%lld", (long long)s->settings_as_of_day);
    snprintf(n_zero, sizeof n_zero, "%lld", (long long)s->spend_n_zero);
    snprintf(started, sizeof started, "%.6f", s->fit_started_at);
    snprintf(xmin, sizeof xmin, "%lld", (long long)s->data_xmin);
    const char **extra = vals + 2 + 2 * FIT_COLS;
    extra[0] = s->settings_model[0] != '\0' ? s->settings_model : NULL;
    extra[1] = s->settings_as_of_set ? set_day : NULL;
    extra[2] = s->has_spend ? n_zero : NULL;
    extra[3] = s->fallback;
    extra[4] = created;
    extra[5] = s->fit_started_at > 0 ? started : NULL;
    extra[6] = s->has_data_xmin ? xmin : NULL;
    extra[7] = j->tenant;

    PGresult *res =
        store_db_exec_prepared(db, "snapshot_save", save_sql, 2 + 2 * FIT_COLS + 8, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "save model snapshot");
        PQclear(res);
        return STORE_TX_ERROR;
    }
    s->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    s->created_at = strtod(created, NULL);
    PQclear(res);
    if (store_snapshot_cov_save(db, j->tenant, s) != STORE_TX_OK)
        return STORE_TX_ERROR;
    return announce(db, j);
}

int store_snapshot_save_fit(store_db *db, const char *tenant, const store_fit_lock *lock,
                            store_snapshot *s)
{
    save_job j = {tenant != NULL ? tenant : STORE_TENANT_DEFAULT, lock, s};
    return store_db_transaction(db, false, save_tx, &j);
}

int store_snapshot_save(store_db *db, store_snapshot *s)
{
    return store_snapshot_save_fit(db, NULL, NULL, s);
}

/* A copy of column c of row 0, NULL for SQL NULL; *oom set when out of memory. */
static char *dup_col(const PGresult *res, int c, bool *oom)
{
    if (PQgetisnull(res, 0, c))
        return NULL;
    char *s = strdup(PQgetvalue(res, 0, c));
    if (s == NULL)
        *oom = true;
    return s;
}

static void read_fit(const PGresult *res, int c, store_fit *f, bool *oom)
{
    f->model = dup_col(res, c, oom);
    f->params_json = dup_col(res, c + 1, oom);
    f->std_errors_json = dup_col(res, c + 2, oom);
    f->log_likelihood = strtod(PQgetvalue(res, 0, c + 3), NULL);
    f->n_customers = strtoll(PQgetvalue(res, 0, c + 4), NULL, 10);
    f->n_patterns = strtoll(PQgetvalue(res, 0, c + 5), NULL, 10);
    f->converged = strcmp(PQgetvalue(res, 0, c + 6), "t") == 0;
    f->iterations = atoi(PQgetvalue(res, 0, c + 7));
    f->seconds = strtod(PQgetvalue(res, 0, c + 8), NULL);
}

/* The columns after the two fits: settings, spend_n_zero, fallback, and
 * the fit's start and data horizon. */
static void read_extra(const PGresult *res, int c, store_snapshot *out, bool *oom)
{
    if (!PQgetisnull(res, 0, c))
        snprintf(out->settings_model, sizeof out->settings_model, "%s",
                 PQgetvalue(res, 0, c));
    out->settings_as_of_set = !PQgetisnull(res, 0, c + 1);
    if (out->settings_as_of_set)
        out->settings_as_of_day = strtoll(PQgetvalue(res, 0, c + 1), NULL, 10);
    out->spend_n_zero = strtoll(PQgetvalue(res, 0, c + 2), NULL, 10);
    out->fallback = dup_col(res, c + 3, oom);
    if (!PQgetisnull(res, 0, c + 4))
        out->fit_started_at = strtod(PQgetvalue(res, 0, c + 4), NULL);
    out->has_data_xmin = !PQgetisnull(res, 0, c + 5);
    if (out->has_data_xmin)
        out->data_xmin = strtoll(PQgetvalue(res, 0, c + 5), NULL, 10);
}

int store_snapshot_load_latest(store_db *db, const char *tenant, store_snapshot *out)
{
    return store_snapshot_load_before(db, tenant, INT64_MAX, out);
}

int store_snapshot_load_before(store_db *db, const char *tenant, int64_t before_id,
                               store_snapshot *out)
{
    memset(out, 0, sizeof *out);
    char before[32];
    snprintf(before, sizeof before, "%lld", (long long)before_id);
    const char *vals[2] = {before, tenant != NULL ? tenant : STORE_TENANT_DEFAULT};
    PGresult *res = store_db_exec_prepared(db, "snapshot_load", load_sql, 2, vals);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "load model snapshot");
        goto cleanup;
    }
    if (PQntuples(res) == 0) {
        rc = 0;
        goto cleanup;
    }
    bool oom = false;
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->created_at = strtod(PQgetvalue(res, 0, 1), NULL);
    out->as_of = strtod(PQgetvalue(res, 0, 2), NULL);
    snprintf(out->period, sizeof out->period, "%s", PQgetvalue(res, 0, 3));
    read_fit(res, 4, &out->purchase, &oom);
    out->has_spend = !PQgetisnull(res, 0, 4 + FIT_COLS);
    if (out->has_spend)
        read_fit(res, 4 + FIT_COLS, &out->spend, &oom);
    read_extra(res, 4 + 2 * FIT_COLS, out, &oom);
    if (oom) {
        snprintf(db->err, sizeof db->err, "load model snapshot: out of memory");
        store_snapshot_free(out);
        goto cleanup;
    }
    rc = 1;
cleanup:
    PQclear(res);
    if (rc == 1 && store_snapshot_cov_load(db, vals[1], out) != 0) {
        store_snapshot_free(out);
        rc = -1;
    }
    return rc;
}

static void fit_free(store_fit *f)
{
    free(f->model);
    free(f->params_json);
    free(f->std_errors_json);
}

void store_snapshot_free(store_snapshot *s)
{
    if (s == NULL)
        return;
    fit_free(&s->purchase);
    fit_free(&s->spend);
    free(s->fallback);
    free(s->covariance_json);
    memset(s, 0, sizeof *s);
}
