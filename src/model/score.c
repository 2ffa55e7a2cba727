/* Batch scoring with one computation per distinct history (see score.h). */
#include "model/score.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/gg.h"
#include "model/parallel.h"

#define EMPTY SIZE_MAX
#define MIN_CHUNK 2048

/* One distinct history and what the purchase model says of it. */
typedef struct history {
    double x, t_x, T;
    double p_alive, expected, p_purchase, discounted; /* discounted: clv.h */
    size_t first; /* a customer with this history, for errors */
    int rc;
} history;

typedef struct histories {
    history *h;
    size_t n;
    size_t *slot; /* open addressing: index into h, or EMPTY */
    size_t mask;
    size_t *of; /* of[i]: the history of customer i */
} histories;

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    return k ^ (k >> 33);
}

static uint64_t bits(double v)
{
    uint64_t u;
    v = v == 0 ? 0 : v; /* -0 and +0 are one history */
    memcpy(&u, &v, sizeof u);
    return u;
}

static size_t find_or_add(histories *hs, const score_input *c, size_t i)
{
    uint64_t k = mix(bits(c->x) ^ mix(bits(c->t_x) ^ mix(bits(c->T))));
    for (size_t s = k & hs->mask;; s = (s + 1) & hs->mask) {
        size_t j = hs->slot[s];
        if (j == EMPTY) {
            hs->h[hs->n] = (history){.x = c->x, .t_x = c->t_x, .T = c->T, .first = i};
            hs->slot[s] = hs->n;
            return hs->n++;
        }
        const history *h = &hs->h[j];
        if (h->x == c->x && h->t_x == c->t_x && h->T == c->T)
            return j;
    }
}

static int group(const score_input *in, size_t n, histories *hs)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    hs->h = malloc(n * sizeof *hs->h);
    hs->slot = malloc(cap * sizeof *hs->slot);
    hs->of = malloc(n * sizeof *hs->of);
    if (hs->h == NULL || hs->slot == NULL || hs->of == NULL)
        return GSL_ENOMEM;
    memset(hs->slot, 0xff, cap * sizeof *hs->slot); /* all EMPTY */
    hs->mask = cap - 1;
    hs->n = 0;
    for (size_t i = 0; i < n; i++)
        hs->of[i] = find_or_add(hs, &in[i], i);
    return GSL_SUCCESS;
}

typedef struct job {
    const score_spec *spec;
    histories *hs;
} job;

static int score_history(const score_spec *s, history *h)
{
    const btyd_model *m = s->model;
    int rc = m->p_alive(s->params, h->x, h->t_x, h->T, &h->p_alive);
    if (rc == GSL_SUCCESS)
        rc = m->expected(s->params, h->x, h->t_x, h->T, s->horizon, &h->expected);
    if (rc == GSL_SUCCESS)
        rc = btyd_p_any(m, s->params, h->x, h->t_x, h->T, s->horizon, &h->p_purchase);
    h->discounted = 0;
    if (rc == GSL_SUCCESS && s->gg_params != NULL)
        rc = clv_discounted_purchases(m, s->params, h->x, h->t_x, h->T, &s->clv,
                                      &h->discounted);
    return rc;
}

static int score_chunk(void *ctx, size_t lo, size_t hi, double *acc)
{
    job *j = ctx;
    (void)acc;
    int first = GSL_SUCCESS;
    for (size_t i = lo; i < hi; i++) {
        history *h = &j->hs->h[i];
        h->rc = score_history(j->spec, h);
        if (first == GSL_SUCCESS)
            first = h->rc;
    }
    return first;
}

/* The first customer (in input order) whose history failed. */
static size_t first_bad(const histories *hs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hs->h[hs->of[i]].rc != GSL_SUCCESS)
            return i;
    return 0;
}

static int fill(const score_spec *s, const histories *hs, const score_input *in, size_t n,
                score_output *out, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        const history *h = &hs->h[hs->of[i]];
        out[i] = (score_output){h->p_alive, h->expected, h->p_purchase, 0, 0};
        if (s->gg_params == NULL)
            continue;
        int rc =
            gg_expected_spend(s->gg_params, in[i].x, in[i].m, &out[i].expected_spend);
        if (rc != GSL_SUCCESS) {
            *bad = i;
            return rc;
        }
        out[i].clv = s->clv.margin * out[i].expected_spend * h->discounted;
        if (!isfinite(out[i].clv)) {
            *bad = i;
            return GSL_ERANGE;
        }
    }
    return GSL_SUCCESS;
}

int score_batch(const score_spec *spec, const score_input *in, size_t n,
                score_output *out, size_t *bad)
{
    histories hs = {0};
    if (n == 0)
        return GSL_SUCCESS;
    int rc = group(in, n, &hs);
    if (rc == GSL_SUCCESS) {
        job j = {spec, &hs};
        double unused[1] = {0};
        rc = parallel_sum(hs.n, MIN_CHUNK, score_chunk, &j, unused, 0);
        if (rc != GSL_SUCCESS)
            *bad = first_bad(&hs, n);
    }
    if (rc == GSL_SUCCESS)
        rc = fill(spec, &hs, in, n, out, bad);
    free(hs.h);
    free(hs.slot);
    free(hs.of);
    return rc;
}
