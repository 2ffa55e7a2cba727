/* The per-channel model of a tenant's acquisition answer (docs/acquisition.md
 * "Channels differ"; model/acq_channels.h), fitted in the background, never
 * on a request: GET /v1/acquisition asks for the fit of the snapshot it
 * serves (app_acq_chan_get); when there is none yet, one is started on a
 * thread of its own and the answer says "fitting" (pooled values) until it
 * is there. At most one such fit runs in the process at a time (a request
 * that finds another tenant's running just says "fitting" and the next one
 * starts it). A fit is kept for its snapshot (serial) and the channel
 * dictionary's size at the time: a new snapshot, or a new channel name,
 * starts another (the old one serves meanwhile when it is of the same
 * snapshot). The fit reads the cache as of the snapshot's as_of day, the
 * customers' (x, t_x, T) collapsed per channel as they are read (memory:
 * 32 bytes per distinct pattern and channel, twice), so its cost is the
 * snapshot's scan plus the covariate fit on the distinct patterns. The
 * same thread computes the channels' values (acq_channels_values) kept
 * with the fit: those of the request that started the fit, and those of a
 * horizon too long to value on a request (app_acq_chan_values_start). */
#ifndef LTVD_APP_ACQ_CHAN_H
#define LTVD_APP_ACQ_CHAN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache/cache.h"
#include "model/acq_channels.h"
#include "model/acquisition.h"

/* One finished fit (or its failure), immutable once published except for
 * the kept values; reference-counted. */
typedef struct app_acq_chan_fit {
    atomic_long refs;
    uint64_t serial;     /* the snapshot it is of */
    size_t n_dict;       /* channel names known then */
    uint64_t generation; /* cache_generation when its scan started */
    int rc;              /* GSL_SUCCESS: f is the fit; else why */
    const char *why;     /* static text */
    acq_channel_fit f;
    double seconds; /* scan and fit */
    /* the channels' values for the last APP_ACQ_CHAN_KEPT clv options
     * asked (app_acq_chan_values), under lock */
    pthread_mutex_t lock;
    struct app_acq_chan_kept *kept;
    unsigned next;
} app_acq_chan_fit;

/* Value sets kept per fit (a few horizons a dashboard asks for). */
#define APP_ACQ_CHAN_KEPT 2

typedef enum app_acq_chan_status {
    APP_ACQ_CHAN_READY,          /* *out is a fit (rc GSL_SUCCESS) */
    APP_ACQ_CHAN_FITTING,        /* none for this snapshot yet */
    APP_ACQ_CHAN_NOT_APPLICABLE, /* *why */
    APP_ACQ_CHAN_FAILED,         /* *why */
} app_acq_chan_status;

/* A tenant's state (held by its acquisition memo). */
struct app_acq_chan;
struct app_acq_chan *app_acq_chan_new(void);
/* Waits for a running fit to end (it stops at its next chunk of the scan). */
void app_acq_chan_free(struct app_acq_chan *s);

/* The fit for snapshot m of the customers of cache c (the tenant's),
 * starting one in the background when it is missing or stale (see the
 * top), which also computes and keeps the channels' values under a (the
 * pooled model of the asking request; NULL: none). READY with *out (a reference:
 * app_acq_chan_release), or another status with *why (static text) and *out NULL. Never
 * waits for a fit. */
app_acq_chan_status app_acq_chan_get(struct app_acq_chan *s, cache *c,
                                     const cache_model *m, const acq_model *a,
                                     app_acq_chan_fit **out, const char **why);
void app_acq_chan_release(app_acq_chan_fit *f);

/* Horizons up to this many months are valued on the request (a value of
 * 36 months costs ~2 ms, of 1200 ~0.45 s: ACQ_CHANNELS_DISTINCT of them
 * would not be bounded). */
#define APP_ACQ_CHAN_INLINE_MONTHS 60

/* The channels' values under fit f and the pooled model a, as
 * acq_channels_values (distinct: ACQ_CHANNELS_DISTINCT entries, per:
 * f->f.n_channels): the kept ones of a's clv options, else computed here
 * when a->clv.months <= APP_ACQ_CHAN_INLINE_MONTHS (and kept). False when
 * neither: app_acq_chan_values_start computes them in the background. */
bool app_acq_chan_values(app_acq_chan_fit *f, const acq_model *a, acq_value *distinct,
                         const acq_value **per);

/* Starts computing (and keeping) f's values under a on s's background
 * thread, unless a job of s runs or another job runs in the process (a
 * later request starts it then). */
void app_acq_chan_values_start(struct app_acq_chan *s, app_acq_chan_fit *f,
                               const acq_model *a);

/* Fits run by this process (for tests and the log). */
unsigned long app_acq_chan_fits(void);

#endif
