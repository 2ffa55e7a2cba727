/* Acquisition inputs of a tenant (issue 11, part A): a customer's
 * attributes set by PUT (stored, then in the cache), and the acquisition
 * spend per channel and month. The first-touch attributes of transaction
 * items go with the batch (store/ingest.c, app/apply.c). */
#ifndef LTVD_APP_ACQUISITION_H
#define LTVD_APP_ACQUISITION_H

#include "app/db_wait.h"
#include "app/tenant.h"
#include "store/acquisition.h"

typedef enum app_acq_status {
    APP_ACQ_OK = 0,
    APP_ACQ_NOT_FOUND,       /* the customer has no stored transaction */
    APP_ACQ_UNAVAILABLE,     /* PostgreSQL failed or is busy: detail says */
    APP_ACQ_UNKNOWN_CHANNEL, /* spend for a channel the tenant does not know */
} app_acq_status;

/* Replaces the attributes of t's customer id (NULL: unknown; values
 * validated by the caller) in PostgreSQL, then in t's cache. */
app_acq_status app_attrs_put(app_tenant *t, const char *id, const char *channel,
                             const char *campaign, char detail[APP_DB_DETAIL_MAX]);

/* Stores s[0..n) (validated; n <= STORE_SPEND_MAX) for t, all or nothing.
 * Every channel must be known to t: listed in its acquisition_channels
 * setting, some customer's acquisition_channel, or in its spend already;
 * otherwise APP_ACQ_UNKNOWN_CHANNEL with unknown[i] set for each item of an
 * unknown channel (unknown has n entries), and nothing stored. */
app_acq_status app_spend_put(app_tenant *t, const store_spend *s, size_t n, bool *unknown,
                             char detail[APP_DB_DETAIL_MAX]);

/* The channel check of app_spend_put alone, for items that also have other
 * errors (s[i].channel NULL where the channel itself is invalid): OK, or
 * APP_ACQ_UNKNOWN_CHANNEL with unknown[i] set, or APP_ACQ_UNAVAILABLE
 * (detail says; at once while PostgreSQL is known to be failing).
 * Stores nothing. */
app_acq_status app_spend_check_channels(app_tenant *t, const store_spend *s, size_t n,
                                        bool *unknown, char detail[APP_DB_DETAIL_MAX]);

/* At most limit of t's spend rows after (after_channel, after_month)
 * (store_spend_page), each to cb; *n_out how many. */
app_acq_status app_spend_page(app_tenant *t, const char *after_channel,
                              int64_t after_month, long limit, store_spend_cb cb,
                              void *arg, long *n_out, char detail[APP_DB_DETAIL_MAX]);

#endif
