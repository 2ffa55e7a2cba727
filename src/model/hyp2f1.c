/* log 2F1(a, b; c; z) for 0 <= z < 1 and c > 0. The power series is summed
 * in scaled, sign-aware form (compensated, but plainly when its terms after
 * the first have one sign and cannot cancel), on whichever of the direct and
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
#include <string.h>

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
    /* fabs(term) / (1 - rb) >= fabs(term) below, as 0 < 1 - rb <= 1: the
     * same answer as the division, which only the last terms need */
    if (fabs(term) > 0.25 * DBL_EPSILON * fabs(sum))
        return 0;
    double kk = (double)k;
    if (kk < -a || kk < -b || kk < -c)
        return 0;
    double rb = fmax(fabs(ratio), fabs(z));
    if (rb >= 1)
        return 0;
    return fabs(term) / (1 - rb) <= 0.25 * DBL_EPSILON * fabs(sum);
}

/* The running state of one series sum (series below). */
typedef struct lane {
    double z, sum, comp, term, abs_sum, scale;
    size_t max_terms;
} lane;

static void lane_init(lane *l, double z, size_t max_terms)
{
    *l = (lane){z, 1, 0, 1, 1, 0, max_terms};
}

/* Term k + 1 of the series of l, whose k-th ratio without z is q:
 * GSL_CONTINUE while more terms are needed, else the series' result in
 * *out (GSL_SUCCESS) or its error. Inlined into both loops: the batch's
 * speed is this step's. converged() is asked only once the term is small
 * enough for it to say yes (its own first test, without the call). */
static inline __attribute__((always_inline)) int
lane_step(double a, double b, double c, size_t k, double q, lane *l, lval *out)
{
    if (k >= l->max_terms)
        return GSL_EMAXITER;
    double kk = (double)k;
    double ratio = q * l->z;
    if (!isfinite(ratio))
        return GSL_ERANGE;
    l->term *= ratio;
    add_term(&l->sum, &l->comp, l->term);
    l->abs_sum += fabs(l->term);
    if (l->abs_sum > RESCALE) {
        l->sum /= RESCALE;
        l->comp /= RESCALE;
        l->term /= RESCALE;
        l->abs_sum /= RESCALE;
        l->scale += LOG_RESCALE;
    }
    double total = l->sum + l->comp;
    if (l->term == 0 || (!(fabs(l->term) > 0.25 * DBL_EPSILON * fabs(total)) &&
                         converged(a, b, c, k + 1, ratio, l->term, total, l->z))) {
        if (total == 0)
            return GSL_ELOSS;
        out->lg = log(fabs(total)) + l->scale;
        out->sign = total < 0 ? -1 : 1;
        out->err = DBL_EPSILON * (l->abs_sum / fabs(total)) * (2 + sqrt(kk + 1));
        return GSL_SUCCESS;
    }
    return GSL_CONTINUE;
}

/* The k-th term ratio of the series without its factor z. */
static double ratio_q(double a, double b, double c, size_t k)
{
    double kk = (double)k;
    return (a + kk) * (b + kk) / ((c + kk) * (kk + 1));
}

/* ------------------------------------------------- one-signed series
 *
 * With c > 0, a, b > -1 (neither 0) and z >= 0 (args_ok), every term from
 * k = 1 on has the sign of a * b: the terms cannot cancel each other, so they are summed
 * plainly, apart from the leading 1, without Neumaier's compensation and
 * its branch, the error estimate counting the uncompensated sum's rounding
 * twice. A BG/NBD customer's 36 monthly expectations are such series
 * (hyp2f1_log_err_many); this form costs a third of the general one per
 * term. */

/* Lanes summed side by side (series_one_signed, series_many). */
#define LANES 64

static int one_signed(double a, double b, double c)
{
    return c > 0 && a > -1 && b > -1 && a != 0 && b != 0;
}

/* Lane i's result after term k (its term and sum s, the leading 1 scaled
 * as `one`): GSL_CONTINUE while more terms are needed. */
static inline __attribute__((always_inline)) int
one_signed_check(double a, double b, double c, size_t k, double ratio, double z,
                 double *term, double *s, double *one, double *scale, lval *out)
{
    if (!isfinite(ratio))
        return GSL_ERANGE;
    if (fabs(*s) > RESCALE) {
        *s /= RESCALE;
        *term /= RESCALE;
        *one /= RESCALE;
        *scale += LOG_RESCALE;
    }
    double total = *one + *s;
    if (*term == 0 || (!(fabs(*term) > 0.25 * DBL_EPSILON * fabs(total)) &&
                       converged(a, b, c, k + 1, ratio, *term, total, z))) {
        if (total == 0)
            return GSL_ELOSS;
        out->lg = log(fabs(total)) + *scale;
        out->sign = total < 0 ? -1 : 1;
        out->err = DBL_EPSILON * ((*one + fabs(*s)) / fabs(total)) *
                   (2 + 2 * sqrt((double)k + 1));
        return GSL_SUCCESS;
    }
    return GSL_CONTINUE;
}

/* Two lanes at once: GCC's and Clang's vector extension, which -O2 turns
 * into packed arithmetic (SSE2 on x86-64) without -ftree-vectorize's cost
 * model; each lane's operations are the scalar ones, in the same order. */
typedef double pair __attribute__((vector_size(2 * sizeof(double))));

/* Terms each lane takes between two convergence checks: the steps are
 * plain multiply-adds across the lanes (vectorized), the check is not. A
 * lane that converged mid-block adds at most BLOCK - 1 more terms, each
 * below the rounding of its total 1 + s (the tail bound holds for every
 * later term), so the value may differ from checking each term in its
 * last bit at most. */
#define BLOCK 16
/* A block runs unchecked only when no term can grow past RESCALE * BIG^BLOCK
 * (1e296, finite) within it: every ratio at most BIG in size; otherwise it
 * is taken a term at a time. The test is on the ratios without z
 * (0 <= z < 1), so that a lane's steps do not depend on the other lanes:
 * alone or in a batch, it gives the same bits. */
#define BIG 1e6

/* The series of one_signed arguments at z[0..n), side by side: the live
 * lanes are those from `first` on whose `done` is unset (larger z needs
 * more terms, so they end roughly in order); a lane done has z 0, so its
 * term stays 0 rather than running into subnormals. */
static void series_one_signed(double a, double b, double c, const double *z,
                              const size_t *max_terms, size_t n, lval *out, int *rc)
{
    for (size_t i0 = 0; i0 < n; i0 += LANES) {
        size_t m = n - i0 < LANES ? n - i0 : LANES, first = 0;
        /* lane m, when m is odd, pads the last pair: z 0, its terms 0 */
        double term[LANES], s[LANES], one[LANES], scale[LANES], zz[LANES];
        unsigned char done[LANES];
        for (size_t i = 0; i < m + (m & 1); i++) {
            term[i] = one[i] = 1;
            s[i] = scale[i] = 0;
            zz[i] = i < m ? z[i0 + i] : 0;
            done[i] = 0;
        }
        for (size_t k = 0; first < m;) {
            double q[BLOCK];
            size_t steps = BLOCK; /* 1 from the first ratio too large on */
            for (size_t j = 0; j < BLOCK && steps == BLOCK; j++) {
                q[j] = ratio_q(a, b, c, k + j);
                if (!(fabs(q[j]) <= BIG))
                    steps = 1;
            }
            if (steps == BLOCK) {
                for (size_t i = first & ~(size_t)1; i < m; i += 2) {
                    pair t, si, zi;
                    memcpy(&t, &term[i], sizeof t);
                    memcpy(&si, &s[i], sizeof si);
                    memcpy(&zi, &zz[i], sizeof zi);
                    for (size_t j = 0; j < BLOCK; j++) {
                        t *= q[j] * zi;
                        si += t;
                    }
                    memcpy(&term[i], &t, sizeof t);
                    memcpy(&s[i], &si, sizeof si);
                }
            } else {
                for (size_t i = first; i < m; i++) {
                    term[i] *= q[0] * zz[i];
                    s[i] += term[i];
                }
            }
            k += steps - 1; /* the last term added is term k + 1 */
            for (size_t i = first; i < m; i++) {
                if (done[i])
                    continue;
                int r = k >= max_terms[i0 + i]
                            ? GSL_EMAXITER
                            : one_signed_check(a, b, c, k, q[steps - 1] * zz[i], zz[i],
                                               &term[i], &s[i], &one[i], &scale[i],
                                               &out[i0 + i]);
                if (r != GSL_CONTINUE) {
                    rc[i0 + i] = r;
                    done[i] = 1;
                    zz[i] = 0;
                    term[i] = 0;
                }
            }
            k++;
            while (first < m && done[first])
                first++;
        }
    }
}

/* Sums 2F1(a, b; c; z) = sum_k (a)_k (b)_k / ((c)_k k!) z^k for |z| < 1,
 * c not a non-positive integer. Returns GSL_EMAXITER if max_terms did not
 * suffice, GSL_ERANGE if a ratio is not finite. */
static int series(double a, double b, double c, double z, size_t max_terms, lval *out)
{
    if (one_signed(a, b, c)) {
        int rc;
        series_one_signed(a, b, c, &z, &max_terms, 1, out, &rc);
        return rc;
    }
    lane l;
    lane_init(&l, z, max_terms);
    for (size_t k = 0;; k++) {
        int rc = lane_step(a, b, c, k, ratio_q(a, b, c, k), &l, out);
        if (rc != GSL_CONTINUE)
            return rc;
    }
}

/* series at z[0..n) at once (the sums interleaved, each with the same
 * operations as alone): rc[i] and out[i] as series gives them. */

static void series_many(double a, double b, double c, const double *z,
                        const size_t *max_terms, size_t n, lval *out, int *rc)
{
    if (one_signed(a, b, c)) {
        series_one_signed(a, b, c, z, max_terms, n, out, rc);
        return;
    }
    for (size_t i0 = 0; i0 < n; i0 += LANES) {
        size_t m = n - i0 < LANES ? n - i0 : LANES, live[LANES], n_live = m;
        lane l[LANES];
        for (size_t i = 0; i < m; i++) {
            lane_init(&l[i], z[i0 + i], max_terms[i0 + i]);
            live[i] = i;
        }
        for (size_t k = 0; n_live > 0; k++) {
            double q = ratio_q(a, b, c, k);
            size_t kept = 0;
            for (size_t j = 0; j < n_live; j++) {
                size_t i = live[j];
                int r = lane_step(a, b, c, k, q, &l[i], &out[i0 + i]);
                if (r == GSL_CONTINUE)
                    live[kept++] = i;
                else
                    rc[i0 + i] = r;
            }
            n_live = kept;
        }
    }
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

static size_t budget_of(double z)
{
    return z <= Z_SPLIT ? SERIES_MAX_TERMS : SLOW_MAX_TERMS;
}

/* The direct series' result (rc1, *v1), then the Euler-transformed one if
 * needed; *best keeps the better. */
static void try_series(double a, double b, double c, double z, int rc1, const lval *v1,
                       lval *best)
{
    if (rc1 == GSL_SUCCESS)
        keep_better(best, v1);
    if (best->err <= ACCEPT_ERR)
        return;
    lval v;
    if (series(c - a, c - b, c, z, budget_of(z), &v) == GSL_SUCCESS) {
        double p = (c - a - b) * log1p(-z);
        v.lg += p;
        v.err += 2 * DBL_EPSILON * fabs(p);
        keep_better(best, &v);
    }
}

/* The best available evaluation given the direct series' result, without
 * the final domain checks. */
static int eval_from(double a, double b, double c, double z, int rc1, const lval *v1,
                     lval *v)
{
    lval best = {0, 0, INFINITY};
    try_series(a, b, c, z, rc1, v1, &best);
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

static int eval(double a, double b, double c, double z, lval *v)
{
    lval v1;
    int rc1 = series(a, b, c, z, budget_of(z), &v1);
    return eval_from(a, b, c, z, rc1, &v1, v);
}

/* 1 when the arguments are in the domain; *trivial when 2F1 = 1. */
static int args_ok(double a, double b, double c, double z, int *trivial)
{
    if (!isfinite(a) || !isfinite(b) || !isfinite(c) || !isfinite(z))
        return 0;
    if (c <= 0 || z < 0 || z >= 1)
        return 0;
    *trivial = z == 0 || a == 0 || b == 0;
    return 1;
}

/* The final checks of an evaluation (rc, *v) into *out and *err. */
static int finish(int rc, const lval *v, double *out, double *err)
{
    if (rc != GSL_SUCCESS)
        return rc;
    if (v->sign <= 0)
        return GSL_EDOM;
    if (!isfinite(v->lg))
        return GSL_ERANGE;
    if (v->err > MAX_ERR * fmax(1, fabs(v->lg)))
        return GSL_ELOSS;
    *out = v->lg;
    *err = v->err;
    return GSL_SUCCESS;
}

int hyp2f1_log(double a, double b, double c, double z, double *out)
{
    double err;
    return hyp2f1_log_err(a, b, c, z, out, &err);
}

int hyp2f1_log_err(double a, double b, double c, double z, double *out, double *err)
{
    int trivial;
    if (!args_ok(a, b, c, z, &trivial))
        return GSL_EDOM;
    if (trivial) {
        *out = 0;
        *err = 0;
        return GSL_SUCCESS;
    }
    lval v;
    int rc = eval(a, b, c, z, &v);
    return finish(rc, &v, out, err);
}

int hyp2f1_log_err_many(double a, double b, double c, const double *z, size_t n,
                        double *out, double *err, int *rc)
{
    size_t idx[LANES], max_terms[LANES];
    double zs[LANES];
    lval first[LANES];
    int first_rc[LANES];
    for (size_t i0 = 0; i0 < n; i0 += LANES) {
        size_t m = 0, end = n - i0 < LANES ? n : i0 + LANES;
        for (size_t i = i0; i < end; i++) {
            int trivial;
            if (!args_ok(a, b, c, z[i], &trivial)) {
                rc[i] = GSL_EDOM;
            } else if (trivial) {
                out[i] = err[i] = 0;
                rc[i] = GSL_SUCCESS;
            } else {
                idx[m] = i;
                zs[m] = z[i];
                max_terms[m++] = budget_of(z[i]);
            }
        }
        series_many(a, b, c, zs, max_terms, m, first, first_rc);
        for (size_t j = 0; j < m; j++) {
            size_t i = idx[j];
            lval v;
            int r = eval_from(a, b, c, z[i], first_rc[j], &first[j], &v);
            rc[i] = finish(r, &v, &out[i], &err[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (rc[i] != GSL_SUCCESS)
            return rc[i];
    return GSL_SUCCESS;
}
