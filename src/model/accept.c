/* Whether a fit can be served: finite, identified, converged and able to
 * score (accept.h). The identifiable range of each parameter depends on
 * its kind, so each model's parameters are classified here. */
#include "model/accept.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef enum kind { SHAPE, SCALE, PROB } kind;

typedef struct model_kinds {
    const char *name;
    kind k[FIT_MAX_PARAMS];
} model_kinds;

static const model_kinds kinds[] = {
    {"bgnbd", {SHAPE, SCALE, SHAPE, SHAPE}},  {"mbgnbd", {SHAPE, SCALE, SHAPE, SHAPE}},
    {"pareto", {SHAPE, SCALE, SHAPE, SCALE}}, {"bgbb", {SHAPE, SHAPE, SHAPE, SHAPE}},
    {"bggeo", {SHAPE, SCALE, PROB, SHAPE}},   {"gg", {SHAPE, SHAPE, SCALE, SHAPE}},
    {"bgpois", {SCALE, SHAPE, SHAPE, SHAPE}},
};

static const char *const labels[ACCEPT_N] = {
    "ok", "not_finite", "boundary", "heavy_tail", "not_converged", "hessian", "scoring",
};

const char *accept_code_label(accept_code c)
{
    return c < ACCEPT_N ? labels[c] : "unknown";
}

static const kind *kinds_of(const char *name)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return kinds[i].k;
    return NULL;
}

static bool in_range(kind k, double v)
{
    switch (k) {
    case SHAPE:
        return v >= ACCEPT_SHAPE_MIN && v <= ACCEPT_SHAPE_MAX;
    case SCALE:
        return v >= ACCEPT_SCALE_MIN && v <= ACCEPT_SCALE_MAX;
    case PROB:
        return v >= ACCEPT_PROB_MIN && v <= 1 - ACCEPT_PROB_MIN;
    }
    return false;
}

/* What a parameter out of range means, for the reason text. */
static const char *boundary_meaning(const char *model, const char *param)
{
    bool nbd = strcmp(model, "bgnbd") == 0 || strcmp(model, "mbgnbd") == 0;
    if (nbd && (strcmp(param, "a") == 0 || strcmp(param, "b") == 0))
        return "the drop-out probability's Beta(a, b) collapses to a point: every "
               "customer drops out alike (bggeo, BG/NBD's limit with one p, fits such "
               "data)";
    if (strcmp(model, "gg") != 0 && strcmp(param, "r") == 0)
        return "the purchase rate's Gamma distribution collapses to a point: every "
               "customer buys at the same rate (bgpois, BG/NBD's limit with one rate "
               "lambda, fits such data)";
    if (strcmp(model, "pareto") == 0 &&
        (strcmp(param, "s") == 0 || strcmp(param, "beta") == 0))
        return "the drop-out rate's Gamma(s, beta) collapses to a point: every customer "
               "drops out at the same rate";
    if (strcmp(model, "gg") == 0)
        return "the spend distribution collapses to a point";
    return "the likelihood is flat along a ridge to the boundary";
}

accept_code accept_params(const char *model, const char *const *names, size_t n,
                          const double *params, char *why, size_t len)
{
    const kind *k = kinds_of(model);
    for (size_t i = 0; i < n; i++) {
        double v = params[i];
        if (!isfinite(v) || !(v > 0)) {
            snprintf(why, len, "parameter %s = %g is not a finite positive number",
                     names[i], v);
            return ACCEPT_NOT_FINITE;
        }
        if (k != NULL && !in_range(k[i], v)) {
            snprintf(
                why, len, "not identified: %s = %.4g is outside its range [%g, %g]; %s",
                names[i], v,
                k[i] == SHAPE ? ACCEPT_SHAPE_MIN
                              : (k[i] == SCALE ? ACCEPT_SCALE_MIN : ACCEPT_PROB_MIN),
                k[i] == SHAPE ? ACCEPT_SHAPE_MAX
                              : (k[i] == SCALE ? ACCEPT_SCALE_MAX : 1 - ACCEPT_PROB_MIN),
                v > 1 ? boundary_meaning(model, names[i])
                      : "the data hold (almost) no information on it, e.g. no "
                        "repeat purchases");
            return ACCEPT_BOUNDARY;
        }
    }
    if (strcmp(model, "gg") == 0 && !(params[1] > 1)) {
        snprintf(why, len,
                 "heavy-tailed spend: Gamma-Gamma q = %.4g <= 1, so the mean spend is "
                 "infinite and no expected spend can be computed",
                 params[1]);
        return ACCEPT_HEAVY_TAIL;
    }
    return ACCEPT_OK;
}

static accept_code check_params(const char *model, const char *const *names, size_t n,
                                const fit_result *r, char *why, size_t len)
{
    if (!isfinite(r->log_likelihood)) {
        snprintf(why, len, "the log-likelihood is not finite");
        return ACCEPT_NOT_FINITE;
    }
    return accept_params(model, names, n, r->params, why, len);
}

static accept_code check_fit(const fit_result *r, char *why, size_t len)
{
    if (!r->converged) {
        snprintf(why, len,
                 "did not converge (the gradient test failed after %zu iterations)",
                 r->iterations);
        return ACCEPT_NOT_CONVERGED;
    }
    if (!r->std_errors_ok) {
        snprintf(why, len,
                 "not identified: the Hessian is not negative definite "
                 "(no finite standard errors)");
        return ACCEPT_HESSIAN;
    }
    return ACCEPT_OK;
}

accept_code accept_btyd(const btyd_model *m, const fit_result *r, char *why, size_t len)
{
    accept_code c = check_params(m->name, m->param_names, m->n_params, r, why, len);
    return c != ACCEPT_OK ? c : check_fit(r, why, len);
}

accept_code accept_gg(const fit_result *r, char *why, size_t len)
{
    accept_code c = check_params("gg", gg_param_names, 3, r, why, len);
    return c != ACCEPT_OK ? c : check_fit(r, why, len);
}

/* ---- scoring a sample ---- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The i-th index of a sample of at most ACCEPT_SAMPLE out of n, the last
 * index always included. */
static size_t sample_index(size_t i, size_t n, size_t k)
{
    return i + 1 == k ? n - 1 : i * (n / k);
}

static size_t sample_size(size_t n)
{
    return n < ACCEPT_SAMPLE ? n : ACCEPT_SAMPLE;
}

static int score_one(const btyd_model *m, const double *params, const double *gg,
                     const btyd_pattern *p, double horizon, const clv_options *clv)
{
    double v[5];
    int rc = m->p_alive(params, p->x, p->t_x, p->T, &v[0]);
    if (rc == GSL_SUCCESS)
        rc = m->expected(params, p->x, p->t_x, p->T, horizon, &v[1]);
    if (rc == GSL_SUCCESS)
        rc = btyd_p_any(m, params, p->x, p->t_x, p->T, horizon, &v[2]);
    v[3] = v[4] = 0;
    if (rc == GSL_SUCCESS && gg != NULL)
        rc = gg_expected_spend(gg, p->x, 0, &v[3]); /* the population mean at x = 0 */
    if (rc == GSL_SUCCESS && gg != NULL && clv != NULL)
        rc = clv_value(m, params, p->x, p->t_x, p->T, v[3], clv, &v[4]);
    for (int i = 0; rc == GSL_SUCCESS && i < 5; i++)
        if (!isfinite(v[i]))
            rc = GSL_ERANGE;
    return rc;
}

accept_code accept_scores(const btyd_model *m, const double *params, const double *gg,
                          const btyd_pattern *pat, size_t n, const gg_pattern *gp,
                          size_t ng, double horizon, const clv_options *clv,
                          double budget_s, char *why, size_t len)
{
    double t0 = now_seconds();
    size_t k = sample_size(n);
    for (size_t i = 0; i < k; i++) {
        const btyd_pattern *p = &pat[sample_index(i, n, k)];
        int rc = score_one(m, params, gg, p, horizon, clv);
        if (rc != GSL_SUCCESS) {
            snprintf(why, len,
                     "cannot score a customer with x = %g, t_x = %g, T = %g: %s", p->x,
                     p->t_x, p->T, gsl_strerror(rc));
            return ACCEPT_SCORING;
        }
        if (now_seconds() - t0 > budget_s) {
            snprintf(why, len,
                     "scoring is too slow: %zu of %zu sampled customers in %g s", i + 1,
                     k, budget_s);
            return ACCEPT_SCORING;
        }
    }
    size_t kg = gg != NULL ? sample_size(ng) : 0;
    for (size_t i = 0; i < kg; i++) {
        const gg_pattern *g = &gp[sample_index(i, ng, kg)];
        double s;
        int rc = gg_expected_spend(gg, g->x, g->m, &s);
        if (rc == GSL_SUCCESS && !isfinite(s))
            rc = GSL_ERANGE;
        if (rc != GSL_SUCCESS) {
            snprintf(why, len, "cannot compute the expected spend for x = %g, m = %g: %s",
                     g->x, g->m, gsl_strerror(rc));
            return ACCEPT_SCORING;
        }
    }
    return ACCEPT_OK;
}
