/* The first step by which P(a purchase) reaches a target (next_purchase.h).
 *
 * Given the history, the customer is dead (no purchase ever again) or alive
 * with the posterior of the rates; so P(any in t) = P(alive) (1 - U(t)),
 * where U(t) is P(no purchase in t) of an alive customer. U is closed form
 * for BG/NBD and MBG/NBD (deaths happen only at purchases, so no purchase
 * means a Poisson process with lambda ~ Gamma(r+x, alpha+T) saw nothing)
 * and a new customer's p_n(0) at the posterior parameters for Pareto/NBD;
 * other models evaluate p_n itself. P(any) grows with t, so bisection
 * works; the final check uses p_n so the answer agrees with the model. */
#include "model/next_purchase.h"

#include <gsl/gsl_errno.h>
#include <math.h>

#include "model/next_purchase_impl.h"
#include "model/pareto.h"

typedef struct curve {
    const btyd_model *m;
    const double *params;
    double x, t_x, T, step;
    double p_alive;
    int fast; /* 0: p_n; 1: BG/NBD closed form; 2: Pareto/NBD posterior */
    np_pareto pareto;
} curve;

/* P(any in k steps) by the model's p_n. */
static int exact(const curve *c, unsigned k, double *out)
{
    return btyd_p_any(c->m, c->params, c->x, c->t_x, c->T, k * c->step, out);
}

/* P(any in k steps) by the cheap form. */
static int cheap(const curve *c, unsigned k, double *out)
{
    double t = k * c->step, u;
    if (c->fast == 0)
        return exact(c, k, out);
    if (c->fast == 1) {
        u = exp(-(c->params[0] + c->x) * log1p(t / (c->params[1] + c->T)));
    } else {
        u = np_pareto_silent(&c->pareto, t);
    }
    return btyd_finite_out(fmin(1, fmax(0, c->p_alive * (1 - u))), out);
}

/* Smallest k in (lo, hi] with f(k) >= target, knowing f(lo) < target <=
 * f(hi). */
static int bisect(const curve *c, int (*f)(const curve *, unsigned, double *),
                  unsigned lo, unsigned hi, double target, unsigned *out)
{
    while (hi - lo > 1) {
        unsigned mid = lo + (hi - lo) / 2;
        double p;
        int rc = f(c, mid, &p);
        if (rc != GSL_SUCCESS)
            return rc;
        if (p >= target)
            hi = mid;
        else
            lo = mid;
    }
    *out = hi;
    return GSL_SUCCESS;
}

/* Whether k is the answer by p_n: f(k) >= target > f(k - 1). */
static int check(const curve *c, unsigned k, double target, int *ok)
{
    double p, q = 0;
    int rc = exact(c, k, &p);
    if (rc == GSL_SUCCESS && k > 1)
        rc = exact(c, k - 1, &q);
    if (rc == GSL_SUCCESS)
        *ok = p >= target && q < target;
    return rc;
}

static void set_fast(curve *c, unsigned max_steps)
{
    c->fast = 0;
    if (c->m == &bgnbd_model || c->m == &mbgnbd_model) {
        c->fast = 1;
    } else if (c->m == &pareto_model) {
        c->fast = 2;
        np_pareto_init(&c->pareto, c->params, c->x, c->T, max_steps * c->step);
    }
}

int btyd_next_purchase_steps(const btyd_model *m, const double *params, double x,
                             double t_x, double T, double step, unsigned max_steps,
                             double target, unsigned *steps)
{
    if (!(step > 0) || !isfinite(step) || max_steps < 1 || !(target > 0) || !(target < 1))
        return GSL_EDOM;
    curve c = {.m = m, .params = params, .x = x, .t_x = t_x, .T = T, .step = step};
    int rc = m->p_alive(params, x, t_x, T, &c.p_alive);
    if (rc != GSL_SUCCESS)
        return rc;
    double p;
    unsigned k = 0;
    if (c.p_alive < target) { /* P(any) <= P(alive): never */
        *steps = 0;
        return GSL_SUCCESS;
    }
    set_fast(&c, max_steps);
    if ((rc = cheap(&c, max_steps, &p)) != GSL_SUCCESS)
        return rc;
    if (p >= target && (rc = bisect(&c, cheap, 0, max_steps, target, &k)) != GSL_SUCCESS)
        return rc;
    /* Pareto/NBD's p_n costs a quadrature (30 us): its cheap form is the
     * same sum, to about 1e-13, and is trusted */
    int ok = c.fast == 2;
    if (!ok && k > 0 && (rc = check(&c, k, target, &ok)) != GSL_SUCCESS)
        return rc;
    if (!ok) { /* the cheap form disagrees at the edge: p_n decides */
        if ((rc = exact(&c, max_steps, &p)) != GSL_SUCCESS)
            return rc;
        k = 0;
        if (p >= target &&
            (rc = bisect(&c, exact, 0, max_steps, target, &k)) != GSL_SUCCESS)
            return rc;
    }
    *steps = k;
    return GSL_SUCCESS;
}
