/* BG/BB (Fader, Hardie & Shang 2010): likelihood, posterior predictions and
 * simulation for discrete purchase opportunities; see bgbb.h for the domain.
 *
 * Every quantity is a sum over "death scenarios": the customer is alive for
 * all opportunities considered, or dies at the start of opportunity j + 1
 * after j alive ones. Each scenario is a product of two Beta-function ratios,
 * log B(a + xa, b + yb) - log B(a, b), computed as a sum of log-Pochhammer
 * symbols (accurate for tiny and huge parameters alike) and summed in log
 * space. Long scenario sums step from term to term by the exact ratio of
 * consecutive terms and re-anchor on an exact value every ANCHOR terms. */
#include "model/bgbb.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>

#define ANCHOR 32        /* terms between exact re-evaluations of a chain */
#define SMALL_HORIZON 64 /* horizons summed term by term in the expectation */

enum { ALPHA, BETA, GAMMA, DELTA };

static const char *const param_names[] = {"alpha", "beta", "gamma", "delta"};
static const double init_params[] = {1.0, 1.0, 1.0, 1.0};

/* ---- domain ---- */

static int is_count(double v, double max)
{
    return isfinite(v) && v >= 0 && v <= max && v == floor(v);
}

static int params_ok(const double *p)
{
    for (int i = 0; i < 4; i++)
        if (!isfinite(p[i]) || p[i] <= 0)
            return 0;
    return 1;
}

static int history_ok(const double *p, double x, double t_x, double n)
{
    if (!params_ok(p) || !is_count(n, BGBB_MAX_OPPORTUNITIES))
        return 0;
    if (!is_count(x, n) || !is_count(t_x, n) || x > t_x)
        return 0;
    return (x == 0) == (t_x == 0);
}

/* ---- log-space helpers ---- */

/* Streaming log-sum-exp: the sum is exp(max) * sum. */
typedef struct lse {
    double max;
    double sum;
} lse;

static lse lse_empty(void)
{
    return (lse){-INFINITY, 0.0};
}

static void lse_add(lse *a, double l)
{
    if (l == -INFINITY)
        return;
    if (l <= a->max) {
        a->sum += exp(l - a->max);
    } else {
        a->sum = a->sum * exp(a->max - l) + 1.0;
        a->max = l;
    }
}

static double lse_value(const lse *a)
{
    return a->sum > 0 ? a->max + log(a->sum) : -INFINITY;
}

/* log(u / (u + v)) for u, v > 0, accurate whichever is larger. */
static double log_ratio(double u, double v)
{
    return v < u ? log1p(-v / (u + v)) : log(u / (u + v));
}

/* log Gamma(u + e) - log Gamma(u) for u >= 100, |e| <= u / 2, by Stirling's
 * series written as differences, so nothing of size u log u cancels, and
 * 1/v^m - 1/u^m (v = u + e) comes from the exact 1/v - 1/u = -e / (u v). */
static double stirling_ratio(double u, double e)
{
    static const double c[] = {1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188};
    double v = u + e;
    double s = (u - 0.5) * log1p(e / u) + e * log(v) - e;
    double a = 1 / u, b = 1 / v, d = -e / (u * v);
    double am = a, dm = d; /* a^m and b^m - a^m for m = 1, 3, 5, ... */
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        s += c[k] * dm;
        dm = b * b * dm + am * d * (a + b);
        am *= a * a;
    }
    return s;
}

/* log Gamma(a + x) / Gamma(a) for a > 0, a + x > 0. GSL's gsl_sf_lnpoch
 * subtracts two log-gammas once |x| log a > 0.1: at a = 1e15 that leaves
 * barely two correct digits, hence Stirling for large a. */
static double log_poch(double a, double x)
{
    if (x == 0)
        return 0;
    if (a >= 100 && fabs(x) <= 0.5 * a)
        return stirling_ratio(a, x);
    return gsl_sf_lnpoch(a, x);
}

/* log B(a + xa, b + yb) - log B(a, b) for a, b > 0, a + xa > 0, b + yb > 0. */
static double log_beta_ratio(double a, double b, double xa, double yb)
{
    return log_poch(a, xa) + log_poch(b, yb) - log_poch(a + b, xa + yb);
}

/* The terms C(i, k) B(a + xa, b + yb + i) B(g + xg, d + yd + i) / (B(a, b) B(g, d))
 * of a scenario sum, in logs. */
typedef struct chain {
    double a, b, xa, yb;
    double g, d, xg, yd;
    unsigned k;
} chain;

static double chain_term(const chain *c, double i)
{
    double l = log_beta_ratio(c->a, c->b, c->xa, c->yb + i) +
               log_beta_ratio(c->g, c->d, c->xg, c->yd + i);
    if (c->k > 0)
        l += gsl_sf_lnchoose((unsigned)i, c->k);
    return l;
}

/* log(term(i + 1) / term(i)). */
static double chain_step(const chain *c, double i)
{
    double s = log_ratio(c->b + c->yb + i, c->a + c->xa) +
               log_ratio(c->d + c->yd + i, c->g + c->xg);
    if (c->k > 0)
        s += log1p(c->k / (i + 1 - c->k));
    return s;
}

/* log sum_{i = lo}^{hi - 1} term(i); -inf when empty. */
static double chain_sum(const chain *c, double lo, double hi)
{
    lse acc = lse_empty();
    double l = 0;
    for (double i = lo; i < hi; i++) {
        l = fmod(i - lo, ANCHOR) == 0 ? chain_term(c, i) : l + chain_step(c, i - 1);
        lse_add(&acc, l);
    }
    return lse_value(&acc);
}

/* ---- likelihood ---- */

/* The two parts of the likelihood in logs: alive through opportunity n, and
 * dead at the start of one of the opportunities t_x + 1 .. n. */
static void loglik_parts(const double *p, double x, double t_x, double n,
                         double *log_alive, double *log_dead)
{
    *log_alive = log_beta_ratio(p[ALPHA], p[BETA], x, n - x) +
                 log_beta_ratio(p[GAMMA], p[DELTA], 0, n);
    chain c = {p[ALPHA], p[BETA], x, t_x - x, p[GAMMA], p[DELTA], 1, t_x, 0};
    *log_dead = chain_sum(&c, 0, n - t_x);
}

static double log_add(double a, double b)
{
    lse acc = lse_empty();
    lse_add(&acc, a);
    lse_add(&acc, b);
    return lse_value(&acc);
}

static int bgbb_loglik(const double *p, double x, double t_x, double n, double *out)
{
    if (!history_ok(p, x, t_x, n))
        return GSL_EDOM;
    double la, ld;
    loglik_parts(p, x, t_x, n, &la, &ld);
    double ll = log_add(la, ld);
    if (!isfinite(ll))
        return GSL_ERANGE;
    *out = ll;
    return GSL_SUCCESS;
}

static int bgbb_loglik_sum(const double *p, const btyd_pattern *pat, size_t n,
                           double *out)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(pat[i].weight >= 0) || !isfinite(pat[i].weight))
            return GSL_EDOM;
        double ll;
        int rc = bgbb_loglik(p, pat[i].x, pat[i].t_x, pat[i].T, &ll);
        if (rc != GSL_SUCCESS)
            return rc;
        sum += pat[i].weight * ll;
    }
    if (!isfinite(sum))
        return GSL_ERANGE;
    *out = sum;
    return GSL_SUCCESS;
}

/* ---- predictions ---- */

static double clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

static int bgbb_p_alive(const double *p, double x, double t_x, double n, double *out)
{
    if (!history_ok(p, x, t_x, n))
        return GSL_EDOM;
    double la, ld;
    loglik_parts(p, x, t_x, n, &la, &ld);
    double v = exp(la - log_add(la, ld));
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = clamp01(v);
    return GSL_SUCCESS;
}

/* expm1(z) / z, 1 at z = 0. */
static double expm1_over(double z)
{
    return fabs(z) < 1e-300 ? 1.0 : expm1(z) / z;
}

/* sum_{j=1}^{t} (D)_j / (D + gamma)_j = D * F with
 * F = (1 - (D+1)_t / (D+gamma)_t) / (gamma - 1), written as
 * F = Q * expm1_over(-(gamma-1) Q), Q = (lnpoch(u+t, e) - lnpoch(u, e)) / e,
 * u = D + 1, e = gamma - 1 (Q = psi(u+t) - psi(u) at e = 0): no singularity
 * at gamma = 1 and no cancellation for short horizons. */
/* The partial sum Q of survival_sum for t <= SMALL_HORIZON, kept across
 * increasing horizons: Q over j < t continues from Q over j < done with the
 * same additions in the same order as a fresh sum. */
typedef struct q_sum {
    double Q, done;
} q_sum;

static double small_q(double e, double u, double t, q_sum *acc)
{
    if (acc->done > t)
        *acc = (q_sum){0, 0};
    for (double j = acc->done; j < t; j++)
        acc->Q += e == 0 ? 1 / (u + j) : log1p(e / (u + j)) / e;
    acc->done = t;
    return acc->Q;
}

static double survival_sum_from(double D, double gamma, double t, q_sum *acc)
{
    double e = gamma - 1, u = D + 1, Q = 0;
    if (t <= SMALL_HORIZON) {
        Q = small_q(e, u, t, acc);
    } else if (e == 0) {
        Q = gsl_sf_psi(u + t) - gsl_sf_psi(u);
    } else {
        Q = (log_poch(u + t, e) - log_poch(u, e)) / e;
    }
    return D * Q * expm1_over(-e * Q);
}

static double survival_sum(double D, double gamma, double t)
{
    q_sum acc = {0, 0};
    return survival_sum_from(D, gamma, t, &acc);
}

/* log of the factor of the expectation that does not depend on t. */
static double expected_lpre(const double *p, double x, double t_x, double n)
{
    double la, ld;
    loglik_parts(p, x, t_x, n, &la, &ld);
    return log_beta_ratio(p[ALPHA], p[BETA], x + 1, n - x) +
           log_beta_ratio(p[GAMMA], p[DELTA], 0, n) - log_add(la, ld);
}

static int bgbb_expected(const double *p, double x, double t_x, double n, double t,
                         double *out)
{
    if (!history_ok(p, x, t_x, n) || !is_count(t, BGBB_MAX_HORIZON))
        return GSL_EDOM;
    double lpre = expected_lpre(p, x, t_x, n);
    double v = t == 0 ? 0.0 : exp(lpre) * survival_sum(p[DELTA] + n, p[GAMMA], t);
    if (!isfinite(v) || v < 0)
        return GSL_ERANGE;
    *out = v;
    return GSL_SUCCESS;
}

/* bgbb_expected at every t[i]: the history's sums once, the survival sum
 * continued across increasing short horizons. */
static int bgbb_expected_many(const double *p, double x, double t_x, double n,
                              const double *t, size_t nt, double *out)
{
    if (!history_ok(p, x, t_x, n))
        return GSL_EDOM;
    double pre = 0;
    q_sum acc = {0, 0};
    for (size_t i = 0; i < nt; i++) {
        if (!is_count(t[i], BGBB_MAX_HORIZON))
            return GSL_EDOM;
        if (i == 0)
            pre = exp(expected_lpre(p, x, t_x, n));
        double v =
            t[i] == 0 ? 0.0 : pre * survival_sum_from(p[DELTA] + n, p[GAMMA], t[i], &acc);
        if (!isfinite(v) || v < 0)
            return GSL_ERANGE;
        out[i] = v;
    }
    return GSL_SUCCESS;
}

/* log P(k purchases in the next t opportunities, and the history): alive
 * through n + t; or alive at n and dead at the start of n + i + 1 for
 * i = k .. t-1; or (k = 0 only) dead by n. */
static double log_joint_k(const double *p, double x, double n, double t, unsigned k,
                          double log_dead)
{
    lse acc = lse_empty();
    if (k == 0)
        lse_add(&acc, log_dead);
    lse_add(&acc, gsl_sf_lnchoose((unsigned)t, k) +
                      log_beta_ratio(p[ALPHA], p[BETA], x + k, n - x + t - k) +
                      log_beta_ratio(p[GAMMA], p[DELTA], 0, n + t));
    chain c = {p[ALPHA], p[BETA], x + k, n - x - (double)k, p[GAMMA], p[DELTA], 1, n, k};
    lse_add(&acc, chain_sum(&c, k, t));
    return lse_value(&acc);
}

static int bgbb_p_n(const double *p, double x, double t_x, double n, double t, unsigned k,
                    double *out)
{
    if (!history_ok(p, x, t_x, n) || !is_count(t, BGBB_MAX_OPPORTUNITIES))
        return GSL_EDOM;
    if (k > t) {
        *out = 0;
        return GSL_SUCCESS;
    }
    double la, ld;
    loglik_parts(p, x, t_x, n, &la, &ld);
    double v = exp(log_joint_k(p, x, n, t, k, ld) - log_add(la, ld));
    if (!isfinite(v))
        return GSL_ERANGE;
    *out = clamp01(v);
    return GSL_SUCCESS;
}

/* A customer just acquired is the history x = t_x = n = 0. */
static int bgbb_expected_new(const double *p, double t, double *out)
{
    return bgbb_expected(p, 0, 0, 0, t, out);
}

static int bgbb_p_n_new(const double *p, double t, unsigned k, double *out)
{
    return bgbb_p_n(p, 0, 0, 0, t, k, out);
}

/* ---- simulation ---- */

/* Each opportunity: a living customer first dies with probability theta,
 * else purchases with probability p. */
static int bgbb_simulate(const double *p, double n, const gsl_rng *rng, double *x,
                         double *t_x)
{
    if (!params_ok(p) || !is_count(n, BGBB_MAX_OPPORTUNITIES) || rng == NULL)
        return GSL_EDOM;
    double pp = gsl_ran_beta(rng, p[ALPHA], p[BETA]);
    double theta = gsl_ran_beta(rng, p[GAMMA], p[DELTA]);
    double nx = 0, last = 0;
    for (double j = 1; j <= n; j++) {
        if (gsl_rng_uniform(rng) < theta)
            break;
        if (gsl_rng_uniform(rng) < pp) {
            nx++;
            last = j;
        }
    }
    *x = nx;
    *t_x = last;
    return GSL_SUCCESS;
}

const btyd_model bgbb_model = {
    .name = "bgbb",
    .title = "BG/BB",
    .n_params = 4,
    .param_names = param_names,
    .init = init_params,
    .discrete = 1,
    .loglik = bgbb_loglik,
    .loglik_sum = bgbb_loglik_sum,
    .p_alive = bgbb_p_alive,
    .expected = bgbb_expected,
    .expected_many = bgbb_expected_many,
    .p_n = bgbb_p_n,
    .expected_new = bgbb_expected_new,
    .p_n_new = bgbb_p_n_new,
    .simulate = bgbb_simulate,
};
