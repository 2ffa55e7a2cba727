/* E[purchases in (0, t]] of an alive BG/NBD customer by quadrature over p.
 *
 * Given lambda and p, purchases arrive at rate lambda and each is followed
 * by death with probability p, so E[X(t) | lambda, p] = (1 - e^(-lambda p
 * t)) / p; averaging over lambda ~ Gamma(shape, rate) gives
 *     g(p) = (1 - (1 + p y)^-shape) / p,   y = t / rate,
 * and the expectation is E[g(p)] over p ~ Beta(a, b). g is positive,
 * decreasing, computed as -expm1(-shape log1p(p y)) / p (no cancellation),
 * so the integral has no cancellation either: only the Beta density is
 * hard, being singular at 0 (a < 1) or 1 (b < 1), or concentrated in a
 * width 1/sqrt(a+b), or spread over many decades. [0, 1] is therefore cut
 * at the mean +- k sd, at 1/2 and where g changes regime (p = 1/y and
 * 1/(shape y)); below 1/2 the variable is log p, above it log(1-p), so the
 * density is smooth and decades are equally wide; the two ends [0, p0] and
 * [1-q0, 1], where everything but p^(a-1) (resp. (1-p)^(b-1)) is constant
 * to 1e-20, are integrated in closed form; and every piece is first cut to
 * at most CHUNK wide, so that no narrow feature can fall between the nodes
 * of a rule (a substitution u = p^a was tried: with a = 1e-4 all 21 nodes
 * saw p ~ 0 and the estimate was 2e-5 wrong with a zero error estimate).
 * Then global adaptive bisection with GSL's 21-point Gauss-Kronrod rule on
 * a fixed table of intervals (no workspace, no allocation: it is called
 * from prediction functions, rarely, and must not fail for want of memory).
 * Cost: ~2000-5000 evaluations of g, ~60 us on average. */
#include "model/bgnbd_quad.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stddef.h>

#define MAX_INTERVALS 400
#define REL_TOL 1e-12    /* aim */
#define REL_ACCEPT 1e-10 /* worse than this is GSL_ELOSS */
#define MAX_BREAKS 24

#define CHUNK 3.0 /* widest initial interval in log p or log(1-p) */

/* The variable of an interval: v = log p, or v = log(1-p). */
typedef enum kind { LOG_P, LOG_Q } kind;

typedef struct quad_ctx {
    double shape, y, a, b, lbeta;
    kind k;
} quad_ctx;

typedef struct interval {
    double lo, hi, val, err;
    kind k;
} interval;

/* g(p); below p y = 1e-21 its relative slope (shape+1) p y / 2 is < 1e-16,
 * which also covers p = 0 and subnormal p (where p y is inexact). */
static double g_of(const quad_ctx *c, double p)
{
    double py = p * c->y;
    if (py < 1e-21)
        return c->shape * c->y;
    return -expm1(-c->shape * log1p(py)) / p;
}

/* c log(v), 0 when c = 0 even where v is 0 (a or b exactly 1). */
static double xlog(double c, double v)
{
    return c == 0 ? 0 : c * v;
}

/* The integrand g(p) Beta(p; a, b) dp/dv in the variable of c->k. */
static double integrand(double v, void *arg)
{
    const quad_ctx *c = arg;
    double p, lw;
    if (c->k == LOG_P) { /* p = e^v, dp = p dv */
        p = exp(v);
        lw = c->a * v + xlog(c->b - 1, log(-expm1(v)));
    } else { /* 1-p = e^v */
        p = -expm1(v);
        lw = xlog(c->a - 1, log1p(-exp(v))) + c->b * v;
    }
    return g_of(c, p) * exp(lw - c->lbeta);
}

static void rule(quad_ctx *c, interval *iv)
{
    gsl_function f = {integrand, c};
    double resabs, resasc;
    c->k = iv->k;
    gsl_integration_qk21(&f, iv->lo, iv->hi, &iv->val, &iv->err, &resabs, &resasc);
}

/* Sorted, distinct breakpoints strictly inside (0, 1), 1/2 among them. */
static size_t breakpoints(const quad_ctx *c, double *bp)
{
    static const double ks[] = {-40, -20, -10, -5, -2, 0, 2, 5, 10, 20, 40};
    double ab = c->a + c->b, mean = c->a / ab;
    double sd = sqrt(c->a / ab * (c->b / ab) / (ab + 1));
    size_t n = 0;
    bp[n++] = 0.5;
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        bp[n++] = mean + ks[i] * sd;
    bp[n++] = 1 / c->y;
    bp[n++] = 1 / (c->shape * c->y);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && bp[j] < bp[j - 1]; j--) {
            double s = bp[j];
            bp[j] = bp[j - 1];
            bp[j - 1] = s;
        }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(bp[i] > 1e-300 && bp[i] < 1 - 1e-15))
            continue;
        if (m > 0 && bp[i] <= bp[m - 1] * (1 + 1e-9))
            continue;
        if (m > 0 && bp[i] > 0.5 && 1 - bp[i] >= (1 - bp[m - 1]) * (1 - 1e-9))
            continue;
        bp[m++] = bp[i];
    }
    return m;
}

/* Appends [v0, v1] of kind k cut into pieces no wider than CHUNK. */
static int add_range(quad_ctx *c, interval *iv, size_t *n, kind k, double v0, double v1)
{
    size_t parts = (size_t)ceil((v1 - v0) / CHUNK);
    if (parts == 0)
        return GSL_SUCCESS;
    if (*n + parts > MAX_INTERVALS / 2)
        return GSL_ELOSS;
    for (size_t i = 0; i < parts; i++) {
        interval *w = &iv[(*n)++];
        w->k = k;
        w->lo = v0 + (v1 - v0) * (double)i / (double)parts;
        w->hi = i + 1 == parts ? v1 : v0 + (v1 - v0) * (double)(i + 1) / (double)parts;
        rule(c, w);
    }
    return GSL_SUCCESS;
}

/* The pieces between breakpoints, in log p below 1/2 and log(1-p) above,
 * and the two ends [0, p0] and [1-q0, 1] in closed form: there g(p) (1-p)^(b-1)
 * (resp. g(p) p^(a-1)) is constant to 1e-20, so the end is that constant
 * times p0^a / a (q0^b / b), over B(a, b). */
static int pieces(quad_ctx *c, interval *iv, size_t *n, double *ends)
{
    double bp[MAX_BREAKS];
    size_t nb = breakpoints(c, bp);
    double lo = bp[0], hi = 1 - bp[nb - 1];
    double p0 = 1e-20 * lo / (1 + lo * (c->shape * c->y + c->b));
    double q0 = 1e-20 * hi / (1 + c->a + c->shape * c->y);
    double g1 = g_of(c, 1);
    *ends = exp(log(c->shape * c->y) + c->a * log(p0) - log(c->a) - c->lbeta) +
            exp(log(g1) + c->b * log(q0) - log(c->b) - c->lbeta);
    int rc = add_range(c, iv, n, LOG_P, log(p0), log(lo));
    for (size_t i = 0; i + 1 < nb && rc == GSL_SUCCESS; i++) {
        if (bp[i + 1] <= 0.5)
            rc = add_range(c, iv, n, LOG_P, log(bp[i]), log(bp[i + 1]));
        else
            rc = add_range(c, iv, n, LOG_Q, log1p(-bp[i + 1]), log1p(-bp[i]));
    }
    if (rc == GSL_SUCCESS)
        rc = add_range(c, iv, n, LOG_Q, log(q0), log(hi));
    return rc;
}

/* Global adaptive bisection: always split the interval with the largest
 * error estimate, until the total is within REL_TOL or the table is full. */
static int adapt(quad_ctx *c, interval *iv, size_t n, double ends, double *out)
{
    for (;;) {
        double sum = ends, err = 0;
        size_t worst = 0;
        for (size_t i = 0; i < n; i++) {
            sum += iv[i].val;
            err += iv[i].err;
            if (iv[i].err > iv[worst].err)
                worst = i;
        }
        if (!isfinite(sum) || !isfinite(err))
            return GSL_ERANGE;
        if (err <= REL_TOL * sum || n == MAX_INTERVALS) {
            if (err > REL_ACCEPT * sum)
                return GSL_ELOSS;
            *out = sum;
            return GSL_SUCCESS;
        }
        interval *w = &iv[worst], *nw = &iv[n++];
        double mid = 0.5 * (w->lo + w->hi);
        *nw = *w;
        w->hi = mid;
        nw->lo = mid;
        rule(c, w);
        rule(c, nw);
    }
}

int bgnbd_quad_expected(double shape, double rate, double a, double b, double t,
                        double *out)
{
    if (!(shape > 0 && rate > 0 && a > 0 && b > 0 && t >= 0) || !isfinite(shape) ||
        !isfinite(rate) || !isfinite(a) || !isfinite(b) || !isfinite(t))
        return GSL_EDOM;
    if (t == 0) {
        *out = 0;
        return GSL_SUCCESS;
    }
    quad_ctx c = {shape, t / rate, a, b, gsl_sf_lnbeta(a, b), LOG_P};
    interval iv[MAX_INTERVALS];
    size_t n = 0;
    double ends;
    int rc = pieces(&c, iv, &n, &ends);
    if (rc != GSL_SUCCESS)
        return rc;
    return adapt(&c, iv, n, ends, out);
}
