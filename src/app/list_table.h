/* Internal to src/app: the list state (list_table.c) as the list query
 * (customer_query.c) uses it: the published score table and its readers'
 * references, the table's spec for a snapshot and a day, and the slots. */
#ifndef LTVD_APP_LIST_TABLE_H
#define LTVD_APP_LIST_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/cache.h"
#include "cache/scores.h"
#include "config/config.h"
#include "model/clv.h"

struct app_list_state;

/* A published score table and its readers (refs under the state's lock). */
typedef struct app_list_table {
    cache_scores *t;
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

/* Whether two specs are of the same snapshot, day and options. */
bool app_list_spec_same(const cache_scores_spec *a, const cache_scores_spec *b);

/* The CLV options of a request with model m: months of 30 days (at least
 * one), as the customer endpoints compute them (customer_query.c). */
clv_options app_clv_options(const cache_model *m, long horizon_days, double discount,
                            double margin);

/* Takes a list slot (false: all taken) / gives it back. */
bool app_list_slot_take(struct app_list_state *s);
void app_list_slot_give(struct app_list_state *s);

#endif
