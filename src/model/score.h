/* Batch scoring: P(alive), expected purchases and P(purchase) over a horizon,
 * expected spend and CLV for many customers at once. Customers sharing a
 * history (x, t_x, T) share every purchase-model number, so each distinct
 * history is computed once (a hash table finds them), on every core. */
#ifndef LTVD_MODEL_SCORE_H
#define LTVD_MODEL_SCORE_H

#include <stddef.h>

#include "model/btyd.h"
#include "model/clv.h"

typedef struct score_input {
    double x, t_x, T;
    double m; /* mean repeat spend (ignored without spend) */
} score_input;

typedef struct score_output {
    double p_alive;
    double expected;       /* purchases in the next `horizon` periods */
    double p_purchase;     /* P(at least one purchase in that time) */
    double expected_spend; /* 0 without a spend model */
    double clv;            /* 0 without a spend model */
} score_output;

typedef struct score_spec {
    const btyd_model *model;
    const double *params;
    const double *gg_params; /* Gamma-Gamma p, q, v; NULL: no spend or CLV */
    double horizon;
    clv_options clv;
} score_spec;

/* Scores in[0..n) into out[0..n). Returns GSL_SUCCESS; GSL_ENOMEM; or the
 * error of the first customer that cannot be scored, whose index goes to
 * *bad (out is then incomplete). */
int score_batch(const score_spec *spec, const score_input *in, size_t n,
                score_output *out, size_t *bad);

#endif
