/* Internal to src/app/subs*.c: the records of a tenant's subscriptions and
 * the cache of the fits made on them (see subs.h). */
#ifndef LTVD_APP_SUBS_IMPL_H
#define LTVD_APP_SUBS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "app/subs.h"

typedef struct sub_rec {
    char *id;
    char *customer_id;
    subs_period period;
    bool has_start;
    int64_t start_s;
    int64_t renewals;
    bool cancelled;
    int64_t cancel_s;
    int64_t amount_s; /* time of the event the amount is from (-1: none) */
    double amount;
    double start_amount;      /* of the start event (0: none) */
    int32_t next_of_customer; /* the customer's next record, -1: none */
} sub_rec;

/* A fit on one billing period's cohorts, valid for one (epoch, model,
 * grace, day). */
typedef struct subs_fit_cache {
    bool valid;
    uint64_t epoch;
    retention_kind kind;
    long grace_days;
    int64_t day;
    bool ok;
    retention_fit_result fit;
    char note[200];
    app_subs_cohort *cohorts; /* every cohort with a decision observed, oldest first */
    size_t n_cohorts;
} subs_fit_cache;

/* app_subs_starts_by_channel's last answer for one period, valid for one
 * (epoch, cache generation). */
typedef struct subs_starts_memo {
    bool valid;
    uint64_t epoch, generation;
    app_subs_starts s;
} subs_starts_memo;

struct app_subs {
    pthread_mutex_t lock; /* everything below */
    sub_rec *v;
    size_t n, cap;
    int32_t *by_id;       /* open addressing: index into v, -1 empty */
    int32_t *by_customer; /* the customer's newest record */
    size_t n_slots;       /* a power of two, > 2 n */
    int64_t version;      /* the version in PostgreSQL the records are of; -1 unknown */
    uint64_t epoch;       /* counted up by every change of the records */
    /* n as of the last change, read without the lock: a customer document
     * of a tenant without subscriptions takes no lock */
    atomic_size_t count;
    subs_fit_cache fits[2];
    subs_starts_memo starts[2];
};

/* The record of id, or NULL (lock held). */
sub_rec *subs_find(app_subs *s, const char *id);

/* The customer's most recently added record (its chain follows
 * next_of_customer), -1 when none (lock held). */
int32_t subs_customer_head(app_subs *s, const char *customer_id);

/* The fit of period (lock held), made or taken from the cache. */
const subs_fit_cache *subs_fit(app_subs *s, subs_period period, const ltvd_config *cfg,
                               int64_t now_s);

/* t periods after start_s (calendar months or years, the day clamped to the
 * month's last). */
int64_t subs_add_periods(int64_t start_s, int64_t t, subs_period p);

/* The record's status and the end of its paid periods as of now_s. */
app_sub_status subs_status(const sub_rec *r, int64_t now_s, long grace_days,
                           int64_t *paid_through_s);

void subs_fit_cache_clear(subs_fit_cache *c);

#endif
