/* The fleet's use of PostgreSQL (see fleet.h): the per-tenant fit lock,
 * the newest snapshot under given settings, the rows stored since a
 * snapshot, and LISTEN on the snapshot channel. Every statement names one
 * tenant (one Citus shard) except the poll of every tenant's newest id. */
#include "store/fleet.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lock key of a tenant: hashtext is stable within one server, and every
 * process of a fleet asks the same server. */
#define LOCK_KEY "hashtext('ltvd-fit:' || $1::text)"

static const char lock_sql[] = "SELECT pg_try_advisory_lock(" LOCK_KEY "),"
                               " extract(epoch FROM clock_timestamp())::text,"
                               " pg_snapshot_xmin(pg_current_snapshot())::text";

static const char unlock_sql[] = "SELECT pg_advisory_unlock(" LOCK_KEY ")";

static const char newest_sql[] =
    "SELECT coalesce(max(id), 0) FROM model_snapshots"
    " WHERE tenant_id = $4 AND settings_model = $1 AND period = $2"
    "   AND settings_as_of IS NOT DISTINCT FROM date '1970-01-01' + $3::integer";

/* Every tenant's newest snapshot id, whatever its settings. */
static const char newest_all_sql[] =
    "SELECT tenant_id, max(id) FROM model_snapshots GROUP BY tenant_id";

/* Two statements, each on one table (with a tenant column, each goes to
 * one Citus shard). The count stops at $2 rows: the BRIN index on
 * ingested_xid finds the newest rows, the LIMIT bounds the rest. */
static const char data_xmin_sql[] =
    "SELECT data_xmin FROM model_snapshots WHERE tenant_id = $2 AND id = $1::bigint";
static const char rows_since_sql[] =
    "SELECT count(*) FROM (SELECT 1 FROM transactions"
    " WHERE tenant_id = $3 AND ingested_xid >= $1::bigint LIMIT $2::bigint) c";

static const char *tenant_or_default(const char *tenant)
{
    return tenant != NULL ? tenant : STORE_TENANT_DEFAULT;
}

int store_fit_lock_try(store_db *db, const char *tenant, store_fit_lock *out)
{
    memset(out, 0, sizeof *out);
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    const char *vals[1] = {tenant_or_default(tenant)};
    PGresult *res = store_db_exec_prepared(db, "fit_lock", lock_sql, 1, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        store_db_fail(db, res, "take the fit lock");
        PQclear(res);
        return -1;
    }
    out->held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    out->generation = db->generation;
    out->started_at = strtod(PQgetvalue(res, 0, 1), NULL);
    out->data_xmin = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    return 0;
}

int store_fit_lock_release(store_db *db, const char *tenant, store_fit_lock *l)
{
    if (!l->held)
        return 0;
    l->held = false;
    if (store_db_broken(db) || db->generation != l->generation)
        return 0; /* the session ended: the server released it */
    const char *vals[1] = {tenant_or_default(tenant)};
    PGresult *res = store_db_exec_prepared(db, "fit_unlock", unlock_sql, 1, vals);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = store_db_fail(db, res, "release the fit lock");
    PQclear(res);
    return rc;
}

int store_snapshot_newest_id(store_db *db, const char *tenant, const char *settings_model,
                             const char *period, bool as_of_set, int64_t as_of_day,
                             int64_t *id)
{
    char day[32];
    snprintf(day, sizeof day, "%lld", (long long)as_of_day);
    const char *vals[4] = {settings_model, period, as_of_set ? day : NULL,
                           tenant_or_default(tenant)};
    PGresult *res = store_db_exec_prepared(db, "snapshot_newest", newest_sql, 4, vals);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = store_db_fail(db, res, "newest model snapshot");
    else
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

/* The data_xmin of snapshot id into *xmin: 1, 0 when unknown, -1. */
static int data_xmin_of(store_db *db, const char *tenant, int64_t id, int64_t *xmin)
{
    char sid[32];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    const char *vals[2] = {sid, tenant};
    PGresult *res = store_db_exec_prepared(db, "snapshot_xmin", data_xmin_sql, 2, vals);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = store_db_fail(db, res, "snapshot data horizon");
    } else if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        *xmin = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        rc = 1;
    }
    PQclear(res);
    return rc;
}

int store_rows_since_snapshot(store_db *db, const char *tenant, int64_t snapshot_id,
                              int64_t limit, int64_t *n)
{
    tenant = tenant_or_default(tenant);
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    int64_t xmin = 0;
    int rc = data_xmin_of(db, tenant, snapshot_id, &xmin);
    if (rc <= 0)
        return rc;
    char from[32], lim[32];
    snprintf(from, sizeof from, "%lld", (long long)xmin);
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *vals[3] = {from, lim, tenant};
    PGresult *res = store_db_exec_prepared(db, "rows_since", rows_since_sql, 3, vals);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = store_db_fail(db, res, "transactions since the snapshot");
    } else {
        *n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        rc = 1;
    }
    PQclear(res);
    return rc;
}

int store_snapshot_listen(store_db *db)
{
    return store_db_exec(db, "LISTEN " STORE_SNAPSHOT_CHANNEL, PGRES_COMMAND_OK);
}

/* The payload of an erasure: "<tenant> erased <customer id>". */
#define ERASED " erased "

/* Hands every notification libpq has to fn. Returns how many. */
static int drain(store_db *db, store_notice_fn fn, void *arg)
{
    int found = 0;
    PGnotify *n;
    while ((n = PQnotifies(db->conn)) != NULL) {
        const char *p = n->extra, *sp = strchr(p, ' ');
        char tenant[STORE_TENANT_MAX + 1];
        size_t tl = sp != NULL ? (size_t)(sp - p) : 0;
        if (strcmp(n->relname, STORE_SNAPSHOT_CHANNEL) == 0 && sp != NULL && tl > 0 &&
            tl <= STORE_TENANT_MAX) {
            memcpy(tenant, p, tl);
            tenant[tl] = '\0';
            bool erased = strncmp(sp, ERASED, sizeof ERASED - 1) == 0;
            fn(tenant, erased ? -1 : strtoll(sp + 1, NULL, 10),
               erased ? sp + sizeof ERASED - 1 : NULL, arg);
            found++;
        }
        PQfreemem(n);
    }
    return found;
}

int store_snapshot_wait(store_db *db, long timeout_ms, store_notice_fn fn, void *arg)
{
    if (store_db_broken(db)) {
        snprintf(db->err, sizeof db->err, "snapshot notifications: connection lost");
        return -1;
    }
    if (drain(db, fn, arg) > 0)
        return 1;
    struct pollfd p = {.fd = PQsocket(db->conn), .events = POLLIN};
    int r = poll(&p, 1, (int)(timeout_ms > 0 ? timeout_ms : 0));
    if (r < 0 && errno != EINTR) {
        snprintf(db->err, sizeof db->err, "snapshot notifications: poll: %s",
                 strerror(errno));
        return -1;
    }
    if (r > 0 && PQconsumeInput(db->conn) == 0) {
        store_db_fail(db, NULL, "snapshot notifications");
        return -1;
    }
    return drain(db, fn, arg) > 0;
}

int store_snapshot_newest_all(store_db *db, store_newest_fn fn, void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    PGresult *res = store_db_exec_prepared(db, "newest_all", newest_all_sql, 0, NULL);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = store_db_fail(db, res, "newest snapshots");
    for (int r = 0; rc == 0 && r < PQntuples(res); r++)
        fn(PQgetvalue(res, r, 0), strtoll(PQgetvalue(res, r, 1), NULL, 10), arg);
    PQclear(res);
    return rc;
}

int store_tenant_announce(store_db *db, const char *tenant, const char *customer)
{
    char payload[STORE_TENANT_MAX + sizeof ERASED + 1024];
    if (customer != NULL)
        snprintf(payload, sizeof payload, "%s" ERASED "%.1000s", tenant, customer);
    else
        snprintf(payload, sizeof payload, "%s 0", tenant);
    const char *vals[2] = {STORE_SNAPSHOT_CHANNEL, payload};
    PGresult *res =
        store_db_exec_prepared(db, "tenant_notify", "SELECT pg_notify($1, $2)", 2, vals);
    int rc = PQresultStatus(res) == PGRES_TUPLES_OK
                 ? 0
                 : store_db_fail(db, res, "announce tenant");
    PQclear(res);
    return rc;
}
