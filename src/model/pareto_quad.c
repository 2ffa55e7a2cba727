/* Adaptive Gauss-Kronrod quadrature of a function given by its logarithm,
 * with its panels on the stack: the Pareto/NBD fallbacks where closed forms
 * converge slowly or cancel. */
#include "model/pareto.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <math.h>

#define MAX_PANELS 200
#define REL_TOL 1e-14
#define REL_TOL_ACCEPT 1e-11

typedef struct panel {
    double lo, hi, value, err;
} panel;

typedef struct scaled {
    pareto_log_fn log_f;
    const void *ctx;
    double log_scale;
} scaled;

static double scaled_f(double y, void *p)
{
    const scaled *sc = p;
    double v = exp(sc->log_f(y, sc->ctx) - sc->log_scale);
    return isfinite(v) ? v : 0.0;
}

static void panel_eval(const gsl_function *f, panel *p)
{
    double resabs, resasc;
    gsl_integration_qk15(f, p->lo, p->hi, &p->value, &p->err, &resabs, &resasc);
}

static size_t worst_panel(const panel *ps, size_t n, double *total, double *err)
{
    size_t worst = 0;
    *total = 0;
    *err = 0;
    for (size_t i = 0; i < n; i++) {
        *total += ps[i].value;
        *err += ps[i].err;
        if (ps[i].err > ps[worst].err)
            worst = i;
    }
    return worst;
}

int pareto_quad_log(pareto_log_fn log_f, const void *ctx, double lo, double hi,
                    double log_scale, double *out)
{
    if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi) || !isfinite(log_scale))
        return GSL_EDOM;
    if (lo == hi)
        return GSL_ERANGE;
    scaled sc = {log_f, ctx, log_scale};
    gsl_function f = {scaled_f, &sc};
    panel ps[MAX_PANELS];
    size_t n = 1;
    ps[0] = (panel){lo, hi, 0, 0};
    panel_eval(&f, &ps[0]);
    double total, err;
    for (;;) {
        size_t w = worst_panel(ps, n, &total, &err);
        if (err <= REL_TOL * total)
            break;
        if (n == MAX_PANELS) {
            if (err <= REL_TOL_ACCEPT * total)
                break;
            return GSL_EMAXITER;
        }
        double mid = 0.5 * (ps[w].lo + ps[w].hi);
        if (!(mid > ps[w].lo && mid < ps[w].hi))
            break; /* cannot split further: keep what we have */
        ps[n] = (panel){mid, ps[w].hi, 0, 0};
        ps[w].hi = mid;
        panel_eval(&f, &ps[w]);
        panel_eval(&f, &ps[n]);
        n++;
    }
    if (!(total > 0) || !isfinite(total))
        return GSL_ERANGE;
    *out = log(total) + log_scale;
    return GSL_SUCCESS;
}

double pareto_log_add(double a, double b)
{
    if (a < b) {
        double t = a;
        a = b;
        b = t;
    }
    if (b == -INFINITY)
        return a;
    return a + log1p(exp(b - a));
}
