/* A ticker: one thread that calls a function every period, or at once when
 * woken, until stopped. The one timed thread of the service: the cache
 * catch-up, the key reload, the connection deadlines and the refit worker
 * are tickers. Tickers of a group (ticker_group) share one thread instead:
 * each tenant's refit worker and list keeper, so a thousand tenants take
 * two threads, and a call of one waits for the call of another to end. Waits use
 * CLOCK_MONOTONIC, so a change of the wall clock neither stalls nor hurries a tick. A
 * leaf: it includes nothing of ltvd. */
#ifndef LTVD_BASE_TICKER_H
#define LTVD_BASE_TICKER_H

#include <stdbool.h>

typedef struct ticker ticker;
typedef struct ticker_group ticker_group;

/* Called on the ticker's thread, never twice at once. Returns the delay in
 * milliseconds until the next call, or a negative number for the period. */
typedef long (*ticker_fn)(void *arg);

/* Starts a thread that calls fn(arg) after first_ms (0: at once), then after
 * each delay fn returns (period_ms when negative; period_ms > 0). Returns the
 * ticker (stop with ticker_stop), or NULL when the thread cannot start. */
ticker *ticker_start(long period_ms, long first_ms, ticker_fn fn, void *arg);

/* A group's thread, with no ticker yet. NULL when it cannot start. */
ticker_group *ticker_group_start(void);

/* Stops the group's thread: every ticker of it must be stopped first. NULL
 * is fine. */
void ticker_group_stop(ticker_group *g);

/* ticker_start, on g's thread (g NULL: a thread of its own). */
ticker *ticker_start_in(ticker_group *g, long period_ms, long first_ms, ticker_fn fn,
                        void *arg);

/* Makes the next call happen at once (or right after the one running).
 * Cheap and safe from any thread. NULL is fine. */
void ticker_wake(ticker *t);

/* True once ticker_stop has begun: a long fn may poll it to end early. */
bool ticker_stopping(ticker *t);

/* Stops calling fn, waits for a call in progress to return, joins the thread
 * and frees the ticker. NULL is fine. */
void ticker_stop(ticker *t);

#endif
