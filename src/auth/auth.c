/* The server's copy of the valid API keys and the check of a request's
 * bearer token against it (see auth.h). */
#include "auth/auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/auth_store.h"
#include "base/clock.h"
#include "base/ticker.h"
#include "log/log.h"

struct auth_keys {
    pthread_rwlock_t lock; /* guards keys and n */
    auth_key *keys;        /* sorted by key_id, for bsearch */
    size_t n;
    pthread_mutex_t reload_lock; /* one reload at a time: it owns db */
    store_db *db;
    bool failing;              /* the last reload failed (logged once) */
    atomic_llong last_miss_ms; /* when the thread last reloaded for a miss */
    pthread_mutex_t gen_lock;  /* guards generation, signalled by reloaded */
    pthread_cond_t reloaded;   /* on CLOCK_MONOTONIC */
    unsigned long generation;  /* successful reloads so far */
    atomic_bool miss_pending;  /* a request missed: the thread reloads soon */
    long reload_ms;
    long long next_ms; /* the next periodic reload (monotonic ms) */
    ticker *ticker;    /* the reload thread, NULL when reload_ms is 0 */
    /* set (release) once connected, loaded and the thread started: checks
     * read keys, db and ticker only after seeing it (acquire) */
    atomic_bool loaded;
};

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const auth_key *)a)->key_id, ((const auth_key *)b)->key_id);
}

/* ---------------------------------------------------------------- reload */

/* Loads the keys on db, once more after re-connecting a broken connection. */
static int load(store_db *db, auth_key **keys, size_t *n)
{
    if (auth_store_load(db, keys, n) == 0)
        return 0;
    if (!store_db_broken(db) || store_db_reconnect(db) != 0)
        return -1;
    return auth_store_load(db, keys, n);
}

int auth_keys_reload(auth_keys *k)
{
    auth_key *keys = NULL, *old = NULL;
    size_t n = 0;
    pthread_mutex_lock(&k->reload_lock);
    int rc = load(k->db, &keys, &n);
    if (rc == 0) {
        if (n > 1)
            qsort(keys, n, sizeof *keys, key_cmp);
        pthread_rwlock_wrlock(&k->lock);
        old = k->keys;
        k->keys = keys;
        k->n = n;
        pthread_rwlock_unlock(&k->lock);
        if (k->failing)
            log_write(LOG_INFO, "api keys: reloaded again (%zu valid)", n);
    } else if (!k->failing) {
        log_write(LOG_WARN, "api keys: reload failed, keeping the previous keys: %s",
                  store_db_error(k->db));
    }
    k->failing = rc != 0;
    if (rc == 0) {
        pthread_mutex_lock(&k->gen_lock);
        k->generation++;
        pthread_cond_broadcast(&k->reloaded);
        pthread_mutex_unlock(&k->gen_lock);
    }
    pthread_mutex_unlock(&k->reload_lock);
    free(old);
    return rc;
}

/* The reload thread's turn (a ticker_fn): reloads every reload_ms, and
 * after a request missed (miss_reload wakes it), at most once per
 * AUTH_MISS_RELOAD_MS; returns the delay to the next turn. */
static long reload_tick(void *arg)
{
    auth_keys *k = arg;
    long long now = base_mono_ms();
    bool periodic = now >= k->next_ms;
    if (!periodic && !atomic_load(&k->miss_pending))
        return (long)(k->next_ms - now);
    if (!periodic) {
        long long miss_at = atomic_load(&k->last_miss_ms) + AUTH_MISS_RELOAD_MS;
        if (now < miss_at)
            return (long)((miss_at < k->next_ms ? miss_at : k->next_ms) - now);
        atomic_store(&k->last_miss_ms, now);
    }
    /* cleared before the load: a miss during it wakes another turn */
    atomic_store(&k->miss_pending, false);
    auth_keys_reload(k);
    k->next_ms = base_mono_ms() + k->reload_ms;
    return k->reload_ms;
}

/* --------------------------------------------------------- open and free */

auth_keys *auth_keys_new(long reload_ms)
{
    auth_keys *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    pthread_rwlock_init(&k->lock, NULL);
    pthread_mutex_init(&k->reload_lock, NULL);
    k->reload_ms = reload_ms;
    /* the first miss may reload at once */
    atomic_init(&k->last_miss_ms, base_mono_ms() - AUTH_MISS_RELOAD_MS);
    pthread_mutex_init(&k->gen_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->reloaded, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&k->miss_pending, false);
    atomic_init(&k->loaded, false);
    return k;
}

int auth_keys_connect(auth_keys *k, const char *database_url, const store_db_limits *lim,
                      char err[AUTH_ERR_MAX])
{
    char db_err[STORE_ERR_MAX];
    k->db = store_db_open_limited(database_url, lim, db_err);
    if (k->db == NULL) {
        snprintf(err, AUTH_ERR_MAX, "api keys: %.200s", db_err);
        return -1;
    }
    if (auth_keys_reload(k) != 0) {
        snprintf(err, AUTH_ERR_MAX, "%.240s", store_db_error(k->db));
        goto failed;
    }
    k->next_ms = base_mono_ms() + k->reload_ms;
    if (k->reload_ms > 0 &&
        (k->ticker = ticker_start(k->reload_ms, k->reload_ms, reload_tick, k)) == NULL) {
        snprintf(err, AUTH_ERR_MAX, "api keys: the reload thread could not be started");
        goto failed;
    }
    atomic_store_explicit(&k->loaded, true, memory_order_release);
    return 0;
failed:
    store_db_close(k->db);
    k->db = NULL;
    return -1;
}

auth_keys *auth_keys_open(const char *database_url, const store_db_limits *lim,
                          long reload_ms, char err[AUTH_ERR_MAX])
{
    auth_keys *k = auth_keys_new(reload_ms);
    if (k == NULL) {
        snprintf(err, AUTH_ERR_MAX, "api keys: out of memory");
        return NULL;
    }
    if (auth_keys_connect(k, database_url, lim, err) != 0) {
        auth_keys_free(k);
        return NULL;
    }
    return k;
}

void auth_keys_free(auth_keys *k)
{
    if (k == NULL)
        return;
    ticker_stop(k->ticker);
    pthread_cond_destroy(&k->reloaded);
    pthread_mutex_destroy(&k->gen_lock);
    pthread_mutex_destroy(&k->reload_lock);
    pthread_rwlock_destroy(&k->lock);
    store_db_close(k->db);
    free(k->keys);
    free(k);
}

size_t auth_keys_count(auth_keys *k)
{
    pthread_rwlock_rdlock(&k->lock);
    size_t n = k->n;
    pthread_rwlock_unlock(&k->lock);
    return n;
}

size_t auth_keys_forget_tenant(auth_keys *k, const char *tenant)
{
    if (k == NULL || !atomic_load_explicit(&k->loaded, memory_order_acquire))
        return 0;
    pthread_rwlock_wrlock(&k->lock);
    size_t kept = 0;
    for (size_t i = 0; i < k->n; i++) /* in order: still sorted */
        if (strcmp(k->keys[i].tenant, tenant) != 0)
            k->keys[kept++] = k->keys[i];
    size_t gone = k->n - kept;
    k->n = kept;
    pthread_rwlock_unlock(&k->lock);
    if (gone > 0 && k->ticker != NULL) {
        atomic_store(&k->miss_pending, true);
        ticker_wake(k->ticker);
    }
    return gone;
}

/* ---------------------------------------------------------------- checks */

/* Copies the key of key_id into *out; false when the copy has none. */
static bool lookup(auth_keys *k, const char *key_id, auth_key *out)
{
    auth_key probe;
    memcpy(probe.key_id, key_id, sizeof probe.key_id);
    pthread_rwlock_rdlock(&k->lock);
    const auth_key *hit =
        k->n > 0 ? bsearch(&probe, k->keys, k->n, sizeof *k->keys, key_cmp) : NULL;
    if (hit != NULL)
        *out = *hit;
    pthread_rwlock_unlock(&k->lock);
    return hit != NULL;
}

/* After a miss: wakes the reload thread, never waits for it. */
/* After a miss: wakes the reload thread and, when this request is the one
 * that asks for the reload and the thread may run it now (not within
 * AUTH_MISS_RELOAD_MS of the last miss reload), waits for it at most
 * AUTH_MISS_WAIT_MS, so that a key created just before its first use
 * works at once. Returns true when a reload completed meanwhile. Every other
 * miss returns at once: a flood of unknown ids waits for nothing. */
static bool miss_reload(auth_keys *k)
{
    if (k->ticker == NULL || atomic_exchange(&k->miss_pending, true))
        return false;
    bool may_run = base_mono_ms() - atomic_load(&k->last_miss_ms) >= AUTH_MISS_RELOAD_MS;
    pthread_mutex_lock(&k->gen_lock);
    unsigned long gen = k->generation;
    pthread_mutex_unlock(&k->gen_lock);
    ticker_wake(k->ticker);
    if (!may_run)
        return false;
    struct timespec until = base_mono_after_ms(AUTH_MISS_WAIT_MS);
    pthread_mutex_lock(&k->gen_lock);
    while (k->generation == gen &&
           pthread_cond_timedwait(&k->reloaded, &k->gen_lock, &until) == 0) {
    }
    bool done = k->generation != gen;
    pthread_mutex_unlock(&k->gen_lock);
    return done;
}

/* The token of "Bearer <token>" (scheme case-insensitive); NULL otherwise. */
static const char *bearer_token(const char *header, size_t *len)
{
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    const char *t = header + 7;
    t += strspn(t, " ");
    *len = strcspn(t, " \t");
    return t[*len] == '\0' || t[*len + strspn(t + *len, " \t")] == '\0' ? t : NULL;
}

auth_result auth_keys_check(auth_keys *k, const char *authorization, unsigned any_of,
                            char tenant[STORE_TENANT_MAX + 1])
{
    char key_id[AUTH_KEY_ID_LEN + 1];
    unsigned char hash[AUTH_HASH_LEN];
    size_t len = 0;
    auth_key key;
    if (authorization == NULL)
        return AUTH_MISSING;
    const char *token = bearer_token(authorization, &len);
    if (token == NULL || !auth_token_parse(token, len, key_id))
        return AUTH_MALFORMED;
    if (k == NULL)
        return AUTH_UNAVAILABLE;
    if (!atomic_load_explicit(&k->loaded, memory_order_acquire))
        return AUTH_NOT_LOADED;
    if (auth_token_hash(token, len, hash) != 0)
        return AUTH_INVALID;
    if (!lookup(k, key_id, &key) && !(miss_reload(k) && lookup(k, key_id, &key)))
        return AUTH_INVALID;
    if (!auth_equal_ct(hash, key.hash, AUTH_HASH_LEN))
        return AUTH_INVALID;
    if (tenant != NULL)
        memcpy(tenant, key.tenant, sizeof key.tenant);
    return (key.scopes & any_of) != 0 ? AUTH_OK : AUTH_FORBIDDEN;
}
