/* BG/NBD and MBG/NBD: likelihood, P(alive), predictions and simulation, one
 * implementation for both (see bgnbd_core.h).
 *
 * Given the history, a customer still alive has lambda ~ Gamma(r+x, alpha+T)
 * and p ~ Beta(a, b+x) (BG) or Beta(a, b+x+1) (MBG), so each prediction is
 * P(alive) times the same prediction for a customer known to be alive with
 * such a posterior (an `alive` below); the unconditional ones are the same
 * with the prior (MBG: weighted by the chance b/(a+b) of surviving the first
 * purchase). For an alive customer E[purchases in (0,t]] = E[(1 - (1 +
 * p t/rate)^-shape) / p] over p ~ Beta(a, b), which is FHL's eq. 10 numerator
 * (c/(a-1)) (1 - (1-z)^(a-1) 2F1(c-shape, a-1; c; z)) after Euler's
 * transformation, c = a+b-1, z = t/(rate+t). It is evaluated by whichever of
 * these is well conditioned: its alternating power series in t/rate (small
 * t), the split Beta(a,b) = b/(a+b) Beta(a,b+1) + a/(a+b) Beta(a+1,b) when c
 * is small or negative (a+b < 1: where lifetimes returns NaN), interpolation
 * across a = 1 (where c/(a-1) is 0/0), and hyp2f1_log otherwise. */
#include "model/bgnbd_core.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/bgnbd_quad.h"
#include "model/hyp2f1.h"

enum { R, ALPHA, A, B };

#define TABLE 512    /* per-x terms of loglik_sum kept on the stack */
#define C_SMALL 0.25 /* below: split Beta(a, b) to raise c = a+b-1 */
#define A_GUARD 1e-4 /* |a-1| below: interpolate across a = 1 */
#define A_STEP 1e-3  /* interpolation nodes 1 +- A_STEP, 1 +- A_STEP/2 */
#define SIM_MAX_EVENTS 10000000
#define MAX_REL_ERR 1e-11 /* estimated error beyond which E is refused */

/* A customer alive now: lambda ~ Gamma(shape, rate), p ~ Beta(a, b). */
typedef struct alive {
    double shape;
    double rate;
    double a;
    double b;
} alive;

static int alive_expected(const alive *q, double t, double *out);

/* ---- domain ---- */

static int check(const double *params, double x, double t_x, double T, double t)
{
    if (btyd_check_domain(params, 4, x, t_x, T) != GSL_SUCCESS)
        return GSL_EDOM;
    if (x != floor(x) || !isfinite(t) || t < 0)
        return GSL_EDOM;
    return GSL_SUCCESS;
}

/* log (a)_n. Short products directly: GSL's lnpoch loses up to 1e-11
 * absolute for large a and small n. */
static double lnpoch(double a, double n)
{
    if (n > 64)
        return gsl_sf_lnpoch(a, n);
    double s = 0, prod = 1;
    for (double j = 0; j < n; j++) {
        prod *= a + j;
        if (prod > 1e250) {
            s += log(prod);
            prod = 1;
        }
    }
    return s + log(prod);
}

/* log(1 + e^d) without overflow. */
static double log1pexp(double d)
{
    return d > 0 ? d + log1p(exp(-d)) : log1p(exp(d));
}

/* ---- likelihood ---- */

/* log of the dropout odds a/(b+x-1+m) ((alpha+T)/(alpha+t_x))^(r+x): the
 * customer died after the last purchase vs. is alive at T (m = modified). */
static double log_drop_odds(const double *p, double x, double t_x, double T, int m)
{
    return log(p[A]) - log(p[B] + x - 1 + m) +
           (p[R] + x) * log1p((T - t_x) / (p[ALPHA] + t_x));
}

int bgnbd_core_loglik(const double *p, double x, double t_x, double T, bool modified,
                      double *out)
{
    if (check(p, x, t_x, T, 0) != GSL_SUCCESS)
        return GSL_EDOM;
    int m = modified;
    if (x == 0)
        t_x = 0;
    /* r log alpha - (r+x) log(alpha+T), without the cancellation of the two */
    double ll = lnpoch(p[R], x) - p[R] * log1p(T / p[ALPHA]) - x * log(p[ALPHA] + T) +
                lnpoch(p[B], x + m) - lnpoch(p[A] + p[B], x + m);
    if (x > 0 || modified)
        ll += log1pexp(log_drop_odds(p, x, t_x, T, m));
    return btyd_finite_out(ll, out);
}

/* Per-x terms of the likelihood, built incrementally up to the largest x
 * met (below TABLE): head[x] = log Gamma(r+x) alpha^r / Gamma(r) + log
 * B(a, b+x+m)/B(a, b), drop[x] = log a/(b+x-1+m). One log per entry each. */
typedef struct ll_table {
    double head[TABLE];
    double drop[TABLE];
    size_t built;
} ll_table;

static void table_init(ll_table *tb, const double *p, int m)
{
    tb->head[0] = p[R] * log(p[ALPHA]) + (m ? log(p[B]) - log(p[A] + p[B]) : 0);
    tb->drop[0] = log(p[A]) - log(p[B] - 1 + m); /* only used when m = 1 */
    tb->built = 1;
}

static void table_extend(ll_table *tb, const double *p, int m, size_t x)
{
    for (size_t k = tb->built; k <= x; k++) {
        double j = (double)(k - 1);
        tb->head[k] =
            tb->head[k - 1] + log((p[R] + j) * (p[B] + j + m) / (p[A] + p[B] + j + m));
        tb->drop[k] = log(p[A]) - log(p[B] + j + m);
    }
    tb->built = x + 1;
}

static int pattern_ok(const btyd_pattern *q)
{
    return isfinite(q->x) && isfinite(q->t_x) && isfinite(q->T) && isfinite(q->weight) &&
           q->x >= 0 && q->x == floor(q->x) && q->t_x >= 0 && q->t_x <= q->T &&
           q->weight >= 0;
}

/* What a pattern's gradient needs of t_x, kept while t_x repeats (the
 * histogram is sorted by x, then t_x), of x (likewise), and of T: log and
 * inverse of alpha + T in a small direct-mapped table, since real histories
 * have few distinct ages (whole days). */
#define T_SLOTS 512

typedef struct t_slot {
    double T, log_at, inv_at;
} t_slot;

typedef struct grad_cache {
    double t_x, log_atx, inv_atx;
    double x, inv_bx; /* 1 / (b + x - 1 + m) */
    double inv_a;
    t_slot t[T_SLOTS];
} grad_cache;

static void grad_cache_init(grad_cache *c, const double *p)
{
    c->t_x = -1;
    c->log_atx = c->inv_atx = 0;
    c->x = -1;
    c->inv_bx = 0;
    c->inv_a = 1 / p[A];
    for (size_t i = 0; i < T_SLOTS; i++)
        c->t[i].T = -1;
}

static const t_slot *age_terms(grad_cache *c, const double *p, double T)
{
    uint64_t u;
    memcpy(&u, &T, sizeof u);
    t_slot *s = &c->t[(u ^ (u >> 29) ^ (u >> 41)) % T_SLOTS];
    if (s->T != T)
        *s = (t_slot){T, log(p[ALPHA] + T), 1 / (p[ALPHA] + T)};
    return s;
}

/* The hot loop of fitting: one exp and one log1p per pattern; the per-x
 * terms come from the table, the per-age and per-t_x logs from the cache. */
int bgnbd_core_loglik_sum(const double *p, const btyd_pattern *pat, size_t n,
                          bool modified, double *out)
{
    if (check(p, 0, 0, 0, 0) != GSL_SUCCESS)
        return GSL_EDOM;
    int m = modified;
    ll_table tb;
    table_init(&tb, p, m);
    grad_cache c;
    grad_cache_init(&c, p);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const btyd_pattern *q = &pat[i];
        if (!pattern_ok(q))
            return GSL_EDOM;
        if (q->weight == 0)
            continue;
        double x = q->x, ll;
        if (x >= TABLE) {
            int rc = bgnbd_core_loglik(p, x, q->t_x, q->T, modified, &ll);
            if (rc != GSL_SUCCESS)
                return rc;
            sum += q->weight * ll;
            continue;
        }
        size_t k = (size_t)x;
        if (k >= tb.built)
            table_extend(&tb, p, m, k);
        double rx = p[R] + x, l_T = age_terms(&c, p, q->T)->log_at;
        ll = tb.head[k] - rx * l_T;
        if (k > 0 || m) {
            double t_x = k > 0 ? q->t_x : 0;
            if (t_x != c.t_x) {
                c.t_x = t_x;
                c.log_atx = log(p[ALPHA] + t_x);
                c.inv_atx = 1 / (p[ALPHA] + t_x);
            }
            ll += log1pexp(tb.drop[k] + rx * (l_T - c.log_atx));
        }
        sum += q->weight * ll;
    }
    return btyd_finite_out(sum, out);
}

/* ---- the likelihood sum and its gradient ---- */

/* Per-x terms of the gradient: the digamma differences psi(r+x) - psi(r),
 * psi(b+x+m) - psi(b), psi(a+b+x+m) - psi(a+b), by their sums of 1/(v+j). */
typedef struct grad_table {
    ll_table ll;
    double dr[TABLE];
    double db[TABLE];
    double dab[TABLE];
} grad_table;

static void grad_table_init(grad_table *g, const double *p, int m)
{
    table_init(&g->ll, p, m);
    g->dr[0] = 0;
    g->db[0] = m ? 1 / p[B] : 0;
    g->dab[0] = m ? 1 / (p[A] + p[B]) : 0;
}

static void grad_table_extend(grad_table *g, const double *p, int m, size_t x)
{
    for (size_t k = g->ll.built; k <= x; k++) {
        double j = (double)(k - 1);
        g->dr[k] = g->dr[k - 1] + 1 / (p[R] + j);
        g->db[k] = g->db[k - 1] + 1 / (p[B] + j + m);
        g->dab[k] = g->dab[k - 1] + 1 / (p[A] + p[B] + j + m);
    }
    table_extend(&g->ll, p, m, x);
}

/* The per-x terms for x beyond the table, from GSL's lnpoch and psi. */
static void terms_direct(const double *p, int m, double x, double t[5])
{
    double ab = p[A] + p[B];
    t[0] =
        lnpoch(p[R], x) + p[R] * log(p[ALPHA]) + lnpoch(p[B], x + m) - lnpoch(ab, x + m);
    t[1] = log(p[A]) - log(p[B] + x - 1 + m);
    t[2] = gsl_sf_psi(p[R] + x) - gsl_sf_psi(p[R]);
    t[3] = gsl_sf_psi(p[B] + x + m) - gsl_sf_psi(p[B]);
    t[4] = gsl_sf_psi(ab + x + m) - gsl_sf_psi(ab);
}

/* One pattern's log-likelihood and gradient from its per-x terms t[5]: with
 * the caches, one exp and one log1p. */
static double pattern_grad(const double *p, int m, double log_alpha,
                           const btyd_pattern *q, const double t[5], grad_cache *c,
                           double g[4])
{
    const t_slot *at = age_terms(c, p, q->T);
    double x = q->x, rx = p[R] + x, l_T = at->log_at, inv_T = at->inv_at;
    double ll = t[0] - rx * l_T;
    g[R] = t[2] + log_alpha - l_T;
    g[ALPHA] = p[R] / p[ALPHA] - rx * inv_T;
    g[A] = -t[4];
    g[B] = t[3] - t[4];
    if (x > 0 || m) {
        double t_x = x > 0 ? q->t_x : 0;
        if (t_x != c->t_x) {
            c->t_x = t_x;
            c->log_atx = log(p[ALPHA] + t_x);
            c->inv_atx = 1 / (p[ALPHA] + t_x);
        }
        if (x != c->x) {
            c->x = x;
            c->inv_bx = 1 / (p[B] + x - 1 + m);
        }
        double dl = l_T - c->log_atx, d = t[1] + rx * dl;
        double e = exp(-fabs(d)); /* log(1 + e^d) and its slope */
        double s = d > 0 ? 1 / (1 + e) : e / (1 + e);
        ll += (d > 0 ? d : 0) + log1p(e);
        g[R] += s * dl;
        g[ALPHA] += s * rx * (inv_T - c->inv_atx);
        g[A] += s * c->inv_a;
        g[B] -= s * c->inv_bx;
    }
    return ll;
}

int bgnbd_core_loglik_grad(const double *p, const btyd_pattern *pat, size_t n,
                           bool modified, double *out, double *grad)
{
    if (check(p, 0, 0, 0, 0) != GSL_SUCCESS)
        return GSL_EDOM;
    int m = modified;
    grad_table tb;
    grad_table_init(&tb, p, m);
    grad_cache c;
    grad_cache_init(&c, p);
    double sum = 0, gs[4] = {0, 0, 0, 0}, t[5], g[4], log_alpha = log(p[ALPHA]);
    for (size_t i = 0; i < n; i++) {
        const btyd_pattern *q = &pat[i];
        if (!pattern_ok(q))
            return GSL_EDOM;
        if (q->weight == 0)
            continue;
        if (q->x >= TABLE) {
            terms_direct(p, m, q->x, t);
        } else {
            size_t k = (size_t)q->x;
            if (k >= tb.ll.built)
                grad_table_extend(&tb, p, m, k);
            t[0] = tb.ll.head[k];
            t[1] = tb.ll.drop[k];
            t[2] = tb.dr[k];
            t[3] = tb.db[k];
            t[4] = tb.dab[k];
        }
        sum += q->weight * pattern_grad(p, m, log_alpha, q, t, &c, g);
        for (int j = 0; j < 4; j++)
            gs[j] += q->weight * g[j];
    }
    for (int j = 0; j < 4; j++)
        if (!isfinite(gs[j]))
            return GSL_ERANGE;
    if (!isfinite(sum))
        return GSL_ERANGE;
    *out = sum;
    for (int j = 0; j < 4; j++)
        grad[j] = gs[j];
    return GSL_SUCCESS;
}

/* ---- P(alive) and the alive posterior ---- */

static void alive_state(const double *p, double x, double t_x, double T, int m,
                        double *pa, double *pd, alive *post)
{
    *pa = 1;
    *pd = 0;
    if (x > 0 || m) {
        double d = log_drop_odds(p, x, x > 0 ? t_x : 0, T, m);
        double e = exp(-fabs(d));
        *pa = (d > 0 ? e : 1) / (1 + e);
        *pd = (d > 0 ? 1 : e) / (1 + e);
    }
    *post = (alive){p[R] + x, p[ALPHA] + T, p[A], p[B] + x + m};
}

int bgnbd_core_p_alive(const double *p, double x, double t_x, double T, bool modified,
                       double *out)
{
    if (check(p, x, t_x, T, 0) != GSL_SUCCESS)
        return GSL_EDOM;
    double pa, pd;
    alive post;
    alive_state(p, x, t_x, T, modified, &pa, &pd, &post);
    return btyd_finite_out(pa, out);
}

/* ---- E[purchases in (0, t]] of an alive customer ---- */

/* sum_k>=1 (-1)^(k+1) (s)_k (a)_(k-1) / ((a+b)_(k-1) k!) y^k, y = t/rate,
 * when every term ratio is at most 1/2 in size (alternating, decreasing). */
static int pfaff_usable(const alive *q, double y)
{
    double bound = y * fmax(1, (q->shape + 1) / (q->a + q->b)) * fmax(1, q->a / 2);
    return bound <= 0.5;
}

static double pfaff_series(const alive *q, double y)
{
    double term = q->shape * y, sum = term;
    for (int k = 1; k < 200; k++) {
        term *= -(q->shape + k) * (q->a + k - 1) / ((q->a + q->b + k - 1) * (k + 1)) * y;
        sum += term;
        if (fabs(term) < 0.25 * DBL_EPSILON * fabs(sum))
            break;
    }
    return sum;
}

/* -c/(a-1) expm1(lg), lg = (a-1) log(1-z) + log 2F1(c - shape, a - 1; c; z)
 * (Euler's form), from the 2F1's logarithm lf (error lf_err, status rc).
 * *err estimates the relative rounding error: lg is small when it is the
 * difference of two large logs. */
static int expected_hyp_from(const alive *q, double t, int rc, double lf, double lf_err,
                             double *out, double *err)
{
    if (rc != GSL_SUCCESS)
        return rc;
    double a = q->a, c = a + q->b - 1;
    double l1 = (a - 1) * -log1p(t / q->rate);
    double lg = l1 + lf;
    double v = -c / (a - 1) * expm1(lg);
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = fmax(v, 0);
    *err = (DBL_EPSILON * (4 + fabs(l1) + 4 * fabs(lf)) + lf_err) / fmin(fabs(lg), 1);
    return GSL_SUCCESS;
}

/* The argument z of the 2F1 of expected_hyp at horizon t. */
static double hyp_z(const alive *q, double t)
{
    return t / (q->rate + t);
}

static int expected_hyp(const alive *q, double t, double *out, double *err)
{
    double c = q->a + q->b - 1, lf = 0, lf_err = 0;
    int rc = hyp2f1_log_err(c - q->shape, q->a - 1, c, hyp_z(q, t), &lf, &lf_err);
    return expected_hyp_from(q, t, rc, lf, lf_err, out, err);
}

/* The untransformed form -c/(a-1) expm1(shape log(1-z) + log1p(F - 1)),
 * F = 2F1(shape, b; c; z), with F - 1 summed on its own (positive terms):
 * exact for a small shape, where both logs above are large and lg is not.
 * The series converges at the rate z: GSL_EMAXITER when too slow near 1. */
static int expected_direct(const alive *q, double t, double *out, double *err)
{
    double s = q->shape, b = q->b, c = q->a + b - 1;
    double z = t / (q->rate + t);
    double term = s * b / c * z, sum = term;
    for (int k = 1; fabs(term) > 0.25 * DBL_EPSILON * sum; k++) {
        if (k > 20000)
            return GSL_EMAXITER;
        term *= (s + k) * (b + k) / ((c + k) * (k + 1)) * z;
        sum += term;
    }
    double l1 = s * -log1p(t / q->rate), l2 = log1p(sum);
    double lg = l1 + l2;
    double v = -c / (q->a - 1) * expm1(lg);
    if (!isfinite(v) || !isfinite(sum))
        return GSL_ERANGE;
    *out = fmax(v, 0);
    *err = DBL_EPSILON * (4 + (fabs(l1) + 4 * fabs(l2)) / fmin(fabs(lg), 1));
    return GSL_SUCCESS;
}

/* The better conditioned of the Euler form (status rc, value v1, error
 * e1) and the direct form; GSL_ELOSS when neither is good to MAX_REL_ERR. */
static int far_from_one_from(const alive *q, double t, int rc, double v1, double e1,
                             double *out)
{
    double v2 = 0, e2 = INFINITY;
    if (rc != GSL_SUCCESS)
        e1 = INFINITY;
    if (e1 > 1e-13 && expected_direct(q, t, &v2, &e2) == GSL_SUCCESS && e2 < e1) {
        v1 = v2;
        e1 = e2;
        rc = GSL_SUCCESS;
    }
    if (rc != GSL_SUCCESS)
        return rc;
    if (e1 > MAX_REL_ERR)
        return GSL_ELOSS;
    *out = v1;
    return GSL_SUCCESS;
}

static int expected_far_from_one(const alive *q, double t, double *out)
{
    double v1 = 0, e1 = INFINITY;
    int rc = expected_hyp(q, t, &v1, &e1);
    return far_from_one_from(q, t, rc, v1, e1, out);
}

/* |a-1| < A_GUARD: cubic through four nodes around a = 1. */
static int expected_near_one(const alive *q, double t, double *out)
{
    const double nodes[4] = {1 - A_STEP, 1 - A_STEP / 2, 1 + A_STEP / 2, 1 + A_STEP};
    double f[4], v = 0, v3 = 0;
    for (int i = 0; i < 4; i++) {
        alive qi = *q;
        qi.a = nodes[i];
        int rc = expected_far_from_one(&qi, t, &f[i]);
        if (rc != GSL_SUCCESS)
            return rc;
    }
    for (int i = 0; i < 4; i++) {
        double w = 1, w3 = 1;
        for (int j = 0; j < 4; j++)
            if (j != i) {
                w *= (q->a - nodes[j]) / (nodes[i] - nodes[j]);
                if (i < 3 && j < 3)
                    w3 *= (q->a - nodes[j]) / (nodes[i] - nodes[j]);
            }
        v += w * f[i];
        v3 += i < 3 ? w3 * f[i] : 0;
    }
    /* the quadratic through three nodes bounds the cubic's truncation */
    if (fabs(v - v3) > 0.1 * MAX_REL_ERR * fabs(v))
        return GSL_ELOSS;
    *out = fmax(v, 0);
    return GSL_SUCCESS;
}

/* c = a+b-1 small: Beta(a,b) = b/(a+b) Beta(a,b+1) + a/(a+b) Beta(a+1,b). */
static int expected_split(const alive *q, double t, double *out)
{
    alive q1 = *q, q2 = *q;
    q1.b += 1;
    q2.a += 1;
    double e1, e2;
    int rc = alive_expected(&q1, t, &e1);
    if (rc == GSL_SUCCESS)
        rc = alive_expected(&q2, t, &e2);
    if (rc != GSL_SUCCESS)
        return rc;
    double s = q->a + q->b;
    return btyd_finite_out(q->b / s * e1 + q->a / s * e2, out);
}

/* The fast forms: a series or a hypergeometric function. */
static int expected_fast(const alive *q, double t, double *out)
{
    double y = t / q->rate;
    if (pfaff_usable(q, y))
        return btyd_finite_out(pfaff_series(q, y), out);
    if (q->a + q->b - 1 < C_SMALL)
        return expected_split(q, t, out);
    if (fabs(q->a - 1) < A_GUARD)
        return expected_near_one(q, t, out);
    return expected_far_from_one(q, t, out);
}

/* The fast forms, and where they cannot vouch for 1e-9 (large shape, a
 * parameter near 1e4, ...) the integral over p (bgnbd_quad.c), which is
 * slow but has no cancellation to lose accuracy to. */
static int alive_expected(const alive *q, double t, double *out)
{
    if (t == 0) {
        *out = 0;
        return GSL_SUCCESS;
    }
    if (expected_fast(q, t, out) == GSL_SUCCESS)
        return GSL_SUCCESS;
    return bgnbd_quad_expected(q->shape, q->rate, q->a, q->b, t, out);
}

/* Horizons whose hypergeometric forms are computed together. */
#define BATCH 64

/* alive_expected at t[0..n) (n <= BATCH), the same branches and values,
 * with the 2F1 of every horizon that takes the far-from-one form summed
 * side by side (hyp2f1_log_err_many): its a, b, c are the customer's. */
static void alive_expected_many(const alive *q, const double *t, size_t n, double *out,
                                int *rc)
{
    size_t idx[BATCH], m = 0;
    double z[BATCH], lf[BATCH], lf_err[BATCH];
    int hrc[BATCH];
    double c = q->a + q->b - 1;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == 0 || pfaff_usable(q, t[i] / q->rate) || c < C_SMALL ||
            fabs(q->a - 1) < A_GUARD) {
            rc[i] = alive_expected(q, t[i], &out[i]);
            continue;
        }
        idx[m] = i;
        z[m++] = hyp_z(q, t[i]);
    }
    hyp2f1_log_err_many(c - q->shape, q->a - 1, c, z, m, lf, lf_err, hrc);
    for (size_t j = 0; j < m; j++) {
        size_t i = idx[j];
        double v1 = 0, e1 = INFINITY;
        int r = expected_hyp_from(q, t[i], hrc[j], lf[j], lf_err[j], &v1, &e1);
        r = far_from_one_from(q, t[i], r, v1, e1, &out[i]);
        rc[i] = r == GSL_SUCCESS
                    ? r
                    : bgnbd_quad_expected(q->shape, q->rate, q->a, q->b, t[i], &out[i]);
    }
}

/* ---- P(n purchases in (0, t]) of an alive customer ---- */

/* Either n purchases and survival of all n, or death at the n-th of at least
 * n: B(a,b+n)/B(a,b) NB(n) + B(a+1,b+n-1)/B(a,b) P(NB >= n), NB the negative
 * binomial count of the Gamma-Poisson purchases, P(NB >= n) = I_z(n, shape). */
static int alive_pmf(const alive *q, double t, unsigned n, double *out)
{
    if (t == 0) {
        *out = n == 0;
        return GSL_SUCCESS;
    }
    double s = q->shape, nn = n, ab = q->a + q->b;
    double lz = log(t) - log(q->rate + t), l1z = -log1p(t / q->rate);
    double lnb = lnpoch(s, nn) - gsl_sf_lnfact(n) + s * l1z + nn * lz;
    double v = exp(lnpoch(q->b, nn) - lnpoch(ab, nn) + lnb);
    if (n > 0) {
        gsl_sf_result tail;
        int rc = gsl_sf_beta_inc_e(nn, s, t / (q->rate + t), &tail);
        if (rc == GSL_EUNDRFLW) /* P(NB >= n) below DBL_MIN: 0 it is */
            tail.val = 0;
        else if (rc != GSL_SUCCESS)
            return rc;
        double ldie = log(q->a / ab) + lnpoch(q->b, nn - 1) - lnpoch(ab + 1, nn - 1);
        v += exp(ldie) * tail.val;
    }
    return btyd_finite_out(fmin(fmax(v, 0), 1), out);
}

/* ---- the exported predictions ---- */

int bgnbd_core_expected(const double *p, double x, double t_x, double T, double t,
                        bool modified, double *out)
{
    if (check(p, x, t_x, T, t) != GSL_SUCCESS)
        return GSL_EDOM;
    double pa, pd, e;
    alive post;
    alive_state(p, x, t_x, T, modified, &pa, &pd, &post);
    int rc = alive_expected(&post, t, &e);
    return rc != GSL_SUCCESS ? rc : btyd_finite_out(pa * e, out);
}

int bgnbd_core_expected_many(const double *p, double x, double t_x, double T,
                             const double *t, size_t n, bool modified, double *out)
{
    if (check(p, x, t_x, T, 0) != GSL_SUCCESS)
        return GSL_EDOM;
    double pa, pd, e[BATCH];
    int rc[BATCH];
    alive post;
    alive_state(p, x, t_x, T, modified, &pa, &pd, &post);
    for (size_t i0 = 0; i0 < n; i0 += BATCH) {
        size_t m = n - i0 < BATCH ? n - i0 : BATCH, valid = m;
        for (size_t i = 0; i < m && valid == m; i++)
            if (!isfinite(t[i0 + i]) || t[i0 + i] < 0)
                valid = i; /* check() refuses it: only those before it */
        alive_expected_many(&post, t + i0, valid, e, rc);
        for (size_t i = 0; i < valid; i++) {
            if (rc[i] != GSL_SUCCESS)
                return rc[i];
            if (btyd_finite_out(pa * e[i], &out[i0 + i]) != GSL_SUCCESS)
                return GSL_ERANGE;
        }
        if (valid < m)
            return GSL_EDOM;
    }
    return GSL_SUCCESS;
}

int bgnbd_core_p_n(const double *p, double x, double t_x, double T, double t, unsigned n,
                   bool modified, double *out)
{
    if (check(p, x, t_x, T, t) != GSL_SUCCESS)
        return GSL_EDOM;
    double pa, pd, v;
    alive post;
    alive_state(p, x, t_x, T, modified, &pa, &pd, &post);
    int rc = alive_pmf(&post, t, n, &v);
    if (rc != GSL_SUCCESS)
        return rc;
    return btyd_finite_out(fmin((n == 0 ? pd : 0) + pa * v, 1), out);
}

/* A new customer: the prior, alive with probability 1 (BG) or, having
 * survived the first purchase, b/(a+b) with p ~ Beta(a, b+1) (MBG). */
static void new_state(const double *p, int m, double *pa, alive *q)
{
    *pa = m ? p[B] / (p[A] + p[B]) : 1;
    *q = (alive){p[R], p[ALPHA], p[A], p[B] + m};
}

int bgnbd_core_expected_new(const double *p, double t, bool modified, double *out)
{
    if (check(p, 0, 0, 0, t) != GSL_SUCCESS)
        return GSL_EDOM;
    double pa, e;
    alive q;
    new_state(p, modified, &pa, &q);
    int rc = alive_expected(&q, t, &e);
    return rc != GSL_SUCCESS ? rc : btyd_finite_out(pa * e, out);
}

int bgnbd_core_p_n_new(const double *p, double t, unsigned n, bool modified, double *out)
{
    if (check(p, 0, 0, 0, t) != GSL_SUCCESS)
        return GSL_EDOM;
    double pa, v;
    alive q;
    new_state(p, modified, &pa, &q);
    int rc = alive_pmf(&q, t, n, &v);
    if (rc != GSL_SUCCESS)
        return rc;
    double dead = modified ? p[A] / (p[A] + p[B]) : 0;
    return btyd_finite_out(fmin((n == 0 ? dead : 0) + pa * v, 1), out);
}

/* ---- simulation ---- */

/* p ~ Beta(a, b); with tiny a and b both Gamma draws can underflow to 0, and
 * the Beta is then all but Bernoulli(a/(a+b)) on {0, 1}. */
static double draw_p(const double *p, const gsl_rng *rng)
{
    double v = gsl_ran_beta(rng, p[A], p[B]);
    if (isfinite(v))
        return v;
    return gsl_rng_uniform(rng) < p[A] / (p[A] + p[B]) ? 1.0 : 0.0;
}

int bgnbd_core_simulate(const double *p, double T, const gsl_rng *rng, bool modified,
                        double *x, double *t_x)
{
    if (check(p, 0, 0, T, 0) != GSL_SUCCESS || rng == NULL)
        return GSL_EDOM;
    double lambda = gsl_ran_gamma(rng, p[R], 1 / p[ALPHA]);
    double prob = draw_p(p, rng);
    double n = 0, last = 0, now = 0;
    int dead = modified && gsl_rng_uniform(rng) < prob;
    for (long k = 0; !dead && lambda > 0 && k < SIM_MAX_EVENTS; k++) {
        now += gsl_ran_exponential(rng, 1 / lambda);
        if (now > T) {
            *x = n;
            *t_x = last;
            return GSL_SUCCESS;
        }
        n++;
        last = now;
        dead = gsl_rng_uniform(rng) < prob;
    }
    if (!dead && lambda > 0)
        return GSL_EMAXITER;
    *x = n;
    *t_x = last;
    return GSL_SUCCESS;
}
