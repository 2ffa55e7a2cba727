/* log 2F1(a, b; c; z) for 0 <= z < 1 and c > 0. The power series is summed
 * in scaled, compensated, sign-aware form, on whichever of the direct and
 * Euler-transformed series (2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a,c-b;c;z))
 * loses the least to cancellation. When both converge too slowly (z near 1)
 * the 1-z connection formula (Abramowitz & Stegun 15.3.6) takes over; its
 * two terms diverge as c-a-b approaches an integer, so there the value is
 * interpolated from four points b +- h/2, b +- h (the function is analytic
 * in b), which keeps the error near 1e-12 instead of GSL's 1e-2. Every
 * result carries a rounding-error estimate; too large an estimate is
 * reported as GSL_ELOSS rather than returned. */
#include "model/hyp2f1.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stddef.h>

#define SERIES_MAX_TERMS 200000 /* for |argument| <= 1/2 */
#define SLOW_MAX_TERMS 4000     /* for z > 1/2, before the 1-z formula */
#define Z_SPLIT 0.5
#define ACCEPT_ERR 1e-14 /* good enough: stop trying other forms */
#define MAX_ERR 1e-11    /* worse than this is GSL_ELOSS */
#define INT_GUARD 1e-4   /* c-a-b this close to an integer: interpolate */
#define INT_STEP 1e-3
#define RESCALE 1e200
#define LOG_RESCALE 460.51701859880914 /* log(1e200) */

/* A signed real sign * exp(lg) with an estimated relative error. */
typedef struct lval {
    double lg;
    int sign;
    double err;
} lval;

static int eval(double a, double b, double c, double z, lval *v);

static int is_nonpos_int(double x)
{
    return x <= 0 && x == floor(x);
}

/* log|Gamma(x)| and its sign; sign 0 at the poles (where 1/Gamma = 0). */
static void lgamma_sgn(double x, double *lg, int *sign)
{
    gsl_sf_result r;
    double s;
    if (is_nonpos_int(x) || gsl_sf_lngamma_sgn_e(x, &r, &s) != GSL_SUCCESS) {
        *lg = 0;
        *sign = 0;
        return;
    }
    *lg = r.val;
    *sign = s < 0 ? -1 : 1;
}

/* Neumaier's compensated addition of term to (*sum, *comp). */
static void add_term(double *sum, double *comp, double term)
{
    double s = *sum + term;
    if (fabs(*sum) >= fabs(term))
        *comp += (*sum - s) + term;
    else
        *comp += (term - s) + *sum;
    *sum = s;
}

/* True once the remaining terms cannot change the sum: the ratio bound
 * covers every later ratio, since past the transient they tend to |z|
 * monotonically from the side of max(|ratio|, |z|). */
static int converged(double a, double b, double c, size_t k, double ratio, double term,
                     double sum, double z)
{
    double kk = (double)k;
    if (kk < -a || kk < -b || kk < -c)
        return 0;
    double rb = fmax(fabs(ratio), fabs(z));
    if (rb >= 1)
        return 0;
    return fabs(term) / (1 - rb) <= 0.25 * DBL_EPSILON * fabs(sum);
}

/* Sums 2F1(a, b; c; z) = sum_k (a)_k (b)_k / ((c)_k k!) z^k for |z| < 1,
 * c not a non-positive integer. Returns GSL_EMAXITER if max_terms did not
 * suffice, GSL_ERANGE if a ratio is not finite. */
static int series(double a, double b, double c, double z, size_t max_terms, lval *out)
{
    double sum = 1, comp = 0, term = 1, abs_sum = 1, scale = 0;
    for (size_t k = 0; k < max_terms; k++) {
        double kk = (double)k;
        double ratio = (a + kk) * (b + kk) / ((c + kk) * (kk + 1)) * z;
        if (!isfinite(ratio))
            return GSL_ERANGE;
        term *= ratio;
        add_term(&sum, &comp, term);
        abs_sum += fabs(term);
        if (abs_sum > RESCALE) {
            sum /= RESCALE;
            comp /= RESCALE;
            term /= RESCALE;
            abs_sum /= RESCALE;
            scale += LOG_RESCALE;
        }
        if (term == 0 || converged(a, b, c, k + 1, ratio, term, sum + comp, z)) {
            double total = sum + comp;
            if (total == 0)
                return GSL_ELOSS;
            out->lg = log(fabs(total)) + scale;
            out->sign = total < 0 ? -1 : 1;
            out->err = DBL_EPSILON * (abs_sum / fabs(total)) * (2 + sqrt(kk + 1));
            return GSL_SUCCESS;
        }
    }
    return GSL_EMAXITER;
}

/* Keeps in *best whichever of *best and *cand has the smaller error. */
static void keep_better(lval *best, const lval *cand)
{
    if (cand->err < best->err)
        *best = *cand;
}

/* s1 e^l1 (rel. error e1) + s2 e^l2 (rel. error e2). */
static lval add_lvals(lval t1, lval t2)
{
    lval r = {0, 0, INFINITY};
    if (t1.sign == 0)
        return t2;
    if (t2.sign == 0)
        return t1;
    double m = fmax(t1.lg, t2.lg);
    double u1 = t1.sign * exp(t1.lg - m), u2 = t2.sign * exp(t2.lg - m);
    double s = u1 + u2;
    if (s == 0)
        return r;
    r.lg = m + log(fabs(s));
    r.sign = s < 0 ? -1 : 1;
    r.err = (fabs(u1) * t1.err + fabs(u2) * t2.err) / fabs(s) + DBL_EPSILON;
    return r;
}

/* One term Gamma-ratio * (1-z)^p * 2F1(a', b'; c'; 1-z) of the connection
 * formula; the Gamma arguments are g[0] g[1] / (g[2] g[3]). */
static int connection_term(const double g[4], double p, double a, double b, double c,
                           double w, lval *out)
{
    double lg[4];
    int sg[4];
    for (int i = 0; i < 4; i++)
        lgamma_sgn(g[i], &lg[i], &sg[i]);
    out->sign = 0;
    out->lg = 0;
    out->err = 0;
    if (sg[2] == 0 || sg[3] == 0) /* 1/Gamma vanishes: no such term */
        return GSL_SUCCESS;
    lval f;
    int rc = series(a, b, c, w, SERIES_MAX_TERMS, &f);
    if (rc != GSL_SUCCESS)
        return rc;
    double coef = lg[0] + lg[1] - lg[2] - lg[3];
    double rnd = 0;
    for (int i = 0; i < 4; i++)
        rnd += fabs(lg[i]);
    out->lg = coef + p * log(w) + f.lg;
    out->sign = sg[0] * sg[1] * sg[2] * sg[3] * f.sign;
    out->err = f.err + 4 * DBL_EPSILON * (rnd + fabs(p * log(w)));
    return GSL_SUCCESS;
}

/* A&S 15.3.6, for c-a-b not an integer and 1/2 < z < 1. */
static int connection(double a, double b, double c, double z, lval *out)
{
    double w = 1 - z; /* exact for z >= 1/2 */
    double m = c - a - b;
    const double g1[4] = {c, m, c - a, c - b};
    const double g2[4] = {c, -m, a, b};
    lval t1, t2;
    int rc = connection_term(g1, 0, a, b, 1 - m, w, &t1);
    if (rc == GSL_SUCCESS)
        rc = connection_term(g2, m, c - a, c - b, 1 + m, w, &t2);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = add_lvals(t1, t2);
    return out->sign == 0 ? GSL_ELOSS : GSL_SUCCESS;
}

/* c-a-b within INT_GUARD of an integer: 4th-order Richardson from b +- h/2
 * and b +- h, whose c-a-b stay at least h/2 - INT_GUARD away from it. */
static int near_integer(double a, double b, double c, double z, lval *out)
{
    const double d[4] = {-INT_STEP, -INT_STEP / 2, INT_STEP / 2, INT_STEP};
    double lg[4], err = 0;
    for (int i = 0; i < 4; i++) {
        lval v;
        int rc = eval(a, b + d[i], c, z, &v);
        if (rc != GSL_SUCCESS)
            return rc;
        if (v.sign <= 0)
            return GSL_ELOSS; /* sign change this close: no log to extrapolate */
        lg[i] = v.lg;
        err = fmax(err, v.err);
    }
    out->lg = (4 * (lg[1] + lg[2]) - (lg[0] + lg[3])) / 6;
    out->sign = 1;
    out->err = 2 * err + 1e-13; /* + the O(h^4) truncation, measured ~1e-13 */
    return GSL_SUCCESS;
}

/* The direct and the Euler-transformed series; *best keeps the better. */
static void try_series(double a, double b, double c, double z, lval *best)
{
    size_t budget = z <= Z_SPLIT ? SERIES_MAX_TERMS : SLOW_MAX_TERMS;
    lval v;
    if (series(a, b, c, z, budget, &v) == GSL_SUCCESS)
        keep_better(best, &v);
    if (best->err <= ACCEPT_ERR)
        return;
    if (series(c - a, c - b, c, z, budget, &v) == GSL_SUCCESS) {
        double p = (c - a - b) * log1p(-z);
        v.lg += p;
        v.err += 2 * DBL_EPSILON * fabs(p);
        keep_better(best, &v);
    }
}

/* The best available evaluation, without the final domain checks. */
static int eval(double a, double b, double c, double z, lval *v)
{
    lval best = {0, 0, INFINITY};
    try_series(a, b, c, z, &best);
    int polynomial = is_nonpos_int(a) || is_nonpos_int(b);
    if (best.err > ACCEPT_ERR && z > Z_SPLIT && !polynomial) {
        double m = c - a - b;
        lval cand;
        int rc = fabs(m - nearbyint(m)) < INT_GUARD ? near_integer(a, b, c, z, &cand)
                                                    : connection(a, b, c, z, &cand);
        if (rc == GSL_SUCCESS)
            keep_better(&best, &cand);
    }
    if (!isfinite(best.err))
        return GSL_EMAXITER;
    *v = best;
    return GSL_SUCCESS;
}

int hyp2f1_log(double a, double b, double c, double z, double *out)
{
    double err;
    return hyp2f1_log_err(a, b, c, z, out, &err);
}

int hyp2f1_log_err(double a, double b, double c, double z, double *out, double *err)
{
    if (!isfinite(a) || !isfinite(b) || !isfinite(c) || !isfinite(z))
        return GSL_EDOM;
    if (c <= 0 || z < 0 || z >= 1)
        return GSL_EDOM;
    if (z == 0 || a == 0 || b == 0) {
        *out = 0;
        *err = 0;
        return GSL_SUCCESS;
    }
    lval v;
    int rc = eval(a, b, c, z, &v);
    if (rc != GSL_SUCCESS)
        return rc;
    if (v.sign <= 0)
        return GSL_EDOM;
    if (!isfinite(v.lg))
        return GSL_ERANGE;
    if (v.err > MAX_ERR * fmax(1, fabs(v.lg)))
        return GSL_ELOSS;
    *out = v.lg;
    *err = v.err;
    return GSL_SUCCESS;
}
