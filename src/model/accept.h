/* Acceptance of a fit: whether a maximum-likelihood result can be served
 * and used to score (docs/models.md, "When a fit is accepted"). A fit is
 * accepted when
 *   - its log-likelihood and parameters are finite;
 *   - every parameter is inside the identifiable range of its kind: shapes
 *     of mixing distributions in [ACCEPT_SHAPE_MIN, ACCEPT_SHAPE_MAX] (a
 *     larger shape means the mixing distribution has collapsed to a point,
 *     e.g. BG/NBD's Beta(a, b) when every customer drops out alike, and the
 *     likelihood is flat along a ridge to infinity), scales in
 *     [ACCEPT_SCALE_MIN, ACCEPT_SCALE_MAX], probabilities in
 *     [ACCEPT_PROB_MIN, 1 - ACCEPT_PROB_MIN];
 *   - Gamma-Gamma's q > 1 (else the mean spend is infinite);
 *   - the optimiser converged;
 *   - the Hessian is negative definite (finite standard errors);
 *   - scoring a sample of the customers gives finite numbers within a time
 *     budget (accept_scores).
 * Pure: no I/O, no globals. */
#ifndef LTVD_MODEL_ACCEPT_H
#define LTVD_MODEL_ACCEPT_H

#include <stddef.h>

#include "model/btyd.h"
#include "model/clv.h"
#include "model/fit.h"
#include "model/gg.h"

#define ACCEPT_SHAPE_MIN 1e-6
#define ACCEPT_SHAPE_MAX 1e4
#define ACCEPT_SCALE_MIN 1e-8
#define ACCEPT_SCALE_MAX 1e10
#define ACCEPT_PROB_MIN 1e-6
/* Customers (distinct histories) accept_scores scores at most. */
#define ACCEPT_SAMPLE 1000

/* Why a fit is refused; ACCEPT_OK when it is accepted. */
typedef enum accept_code {
    ACCEPT_OK = 0,
    ACCEPT_NOT_FINITE,    /* log-likelihood or a parameter not finite */
    ACCEPT_BOUNDARY,      /* a parameter outside its identifiable range */
    ACCEPT_HEAVY_TAIL,    /* Gamma-Gamma q <= 1 */
    ACCEPT_NOT_CONVERGED, /* the optimiser's gradient test failed */
    ACCEPT_HESSIAN,       /* Hessian not negative definite */
    ACCEPT_SCORING,       /* scoring the sample failed or was too slow */
    ACCEPT_N
} accept_code;

/* A short label for metrics ("boundary", "heavy_tail", ...); "ok" for
 * ACCEPT_OK. */
const char *accept_code_label(accept_code c);

/* The checks on parameters alone (finite, positive, in range; q > 1 for
 * "gg"), for a stored snapshot: model is a btyd model's name or "gg". */
accept_code accept_params(const char *model, const char *const *names, size_t n,
                          const double *params, char *why, size_t len);

/* Checks a purchase model's fit. On refusal writes a one-line reason
 * beginning with what is wrong ("not identified: ...") to why (len bytes). */
accept_code accept_btyd(const btyd_model *m, const fit_result *r, char *why, size_t len);

/* The same for a Gamma-Gamma fit (adds q > 1). */
accept_code accept_gg(const fit_result *r, char *why, size_t len);

/* Scores up to ACCEPT_SAMPLE of the patterns pat[0..n) (sorted as
 * btyd_patterns_collapse leaves them: every k-th, plus the last, which has
 * the most purchases) with purchase model m at params: P(alive), expected
 * purchases over horizon, P(a purchase) over horizon, and, when gg is not
 * NULL, the expected spend of gp[0..ng) (sampled alike) and the population
 * mean, and the CLV (clv not NULL). Every value must be computed and finite,
 * and the whole within budget_s seconds. ACCEPT_OK or ACCEPT_SCORING with
 * the reason in why. */
accept_code accept_scores(const btyd_model *m, const double *params, const double *gg,
                          const btyd_pattern *pat, size_t n, const gg_pattern *gp,
                          size_t ng, double horizon, const clv_options *clv,
                          double budget_s, char *why, size_t len);

#endif
