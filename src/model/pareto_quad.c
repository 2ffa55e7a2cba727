/* Adaptive Gauss-Kronrod quadrature of a function given by its logarithm,
 * with its panels on the stack: the Pareto/NBD fallbacks where closed forms
 * converge slowly or cancel. */
#include "model/pareto.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <math.h>

#define MAX_PANELS 400
#define REL_TOL 2e-13 /* qk15 never estimates below 50 eps per panel */
#define REL_TOL_ACCEPT 1e-10

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

/* The width over which log_f falls by about one near its peak: 1/|slope| at
 * an end of the interval, 1/sqrt(|curvature|) inside, by finite differences. */
static double peak_width(pareto_log_fn log_f, const void *ctx, double lo, double hi,
                         double peak, double top)
{
    double h = 1e-7 * (hi - lo) + 1e-12 * fabs(peak), w;
    if (peak - h <= lo || peak + h >= hi) {
        double dir = peak - h <= lo ? 1 : -1;
        w = h / fabs(log_f(peak + dir * h, ctx) - top);
    } else {
        double d2 = log_f(peak + h, ctx) - 2 * top + log_f(peak - h, ctx);
        w = h / sqrt(fabs(d2));
    }
    return isfinite(w) && w > 0 ? fmin(w, hi - lo) : hi - lo;
}

/* Initial panels of widths w, 2w, 4w, ... outward from the peak, so that a
 * narrow peak is seen whatever the length of the interval. */
static size_t initial_panels(double lo, double hi, double peak, double w, panel *ps)
{
    size_t n = 0;
    for (double a = peak, d = w; a < hi && n < MAX_PANELS / 2; d *= 2) {
        double b = hi - a <= d || n + 1 == MAX_PANELS / 2 ? hi : a + d;
        ps[n++] = (panel){a, b, 0, 0};
        a = b;
    }
    for (double b = peak, d = w; b > lo && n < MAX_PANELS - 1; d *= 2) {
        double a = b - lo <= d || n + 2 == MAX_PANELS ? lo : b - d;
        ps[n++] = (panel){a, b, 0, 0};
        b = a;
    }
    return n;
}

int pareto_quad_log(pareto_log_fn log_f, const void *ctx, double lo, double hi,
                    double peak, double *out)
{
    if (!(lo < hi) || !isfinite(lo) || !isfinite(hi) || !(peak >= lo && peak <= hi))
        return GSL_EDOM;
    double top = log_f(peak, ctx);
    if (!isfinite(top))
        return GSL_EDOM;
    scaled sc = {log_f, ctx, top};
    gsl_function f = {scaled_f, &sc};
    panel ps[MAX_PANELS];
    size_t n =
        initial_panels(lo, hi, peak, peak_width(log_f, ctx, lo, hi, peak, top), ps);
    for (size_t i = 0; i < n; i++)
        panel_eval(&f, &ps[i]);
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
    *out = log(total) + top;
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
