/* API key checks of the HTTP service: parses an Authorization header
 * ("Bearer <token>"), finds the key by its id in an in-memory copy of the
 * valid keys and compares the token's SHA-256 in constant time.
 *
 * The copy is reloaded from PostgreSQL by a background thread only, never
 * by a request: every reload_ms (AUTH_RELOAD_MS, 5 s, in `ltvd serve`), and
 * soon after a well-formed token names a key id the copy lacks: such a
 * request wakes the thread, which reloads at most once per
 * AUTH_MISS_RELOAD_MS (1 s). The one request that starts such a reload
 * waits for it, at most AUTH_MISS_WAIT_MS (100 ms), so a key created just
 * before its first use works at once; every other unknown id is refused
 * (401) at once. A revoked key stops working within reload_ms, and unknown
 * ids cost PostgreSQL at most one query a second. No request waits on
 * PostgreSQL beyond those 100 ms once a second: a reload that hangs holds
 * the thread only, within the bounds of its connection (store_db_limits),
 * and the previous copy keeps serving.
 * A failed reload keeps the previous copy (logged once). The key is
 * checked when a request's head is in, and a batch's again just before it
 * writes (http/access.h): a write passed just before a revocation finishes
 * within the request bounds of app/db_wait.h (docs/reliability.md).
 * Nothing here logs a token, a hash or a key id.
 * Thread-safe. */
#ifndef LTVD_AUTH_AUTH_H
#define LTVD_AUTH_AUTH_H

#include <stddef.h>

#include "auth/auth_token.h"
#include "store/db.h"

#define AUTH_RELOAD_MS 5000
#define AUTH_MISS_RELOAD_MS 1000
#define AUTH_MISS_WAIT_MS 100
#define AUTH_ERR_MAX 256

typedef struct auth_keys auth_keys;

typedef enum auth_result {
    AUTH_OK,          /* a valid key holding one of the scopes asked for */
    AUTH_MISSING,     /* no Authorization header */
    AUTH_MALFORMED,   /* not "Bearer <token>", or not a token's format */
    AUTH_INVALID,     /* unknown or revoked key, or a wrong secret */
    AUTH_FORBIDDEN,   /* a valid key without any of the scopes asked for */
    AUTH_UNAVAILABLE, /* no key store (the service runs without a database) */
    AUTH_NOT_LOADED,  /* a token, but the keys are not loaded yet (start-up) */
} auth_result;

/* Connects to database_url with the bounds lim (NULL: none), loads the
 * valid keys (the api_keys table must exist: migrate first) and starts the
 * reload thread (reload_ms > 0). Returns the cache (free with
 * auth_keys_free), or NULL with err set. auth_keys_new, then
 * auth_keys_connect. */
auth_keys *auth_keys_open(const char *database_url, const store_db_limits *lim,
                          long reload_ms, char err[AUTH_ERR_MAX]);

/* An empty copy, not loaded yet: every check of a token says
 * AUTH_NOT_LOADED until auth_keys_connect succeeded, so a server can take
 * it before the keys can be read (start-up, before the migrations). NULL
 * when out of memory. */
auth_keys *auth_keys_new(long reload_ms);

/* Connects k (from auth_keys_new) as auth_keys_open does, loads the keys
 * and starts the reload thread; only then do checks use them. Once, on one
 * thread; checks may run meanwhile. Returns 0, or -1 with err set (k stays
 * not loaded; free it with auth_keys_free). */
int auth_keys_connect(auth_keys *k, const char *database_url, const store_db_limits *lim,
                      char err[AUTH_ERR_MAX]);

/* Stops the thread, closes the connection, frees k. NULL is fine. */
void auth_keys_free(auth_keys *k);

/* Checks the Authorization header value (NULL when absent) against k
 * (NULL: AUTH_UNAVAILABLE; not loaded yet: AUTH_NOT_LOADED once the header
 * is a well-formed token) for a key holding any of the AUTH_SCOPE_ bits of
 * any_of. When the key is valid (AUTH_OK, AUTH_FORBIDDEN) its tenant ("*"
 * for a platform key) is copied to tenant (may be NULL). */
auth_result auth_keys_check(auth_keys *k, const char *authorization, unsigned any_of,
                            char tenant[STORE_TENANT_MAX + 1]);

/* Drops tenant's keys from the copy at once (its row was deleted with
 * them: a tenant created again under that id must not open to them until
 * the next reload), and asks the reload thread for a reload (one that read
 * the table before the deletion may have put them back). Returns how many
 * were dropped. NULL k, or keys not loaded yet: 0. */
size_t auth_keys_forget_tenant(auth_keys *k, const char *tenant);

/* Reloads now, on the calling thread (the reload thread, a test, a tool:
 * never a request). Returns 0, or -1 (the previous copy stays). */
int auth_keys_reload(auth_keys *k);

/* Number of valid keys in the copy. */
size_t auth_keys_count(auth_keys *k);

#endif
