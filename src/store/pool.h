/* A fixed set of connections shared by the request threads: a thread takes
 * one for the duration of a piece of database work and gives it back. */
#ifndef LTVD_STORE_POOL_H
#define LTVD_STORE_POOL_H

#include <stddef.h>

#include "store/db.h"

typedef struct store_pool store_pool;

/* Opens size connections to url, each with the bounds of lim (NULL: none;
 * see store_db_open_limited). Returns the pool, or NULL with err set when
 * any connection fails (none is left open then). Free with store_pool_close,
 * after every connection has been released. */
store_pool *store_pool_open(const char *url, size_t size, const store_db_limits *lim,
                            char err[STORE_ERR_MAX]);
void store_pool_close(store_pool *p);

/* The bounds p's connections were opened with (for a connection of one's
 * own with the same bounds but one or two changed). */
store_db_limits store_pool_limits(const store_pool *p);

/* Takes a free connection, waiting for one up to timeout_ms (< 0: forever).
 * Returns NULL on timeout. A connection broken meanwhile is re-established by
 * the store_ calls themselves (see store_db_transaction, store_db_ping). */
store_db *store_pool_acquire(store_pool *p, long timeout_ms);

/* Gives db back to the pool it came from (its deadline cleared). */
void store_pool_release(store_pool *p, store_db *db);

#endif
