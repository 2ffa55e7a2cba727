/* The api_keys table (migrations/003_api_keys.sql): create, list and revoke
 * keys for `ltvd key`, and load the valid ones for the server's cache.
 * Tokens never reach this module: only their key id and SHA-256. */
#ifndef LTVD_AUTH_STORE_H
#define LTVD_AUTH_STORE_H

#include <stddef.h>

#include "auth/auth_token.h"
#include "store/db.h"

/* One valid key as the server needs it. */
typedef struct auth_key {
    char key_id[AUTH_KEY_ID_LEN + 1];
    unsigned char hash[AUTH_HASH_LEN]; /* SHA-256 of the whole token */
    unsigned scopes;                   /* AUTH_SCOPE_ bits */
    char tenant[STORE_TENANT_MAX + 1]; /* the tenant it may address, or "*" */
} auth_key;

/* One key as `ltvd key list` shows it (borrowed strings, valid during the
 * callback only). */
typedef struct auth_key_info {
    const char *key_id;
    const char *name;
    const char *scopes;  /* "ingest,read" */
    const char *created; /* RFC 3339, UTC */
    const char *revoked; /* RFC 3339, UTC, or NULL while valid */
    const char *tenant;  /* its tenant, or "*" for a platform key */
} auth_key_info;

typedef int (*auth_store_list_cb)(const auth_key_info *k, void *arg);

/* Stores a new key for tenant (NULL: STORE_TENANT_DEFAULT; "*": a platform
 * key, for every tenant). Returns 0, 1 when key_id is taken already (draw a
 * new token), or -1 with db->err set (a tenant id of the wrong form too). */
int auth_store_create(store_db *db, const char *key_id, const char *name,
                      const unsigned char hash[AUTH_HASH_LEN], unsigned scopes,
                      const char *tenant);

/* Calls cb for every key, revoked ones included, oldest first; a non-zero
 * return from cb stops the walk. Returns 0, 1 when cb stopped it, or -1
 * with db->err set. */
int auth_store_list(store_db *db, auth_store_list_cb cb, void *arg);

/* Revokes key_id. Returns 0 when revoked now, 1 when it was revoked
 * already, 2 when there is no such key, or -1 with db->err set. */
int auth_store_revoke(store_db *db, const char *key_id);

/* The keys not revoked, as a malloc'd array (caller frees; NULL when there
 * are none) of *n. Returns 0, or -1 with db->err set (out of memory too). */
int auth_store_load(store_db *db, auth_key **out, size_t *n);

#endif
