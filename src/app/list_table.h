/* Internal to src/app: the list state (list_table.c) as the list query
 * (customer_query.c) uses it: the published score table and its readers'
 * references, the table's spec for a snapshot and a day, and the slots. */
#ifndef LTVD_APP_LIST_TABLE_H
#define LTVD_APP_LIST_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/customer_query.h"
#include "cache/cache.h"
#include "cache/scores.h"
#include "config/config.h"
#include "model/clv.h"

struct app_list_state;
struct app_list_shared;

/* A published score table, the snapshot it was scored with (held), and
 * its readers (refs under the state's lock). */
typedef struct app_list_table {
    cache_scores *t;
    const cache_model *m;
    int refs;
} app_list_table;

/* The current table with a reference (NULL: none yet); release it with
 * app_list_table_release (NULL is fine). */
app_list_table *app_list_table_acquire(struct app_list_state *s);
void app_list_table_release(struct app_list_state *s, app_list_table *r);

/* The spec of the table for snapshot m and day: the configured
 * horizon_days and discount_rate. */
void app_list_spec(const cache_model *m, int64_t day, const ltvd_config *cfg,
                   cache_scores_spec *sp);
/* The scoring part of a spec (no cells digest) for snapshot m at o's day,
 * horizon_days and discount_rate: the table's with the configured options,
 * a request's own otherwise (score_memo.h). */
void app_list_spec_opts(const cache_model *m, const app_score_opts *o,
                        cache_scores_spec *sp);

/* Whether two specs are of the same snapshot, day and options. */
bool app_list_spec_same(const cache_scores_spec *a, const cache_scores_spec *b);

/* The table that answers a list as of day with the snapshot *m (held),
 * acquired, or NULL: the table of *m and day when complete; while it is
 * being computed, the previous complete table of the same day and options,
 * and then *m becomes its snapshot (the reference is swapped). keys: the
 * list's sort key is one the table's options determine. NULL with
 * *warming when the table would serve once computed. */
app_list_table *app_list_table_pick(app_tenant *t, int64_t day, bool keys,
                                    const cache_model **m, bool *warming);

/* A pass over every customer of tn with r, the table picked (acquired;
 * NULL: no table, the pass scores each customer itself); arg is the
 * caller's. Returns APP_LIST_OK or the pass's failure. */
typedef app_list_status (*app_list_pass_fn)(app_tenant *tn, app_list_table *r, void *arg);

/* Runs an aggregate over tn's customers as of day (a list's rules): takes
 * a list slot (APP_LIST_BUSY when none is free), the served snapshot into
 * *m (APP_LIST_NO_MODEL without one; the caller releases *m whatever the
 * status, as app_list_table_pick may swap it), then pass with the table
 * app_list_table_pick gives or, without one, with NULL when tn has at most
 * list_rescore_max customers (else APP_LIST_WARMING). */
app_list_status app_list_aggregate(app_tenant *tn, int64_t day, const cache_model **m,
                                   app_list_pass_fn pass, void *arg);

/* Takes a list slot (false: all taken) / gives it back. */
bool app_list_slot_take(struct app_list_state *s);
void app_list_slot_give(struct app_list_state *s);

/* How many lists may run at once: config list_thread_share percent of
 * the offload threads, at least 1 and, with more than one thread, at most
 * one fewer than them (one always stays for ingest and as_of reads). */
int app_list_slots(const ltvd_config *cfg);

/* The list state of app_open (slots, no thread yet). NULL when out of
 * memory. */
struct app_list_state *app_list_state_new(const ltvd_config *cfg,
                                          struct app_list_shared *sh);

/* The slots and walk counts every tenant's lists share (free with free());
 * NULL when out of memory. */
struct app_list_shared *app_list_shared_new(const ltvd_config *cfg);
void app_list_shared_free(struct app_list_shared *sh);

/* Starts the thread that keeps the score table (no-op when it runs).
 * False when it cannot start. app_free stops it (app_list_stop). */
bool app_list_start(app_tenant *t);

/* Stops the table thread and frees the list state. NULL is fine. */
void app_list_stop(struct app_list_state *s);

/* Lists running now (each holds a slot). */
int app_list_running(app_tenant *t);

/* How a list page found its customers (ltvd_list_pages_total). */
typedef enum app_list_walk {
    APP_LIST_WALK_RANK,    /* from the cursor in the rank of the sort key */
    APP_LIST_WALK_IDS,     /* from the cursor in the id index */
    APP_LIST_WALK_PASS,    /* a pass over the table's rows */
    APP_LIST_WALK_RESCORE, /* every customer scored for the request */
    APP_LIST_WALK_COUNT
} app_list_walk;

/* Counts a page walked so / the count so far. */
void app_list_count_walk(struct app_list_state *s, app_list_walk how);
unsigned long long app_list_walks(struct app_list_shared *sh, app_list_walk how);

/* Score-table figures for tests: whether the table for the current
 * snapshot and day is complete and ranked, its bytes. */
bool app_list_table_ready(app_tenant *t, size_t *bytes);

#endif
