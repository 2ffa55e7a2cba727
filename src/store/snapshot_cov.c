/* Saves and loads the covariance column of model_snapshots (migration 015). */
#include "store/snapshot_cov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* By the whole key (tenant_id first): one shard on Citus. */
static const char save_sql[] = "UPDATE model_snapshots SET covariance = $3::jsonb"
                               " WHERE tenant_id = $1 AND id = $2::bigint";

static const char load_sql[] = "SELECT covariance::text FROM model_snapshots"
                               " WHERE tenant_id = $1 AND id = $2::bigint";

store_tx_status store_snapshot_cov_save(store_db *db, const char *tenant,
                                        const store_snapshot *s)
{
    if (s->covariance_json == NULL)
        return STORE_TX_OK;
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)s->id);
    const char *vals[3] = {tenant, id, s->covariance_json};
    PGresult *res = store_db_exec_prepared(db, "snapshot_cov_save", save_sql, 3, vals);
    store_tx_status st = STORE_TX_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_db_fail(db, res, "save model snapshot covariance");
        st = STORE_TX_ERROR;
    } else if (strcmp(PQcmdTuples(res), "1") != 0) {
        snprintf(db->err, sizeof db->err, "save model snapshot covariance: no row %s",
                 id);
        st = STORE_TX_ERROR;
    }
    PQclear(res);
    return st;
}

int store_snapshot_cov_load(store_db *db, const char *tenant, store_snapshot *out)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)out->id);
    const char *vals[2] = {tenant, id};
    PGresult *res = store_db_exec_prepared(db, "snapshot_cov_load", load_sql, 2, vals);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "load model snapshot covariance");
    } else if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        rc = 0;
    } else {
        out->covariance_json = strdup(PQgetvalue(res, 0, 0));
        rc = out->covariance_json != NULL ? 0 : -1;
        if (rc != 0)
            snprintf(db->err, sizeof db->err,
                     "load model snapshot covariance: out of memory");
    }
    PQclear(res);
    return rc;
}
