/* The sBG and BdW survivor functions and what they say about a subscriber:
 * S(t), P(renewing), expected renewals within a horizon, DERL and the value
 * of a new subscriber (model/retention.h). S(t) = B(alpha, beta + t^c) /
 * B(alpha, beta) = exp(g(beta + t^c) - g(beta)), g(y) = log(Gamma(y) /
 * Gamma(y + alpha)) computed so that no two large lgamma values are
 * subtracted (S stays accurate to ~1e-15 relative where lgamma differences
 * would lose digits as t grows), and 10x faster than GSL's lnbeta; the
 * sBG's ratios S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1) are
 * used exactly. The fit is in retention_fit.c. */
#include "model/retention.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

const char *retention_kind_name(retention_kind kind)
{
    switch (kind) {
    case RETENTION_SBG:
        return "sbg";
    case RETENTION_BDW:
        return "bdw";
    }
    return NULL;
}

bool retention_kind_parse(const char *name, retention_kind *out)
{
    if (name == NULL)
        return false;
    if (strcmp(name, "sbg") == 0)
        *out = RETENTION_SBG;
    else if (strcmp(name, "bdw") == 0)
        *out = RETENTION_BDW;
    else
        return false;
    return true;
}

/* ---- the survivor function ---- */

/* The sBG ignores p->c (it is 1 by definition). */
static bool params_ok(const retention_params *p)
{
    if (p == NULL || (p->kind != RETENTION_SBG && p->kind != RETENTION_BDW))
        return false;
    if (!(p->alpha > 0) || !isfinite(p->alpha) || !(p->beta > 0) || !isfinite(p->beta))
        return false;
    return p->kind == RETENTION_SBG || (p->c > 0 && isfinite(p->c));
}

static double period_power(const retention_params *p, double t)
{
    return p->kind == RETENTION_SBG ? t : pow(t, p->c);
}

/* mu(x) = lgamma(x) - [(x - 1/2) ln x - x + ln(2 pi) / 2], Stirling's
 * series to x^-15: for x >= 10 its error is below 1e-17. */
static double stirling_rest(double x)
{
    double z = 1 / (x * x);
    double s = 1.0 / 156 - z * (3617.0 / 122400);
    s = 691.0 / 360360 - z * s;
    s = 1.0 / 1188 - z * s;
    s = 1.0 / 1680 - z * s;
    s = 1.0 / 1260 - z * s;
    s = 1.0 / 360 - z * s;
    s = 1.0 / 12 - z * s;
    return s / x;
}

#define STIRLING_FROM 10.0

/* log(Gamma(y) / Gamma(y + a)) for a, y > 0, every piece of moderate size
 * (no lgamma of a large argument is subtracted from another): upward
 * recurrence Gamma(y + 1) = y Gamma(y) to y >= 10, then Stirling's series
 * for both, their leading terms combined through log1p. log B(a, y) is
 * lgamma(a) plus this; S(t) only needs differences of it. */
static double log_gamma_ratio(double a, double y)
{
    double s = 0;
    for (; y < STIRLING_FROM; y += 1)
        s += log1p(a / y);
    return s - (y - 0.5) * log1p(a / y) - a * log(y + a) + a + stirling_rest(y) -
           stirling_rest(y + a);
}

/* log(Gamma(y) / Gamma(y + alpha)) at y = beta + t^c. */
static int log_g_at(const retention_params *p, double t, double *out)
{
    double y = p->beta + period_power(p, t);
    if (!isfinite(y))
        return GSL_EDOM;
    double v = log_gamma_ratio(p->alpha, y);
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}

/* log(S(t) / S(k)) for t >= k. */
static int log_ratio(const retention_params *p, double t, double k, double *out)
{
    double lt, lk;
    int rc = log_g_at(p, t, &lt);
    if (rc == GSL_SUCCESS)
        rc = log_g_at(p, k, &lk);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = fmin(lt - lk, 0.0); /* S is non-increasing; rounding may say +1e-17 */
    return GSL_SUCCESS;
}

int retention_log_survival(const retention_params *p, double t, double *out)
{
    if (!params_ok(p) || !(t >= 0) || !isfinite(t))
        return GSL_EDOM;
    return log_ratio(p, t, 0, out);
}

int retention_survival(const retention_params *p, unsigned t, double *out)
{
    if (!params_ok(p))
        return GSL_EDOM;
    double l;
    int rc = log_ratio(p, t, 0, &l);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = exp(l);
    return GSL_SUCCESS;
}

int retention_p_renew(const retention_params *p, unsigned k, double *out)
{
    if (!params_ok(p))
        return GSL_EDOM;
    if (p->kind == RETENTION_SBG) {
        double b = p->beta + k;
        *out = b / (p->alpha + b);
        return GSL_SUCCESS;
    }
    double l;
    int rc = log_ratio(p, (double)k + 1, k, &l);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = exp(l);
    return GSL_SUCCESS;
}

/* ---- sums over the periods to come ---- */

/* r(t) = S(t) / S(k) for t = k+1, k+2, ... in turn: exact products of the
 * sBG's ratios, log-beta differences for the BdW. */
typedef struct ratio_walk {
    const retention_params *p;
    double t, r;
    double g_k; /* BdW: log_g_at(k), computed once */
} ratio_walk;

static int walk_start(const retention_params *p, unsigned k, ratio_walk *w)
{
    *w = (ratio_walk){p, k, 1, 0};
    return p->kind == RETENTION_SBG ? GSL_SUCCESS : log_g_at(p, k, &w->g_k);
}

static int walk_next(ratio_walk *w)
{
    w->t += 1;
    if (w->p->kind == RETENTION_SBG) {
        double b = w->p->beta + w->t - 1;
        w->r *= b / (w->p->alpha + b);
        return GSL_SUCCESS;
    }
    double g;
    int rc = log_g_at(w->p, w->t, &g);
    if (rc == GSL_SUCCESS)
        w->r = exp(fmin(g - w->g_k, 0.0));
    return rc;
}

/* Neumaier's compensated sum: millions of positive terms lose no digits. */
typedef struct ksum {
    double s, c;
} ksum;

static void ksum_add(ksum *a, double x)
{
    double t = a->s + x;
    if (fabs(a->s) >= fabs(x))
        a->c += (a->s - t) + x;
    else
        a->c += (x - t) + a->s;
    a->s = t;
}

static double ksum_value(const ksum *a)
{
    return a->s + a->c;
}

static size_t max_terms(const retention_params *p)
{
    return p->kind == RETENTION_SBG ? RETENTION_MAX_TERMS_SBG : RETENTION_MAX_TERMS_BDW;
}

int retention_expected_renewals(const retention_params *p, unsigned k, unsigned horizon,
                                double *out)
{
    if (!params_ok(p))
        return GSL_EDOM;
    if (horizon > max_terms(p))
        return GSL_EMAXITER;
    ratio_walk w;
    ksum sum = {0, 0};
    int rc = walk_start(p, k, &w);
    if (rc != GSL_SUCCESS)
        return rc;
    for (unsigned i = 0; i < horizon; i++) {
        rc = walk_next(&w);
        if (rc != GSL_SUCCESS)
            return rc;
        if (w.r == 0) /* underflow: every later term is 0 too */
            break;
        ksum_add(&sum, w.r);
    }
    double v = ksum_value(&sum);
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}

/* The sBG at d = 0: sum_{t>k} S(t)/S(k) = (beta + k) / (alpha - 1), finite
 * only for alpha > 1 (2F1(1, b; c; 1) by Gauss's theorem). */
static int derl_sbg_undiscounted(const retention_params *p, unsigned k, double *out)
{
    if (!(p->alpha > 1))
        return GSL_EDOM;
    double v = (p->beta + k) / (p->alpha - 1);
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}

/* DERL by its series. With z = 1/(1+d) < 1 and r non-increasing, the terms
 * after t sum to at most r(t) z^(t-k) / (1 - z): the sum stops when that
 * bound is below DERL_REL_TOL of the sum (a proven bound, not an estimate). */
#define DERL_REL_TOL 1e-17

static int derl_series(const retention_params *p, unsigned k, double d, double *out)
{
    const double z = 1 / (1 + d), one_minus_z = d / (1 + d);
    const size_t limit = max_terms(p);
    ratio_walk w;
    ksum sum = {0, 0};
    double zpow = 1; /* z^(t-k-1) */
    int rc = walk_start(p, k, &w);
    if (rc != GSL_SUCCESS)
        return rc;
    for (size_t i = 0;; i++) {
        if (i >= limit)
            return GSL_EMAXITER;
        rc = walk_next(&w);
        if (rc != GSL_SUCCESS)
            return rc;
        double term = w.r * zpow;
        ksum_add(&sum, term);
        zpow *= z;
        double tail = w.r * zpow / one_minus_z;
        if (tail <= DERL_REL_TOL * ksum_value(&sum) || term == 0)
            break;
    }
    double v = ksum_value(&sum);
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}

int retention_derl(const retention_params *p, unsigned k, double d, double *out)
{
    if (!params_ok(p) || !(d >= 0) || !isfinite(d))
        return GSL_EDOM;
    if (d == 0) {
        if (p->kind == RETENTION_SBG)
            return derl_sbg_undiscounted(p, k, out);
        return GSL_EDOM; /* see the header: not evaluated for the BdW */
    }
    return derl_series(p, k, d, out);
}

int retention_new_subscriber_value(const retention_params *p, double amount, double d,
                                   double *out)
{
    if (!(amount >= 0) || !isfinite(amount))
        return GSL_EDOM;
    double derl;
    int rc = retention_derl(p, 0, d, &derl);
    if (rc != GSL_SUCCESS)
        return rc;
    double v = amount * (1 + derl);
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}
