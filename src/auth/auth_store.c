/* The api_keys table: the SQL of `ltvd key` and of the server's key cache. */
#include "auth/auth_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char create_sql[] =
    "INSERT INTO api_keys (key_id, name, token_sha256, scopes, tenant_id)"
    " VALUES ($1, $2, decode($3, 'hex'), string_to_array($4, ','), $5)"
    " ON CONFLICT (key_id) DO NOTHING";

#define UTC_TEXT(col)                                                                    \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char list_sql[] =
    "SELECT key_id, name, array_to_string(scopes, ','), " UTC_TEXT(
        "created_at") ", " UTC_TEXT("revoked_at") ", tenant_id"
                                                  " FROM api_keys ORDER BY created_at, "
                                                  "key_id";

/* The row is locked first, so two revokes of one key report it once. */
static const char revoke_sql[] =
    "WITH k AS (SELECT key_id, revoked_at FROM api_keys WHERE key_id = $1 FOR UPDATE),"
    " u AS (UPDATE api_keys SET revoked_at = now() FROM k"
    "       WHERE api_keys.key_id = k.key_id AND k.revoked_at IS NULL RETURNING 1)"
    " SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM u)";

static const char load_sql[] =
    "SELECT key_id, encode(token_sha256, 'hex'), array_to_string(scopes, ','),"
    " tenant_id FROM api_keys WHERE revoked_at IS NULL";

int auth_store_create(store_db *db, const char *key_id, const char *name,
                      const unsigned char hash[AUTH_HASH_LEN], unsigned scopes,
                      const char *tenant)
{
    char hash_hex[2 * AUTH_HASH_LEN + 1], scope_text[AUTH_SCOPES_TEXT_MAX];
    auth_hex(hash, AUTH_HASH_LEN, hash_hex);
    const char *vals[] = {key_id, name, hash_hex, auth_scopes_format(scopes, scope_text),
                          tenant != NULL ? tenant : STORE_TENANT_DEFAULT};
    PGresult *res = store_db_exec_prepared(db, "auth_key_create", create_sql, 5, vals);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        store_db_fail(db, res, "create API key");
    else
        rc = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : 1;
    PQclear(res);
    return rc;
}

int auth_store_list(store_db *db, auth_store_list_cb cb, void *arg)
{
    PGresult *res = store_db_exec_prepared(db, "auth_key_list", list_sql, 0, NULL);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "list API keys");
        goto cleanup;
    }
    rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        auth_key_info k = {PQgetvalue(res, i, 0),
                           PQgetvalue(res, i, 1),
                           PQgetvalue(res, i, 2),
                           PQgetvalue(res, i, 3),
                           PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4),
                           PQgetvalue(res, i, 5)};
        rc = cb(&k, arg) != 0 ? 1 : 0;
    }
cleanup:
    PQclear(res);
    return rc;
}

int auth_store_revoke(store_db *db, const char *key_id)
{
    const char *vals[] = {key_id};
    PGresult *res = store_db_exec_prepared(db, "auth_key_revoke", revoke_sql, 1, vals);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        store_db_fail(db, res, "revoke API key");
    else if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
        rc = 2;
    else
        rc = strcmp(PQgetvalue(res, 0, 1), "1") == 0 ? 0 : 1;
    PQclear(res);
    return rc;
}

/* Row i of the load query into k; false when a column is malformed. */
static bool key_from_row(const PGresult *res, int i, auth_key *k)
{
    const char *id = PQgetvalue(res, i, 0);
    int scopes = auth_scopes_parse(PQgetvalue(res, i, 2));
    const char *tenant = PQgetvalue(res, i, 3);
    if (strlen(id) != AUTH_KEY_ID_LEN || scopes < 0 ||
        !auth_unhex(PQgetvalue(res, i, 1), k->hash, AUTH_HASH_LEN) ||
        strlen(tenant) > STORE_TENANT_MAX)
        return false;
    snprintf(k->tenant, sizeof k->tenant, "%s", tenant);
    memcpy(k->key_id, id, AUTH_KEY_ID_LEN + 1);
    k->scopes = (unsigned)scopes;
    return true;
}

int auth_store_load(store_db *db, auth_key **out, size_t *n)
{
    PGresult *res = store_db_exec_prepared(db, "auth_key_load", load_sql, 0, NULL);
    auth_key *keys = NULL;
    int rc = -1;
    *out = NULL;
    *n = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "load API keys");
        goto cleanup;
    }
    size_t rows = (size_t)PQntuples(res);
    keys = rows > 0 ? calloc(rows, sizeof *keys) : NULL;
    if (rows > 0 && keys == NULL) {
        snprintf(db->err, sizeof db->err, "load API keys: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < rows; i++) {
        if (!key_from_row(res, (int)i, &keys[i])) {
            snprintf(db->err, sizeof db->err, "load API keys: row %zu is malformed",
                     i + 1);
            goto cleanup;
        }
    }
    *out = keys;
    *n = rows;
    keys = NULL;
    rc = 0;
cleanup:
    free(keys);
    PQclear(res);
    return rc;
}
