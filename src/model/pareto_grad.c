/* The Pareto/NBD log-likelihood summed over a pattern histogram, the fit's
 * objective: alone (loglik_sum) and with its gradient in (r, alpha, s, beta)
 * (loglik_grad).
 *
 * Each pattern's likelihood is Gamma(r+x)/Gamma(r) (A + B) with the "died
 * after t_x" part A = alive(t_x) phi(rho_tx; r+x, s) depending on (x, t_x)
 * only and the "alive at T or died after it" part B = alive(T) phi(rho_T;
 * s, r+x) on (x, T) only (pareto.c). Histograms come sorted by (x, t_x, T),
 * so A is reused while t_x repeats and B is kept in a small table per x,
 * keyed by T: a CDNOW-like histogram has far fewer distinct (x, t_x) and
 * (x, T) than patterns, and most patterns cost an exp and a log1p.
 *
 * The gradient of log phi comes from the same continued fraction as its
 * value, carried forward in three directions (b, s, rho) alongside it; in
 * the rare quadrature regions (rho < 0.05 or > 20) from a five-point
 * difference of the value (error ~1e-10 relative). */
#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/btyd.h"
#include "model/pareto.h"

#define CF_MAX_ITER 4000
#define RHO_DIRECT_LO 0.05 /* as in pareto.c: z = 1 - rho <= 0.95 */
#define RHO_DIRECT_HI 20.0
#define FD_STEP 1e-3 /* relative step of the five-point difference */
#define T_SLOTS 512  /* T parts kept per x (a power of two) */
#define T_SLOTS_MAX 384
#define SCALED_MIN 1e-250 /* the scaled parts (see sum_cache) are used */
#define SCALED_MAX 1e250  /* between these, else the logs */

/* ---- phi and its derivatives ------------------------------------------ */

/* The Gauss fraction coefficient k_n of 2F1(1, B; C; z) (partial numerator
 * -k_n z) and its partial derivatives in B and C, as N/D without divisions
 * by quantities that may vanish. */
static void cf_coef(int n, double B, double C, double *k, double *kB, double *kC)
{
    double N, NB, NC, D, DC;
    if (n & 1) {
        double m = (n - 1) / 2;
        N = (B + m) * (C - 1 + m), NB = C - 1 + m, NC = B + m;
        D = (C - 1 + 2 * m) * (C + 2 * m), DC = 2 * C - 1 + 4 * m;
    } else {
        double m = n / 2;
        N = m * (C - B - 1 + m), NB = -m, NC = m;
        D = (C - 2 + 2 * m) * (C - 1 + 2 * m), DC = 2 * C - 3 + 4 * m;
    }
    *k = N / D;
    *kB = NB / D;
    *kC = (NC - *k * DC) / D;
}

/* log 2F1(1, B; C; z) for 0 <= z <= 0.95 (modified Lentz, as in pareto.c)
 * and its derivatives g[j] along three directions in which (B, C, z) move
 * by (dB[j], dC[j], dz[j]). log f = sum of log delta, so its derivative is
 * the sum of delta'/delta; the loop stops when both value and derivatives
 * are at rounding level. */
static int cf_log_2f1_grad(double B, double C, double z, const double *dB,
                           const double *dC, const double *dz, double *logF, double *g)
{
    const double tiny = 1e-300;
    double f = 1, c = 1, d = 0, cd[3] = {0}, dd[3] = {0}, S[3] = {0};
    for (int n = 1; n <= CF_MAX_ITER; n++) {
        double k, kB, kC, ad[3];
        cf_coef(n, B, C, &k, &kB, &kC);
        double a = -k * z;
        for (int j = 0; j < 3; j++)
            ad[j] = -(z * (kB * dB[j] + kC * dC[j]) + k * dz[j]);
        double dn = 1 + a * d, cn = 1 + a / c, ddn[3], cdn[3];
        for (int j = 0; j < 3; j++) {
            ddn[j] = ad[j] * d + a * dd[j];
            cdn[j] = (ad[j] - a * cd[j] / c) / c;
        }
        if (fabs(dn) < tiny)
            dn = tiny;
        if (fabs(cn) < tiny)
            cn = tiny;
        d = 1 / dn;
        c = cn;
        double delta = c * d;
        f *= delta;
        int done = fabs(delta - 1) <= 2 * DBL_EPSILON;
        for (int j = 0; j < 3; j++) {
            double tc = cdn[j] / c, td = -ddn[j] * d;
            cd[j] = cdn[j];
            dd[j] = td * d;
            S[j] += tc + td;
            if (fabs(tc + td) > 8 * DBL_EPSILON * (fabs(S[j]) + fabs(tc) + fabs(td)))
                done = 0;
        }
        if (done) {
            if (!(f > 0) || !isfinite(f))
                return GSL_ERANGE;
            *logF = -log(f);
            for (int j = 0; j < 3; j++)
                g[j] = -S[j];
            return GSL_SUCCESS;
        }
    }
    return GSL_EMAXITER;
}

/* log phi(rho; b, s) and g = its derivatives in (b, s, rho), for
 * RHO_DIRECT_LO <= rho <= RHO_DIRECT_HI (see log_phi_direct in pareto.c). */
static int log_phi_grad_direct(double rho, double b, double s, double *out, double *g)
{
    static const double dC[3] = {1, 1, 0};
    double lF, G[3], base = log(s / (b + s));
    int rc;
    if (rho <= 1) {
        static const double dB[3] = {1, 0, 0}, dz[3] = {0, 0, -1};
        rc = cf_log_2f1_grad(b, b + s + 1, 1 - rho, dB, dC, dz, &lF, G);
    } else {
        static const double dB[3] = {0, 1, 0};
        const double dz[3] = {0, 0, 1 / (rho * rho)};
        rc = cf_log_2f1_grad(s + 1, b + s + 1, 1 - 1 / rho, dB, dC, dz, &lF, G);
        base -= log(rho);
        G[2] -= 1 / rho;
    }
    if (rc != GSL_SUCCESS)
        return rc;
    *out = base + lF;
    g[0] = G[0] - 1 / (b + s);
    g[1] = G[1] + 1 / s - 1 / (b + s);
    g[2] = G[2];
    return GSL_SUCCESS;
}

/* Five-point difference of log phi in variable j, step FD_STEP relative. */
static int log_phi_fd(const double *v, int j, double *out)
{
    static const double w[4] = {1, -8, 8, -1}, e[4] = {-2, -1, 1, 2};
    double h = FD_STEP * v[j], sum = 0;
    for (int i = 0; i < 4; i++) {
        double u[3] = {v[0], v[1], v[2]}, f;
        u[j] = v[j] + e[i] * h;
        int rc = pareto_log_phi_fast(u[2], u[0], u[1], &f);
        if (rc != GSL_SUCCESS)
            return rc;
        sum += w[i] * f;
    }
    *out = sum / (12 * h);
    return GSL_SUCCESS;
}

/* log phi(rho; b, s) and its derivatives g in (b, s, rho), everywhere. */
static int log_phi_grad(double rho, double b, double s, double *out, double *g)
{
    if (rho >= RHO_DIRECT_LO && rho <= RHO_DIRECT_HI)
        return log_phi_grad_direct(rho, b, s, out, g);
    const double v[3] = {b, s, rho};
    int rc = pareto_log_phi_fast(rho, b, s, out);
    for (int j = 0; j < 3 && rc == GSL_SUCCESS; j++)
        rc = log_phi_fd(v, j, &g[j]);
    return rc;
}

/* ---- the two parts of one likelihood ---------------------------------- */

/* log[(a/(a+u))^r (b/(b+u))^s (a+u)^-x] and, if g, its gradient. */
static double log_alive_grad(const double *p, double x, double u, double *g)
{
    double la = log1p(u / p[1]), lb = log1p(u / p[3]);
    double v = -p[0] * la - p[2] * lb;
    if (x > 0)
        v -= x * log(p[1] + u);
    if (g != NULL) {
        g[0] = -la;
        g[1] = (p[0] * u / p[1] - x) / (p[1] + u);
        g[2] = -lb;
        g[3] = p[2] * u / (p[3] * (p[3] + u));
    }
    return v;
}

/* The "died after t_x" part at u = t_x (g NULL: value only). */
static int tx_part(const double *p, double x, double t, double *out, double *g)
{
    double ia = 1 / (p[1] + t), rho = (p[3] + t) / (p[1] + t), lphi, gp[3];
    int rc = g != NULL ? log_phi_grad(rho, p[0] + x, p[2], &lphi, gp)
                       : pareto_log_phi_fast(rho, p[0] + x, p[2], &lphi);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = log_alive_grad(p, x, t, g) + lphi;
    if (g != NULL) {
        g[0] += gp[0];
        g[1] -= gp[2] * rho * ia;
        g[2] += gp[1];
        g[3] += gp[2] * ia;
    }
    return GSL_SUCCESS;
}

/* The "alive at T or died after it" part (g NULL: value only). */
static int T_part(const double *p, double x, double T, double *out, double *g)
{
    double ib = 1 / (p[3] + T), rho = (p[1] + T) / (p[3] + T), lphi, gp[3];
    int rc = g != NULL ? log_phi_grad(rho, p[2], p[0] + x, &lphi, gp)
                       : pareto_log_phi_fast(rho, p[2], p[0] + x, &lphi);
    if (rc != GSL_SUCCESS)
        return rc;
    *out = log_alive_grad(p, x, T, g) + lphi;
    if (g != NULL) {
        g[0] += gp[1];
        g[1] += gp[2] * ib;
        g[2] += gp[0];
        g[3] -= gp[2] * rho * ib;
    }
    return GSL_SUCCESS;
}

/* d/dr log Gamma(r+x)/Gamma(r) = psi(r+x) - psi(r). */
static double dlog_poch(double r, double x)
{
    if (x == floor(x) && x <= 32) {
        double s = 0;
        for (double k = 0; k < x; k++)
            s += 1 / (r + k);
        return s;
    }
    return gsl_sf_psi(r + x) - gsl_sf_psi(r);
}

/* ---- the sum over sorted patterns ------------------------------------- */

typedef struct t_slot {
    double T, log_T, lin, g[4]; /* lin = exp(log_T - scale) */
} t_slot;

/* What the last patterns shared: the x terms, the t_x part while t_x
 * repeats, and the T parts seen for this x. g parts unused without grad.
 * The parts are also kept as exp(part - scale), scale being the first part
 * computed for this x, so that most patterns need one log, not an exp and
 * a log1p. */
typedef struct sum_cache {
    double x, log_poch, dpoch; /* x = -1: nothing cached */
    double scale;              /* NaN: not set yet */
    double t_x, log_tx, lin_tx, g_tx[4];
    size_t used;
    t_slot slot[T_SLOTS];
} sum_cache;

static void cache_new_x(const double *p, double x, int grad, sum_cache *c)
{
    c->x = x;
    c->log_poch = pareto_log_poch(p[0], x);
    c->dpoch = grad ? dlog_poch(p[0], x) : 0;
    c->scale = NAN;
    c->t_x = -1;
    c->used = 0;
    for (size_t i = 0; i < T_SLOTS; i++)
        c->slot[i].T = -1;
}

/* exp(part - scale), setting the scale on the first part of an x. */
static double scaled(sum_cache *c, double part)
{
    if (isnan(c->scale))
        c->scale = part;
    return exp(part - c->scale);
}

/* The slot holding T's part, computed there if new; a scratch slot when
 * the table is full. NULL on error (*rc set). */
static const t_slot *T_lookup(const double *p, double T, int grad, sum_cache *c,
                              t_slot *scratch, int *rc)
{
    uint64_t bits;
    memcpy(&bits, &T, sizeof bits);
    size_t h = (size_t)((bits * 0x9E3779B97F4A7C15ull) >> 40) & (T_SLOTS - 1);
    while (c->slot[h].T != -1) {
        if (c->slot[h].T == T)
            return &c->slot[h];
        h = (h + 1) & (T_SLOTS - 1);
    }
    t_slot *s = c->used < T_SLOTS_MAX ? &c->slot[h] : scratch;
    *rc = T_part(p, c->x, T, &s->log_T, grad ? s->g : NULL);
    if (*rc != GSL_SUCCESS)
        return NULL;
    s->lin = scaled(c, s->log_T);
    if (s != scratch) {
        s->T = T;
        c->used++;
    }
    return s;
}

/* One pattern's log-likelihood and, if g, its gradient. */
static int pattern_term(const double *p, const btyd_pattern *q, sum_cache *c, double *ll,
                        double *g)
{
    int grad = g != NULL, rc = GSL_SUCCESS;
    if (q->x != c->x)
        cache_new_x(p, q->x, grad, c);
    if (q->t_x == q->T) {
        *ll = c->log_poch + log_alive_grad(p, q->x, q->T, g);
        if (grad)
            g[0] += c->dpoch;
        return GSL_SUCCESS;
    }
    if (q->t_x != c->t_x) {
        c->t_x = -1;
        if ((rc = tx_part(p, q->x, q->t_x, &c->log_tx, grad ? c->g_tx : NULL)))
            return rc;
        c->lin_tx = scaled(c, c->log_tx);
        c->t_x = q->t_x;
    }
    t_slot scratch;
    const t_slot *s = T_lookup(p, q->T, grad, c, &scratch, &rc);
    if (s == NULL)
        return rc;
    double a = c->lin_tx, b = s->lin;
    if (a > SCALED_MIN && b > SCALED_MIN && a < SCALED_MAX && b < SCALED_MAX) {
        double t = a + b;
        *ll = c->log_poch + c->scale + log(t);
        if (grad) {
            double it = 1 / t;
            for (int j = 0; j < 4; j++)
                g[j] = (a * c->g_tx[j] + b * s->g[j]) * it;
            g[0] += c->dpoch;
        }
        return GSL_SUCCESS;
    }
    /* far from the scale: log(e^A + e^B) and the shares of A and B */
    double d = c->log_tx - s->log_T, e = exp(-fabs(d));
    *ll = c->log_poch + fmax(c->log_tx, s->log_T) + log1p(e);
    if (grad) {
        double w_big = 1 / (1 + e), w_small = e * w_big;
        double w_tx = d >= 0 ? w_big : w_small, w_T = d >= 0 ? w_small : w_big;
        for (int j = 0; j < 4; j++)
            g[j] = w_tx * c->g_tx[j] + w_T * s->g[j];
        g[0] += c->dpoch;
    }
    return GSL_SUCCESS;
}

static int pattern_ok(const btyd_pattern *q)
{
    return isfinite(q->x) && isfinite(q->t_x) && isfinite(q->T) && q->x >= 0 &&
           q->t_x >= 0 && q->t_x <= q->T;
}

/* The sum, and the gradient when grad is not NULL. */
static int sum_patterns(const double *params, const btyd_pattern *pat, size_t n,
                        double *out, double *grad)
{
    int rc = btyd_check_domain(params, 4, 0, 0, 0);
    if (rc != GSL_SUCCESS)
        return rc;
    sum_cache cache;
    cache.x = -1;
    double sum = 0, gs[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double ll, g[4];
        if (!pattern_ok(&pat[i]))
            return GSL_EDOM;
        rc = pattern_term(params, &pat[i], &cache, &ll, grad != NULL ? g : NULL);
        if (rc != GSL_SUCCESS)
            return rc;
        sum += pat[i].weight * ll;
        if (grad != NULL)
            for (int j = 0; j < 4; j++)
                gs[j] += pat[i].weight * g[j];
    }
    if (!isfinite(sum))
        return GSL_ERANGE;
    for (int j = 0; grad != NULL && j < 4; j++)
        if (!isfinite(gs[j]))
            return GSL_ERANGE;
    *out = sum;
    if (grad != NULL)
        memcpy(grad, gs, sizeof gs);
    return GSL_SUCCESS;
}

int pareto_loglik_sum(const double *params, const btyd_pattern *pat, size_t n,
                      double *out)
{
    return sum_patterns(params, pat, n, out, NULL);
}

int pareto_loglik_grad(const double *params, const btyd_pattern *pat, size_t n,
                       double *out, double *grad)
{
    return sum_patterns(params, pat, n, out, grad);
}
