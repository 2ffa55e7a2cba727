#!/usr/bin/python3
"""High-precision Gamma-Gamma reference values -> tests/data/ref_gg.csv.

Independent of src/model/gg.c. The model (Fader & Hardie 2013, "The
Gamma-Gamma Model of Monetary Value"): purchase values z ~ Gamma(shape p,
rate nu), nu ~ Gamma(shape q, rate v), so x * mbar | nu ~ Gamma(p x, nu).

* loglik: log of the marginal density of mbar, as an integral over nu of
  f(mbar | nu) g(nu) by mpmath.quad (40 digits), checked against the note's
  closed form (eq. 4) to 1e-15; the closed form at 50 digits is written;
* expected_spend: the posterior mean of E[z | nu] = p / nu, as a ratio of two
  integrals over nu, checked the same way against the posterior mean,
  p (v + x mbar) / (p x + q - 1); x = 0 gives the prior mean p v / (q - 1).
Run: /usr/bin/python3 tests/reference/gg.py (python3-mpmath)."""
import csv
import os

from mpmath import mp, mpf, exp, log, loggamma, quad, inf

mp.dps = 50
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "ref_gg.csv")


def log_joint(s, p, q, v, x, m):
    """log f(mbar = m | nu) g(nu) * nu at nu = exp(s) (the Jacobian of s)."""
    nu = exp(s)
    lf = log(x) + p * x * s + (p * x - 1) * log(x * m) - nu * x * m - loggamma(p * x)
    lg = q * log(v) + (q - 1) * s - v * nu - loggamma(q)
    return lf + lg + s


def nodes(shape, rate, tail):
    """Breakpoints in s = log nu: one per standard deviation around the bulk
    of Gamma(shape, rate) (coarser ones fool mpmath.quad's error estimate),
    then doubling steps out to where the left tail, exp(tail s), and the
    right one, exp(-rate e^s), are far below 1e-40."""
    c, w = log(shape / rate), 1 / shape ** 0.5
    lo, hi = c - 100 / min(tail, 1) - 60 * w, c + 8 + 60 * w
    pts = {c + j * w for j in range(-48, 49)}
    pts |= {c - 2 ** i for i in range(0, 20)} | {c + 2 ** -i for i in range(0, 4)}
    return [lo] + sorted(t for t in pts if lo < t < hi) + [hi]


def log_integral(lfn, shape, rate, tail):
    """log of the integral of exp(lfn(s)) ds, scaled by its value at the peak
    (mpmath.quad's error test is absolute: an integrand of size 1e-190 would
    pass it at once)."""
    c = log(shape / rate)
    k = lfn(c)
    with mp.workdps(40):
        return k + log(quad(lambda s: exp(lfn(s) - k), nodes(shape, rate, tail)))


def loglik_quad(p, q, v, x, m):
    sh, rt = q + p * x, v + x * m
    return log_integral(lambda s: log_joint(s, p, q, v, x, m), sh, rt, sh)


def expected_quad(p, q, v, x, m):
    """Posterior mean of p / nu; the integrand's left tail decays like
    exp((shape - 1) s), very slowly when shape is near 1."""
    if x == 0:        # prior mean
        return exp(log_integral(
            lambda s: log(p) + q * log(v) + (q - 1) * s - v * exp(s) - loggamma(q), q, v, q - 1))
    sh, rt = q + p * x, v + x * m
    # the nu-dependent part of log_joint (the rest cancels, and is -inf at m = 0)
    post = lambda s: p * x * s - nu_x_m(s, x, m) + (q - 1) * s - v * exp(s) + s
    num = log_integral(lambda s: log(p) - s + post(s), sh, rt, sh - 1)
    den = log_integral(post, sh, rt, sh)
    return exp(num - den)


def nu_x_m(s, x, m):
    return exp(s) * x * m


def loglik_closed(p, q, v, x, m):
    return (loggamma(p * x + q) - loggamma(p * x) - loggamma(q) + q * log(v)
            + (p * x - 1) * log(m) + p * x * log(x) - (p * x + q) * log(x * m + v))


def expected_closed(p, q, v, x, m):
    return p * (v + x * m) / (p * x + q - 1)


PARAMS = {
    "cdnow": (mpf("6.25"), mpf("3.74"), mpf("15.44")),
    "tiny": (mpf("0.01"), mpf("1.001"), mpf("0.005")),
    "huge": (mpf("5000"), mpf("2000"), mpf("1e5")),
    "mixed": (mpf("0.05"), mpf("300"), mpf("2.5")),
}
CUSTOMERS = [(1, "0.01"), (1, "22.35"), (1, "10000"), (2, "11.77"), (5, "1e-6"),
             (10, "35.5"), (100, "3.3"), (1000, "250"), (1000, "1e-3")]


def fmt(v):
    return mp.nstr(mpf(v), 20, min_fixed=-5, max_fixed=5)


def main():
    rows = []
    for name, (p, q, v) in PARAMS.items():
        head = [name, fmt(p), fmt(q), fmt(v)]
        for x, ms in CUSTOMERS:
            m = mpf(ms)
            c = loglik_closed(p, q, v, x, m)
            n = loglik_quad(p, q, v, x, m)
            assert abs(n - c) < mpf(10) ** -15 * (1 + abs(c)), (name, x, ms, n, c)
            rows.append(head + ["loglik", x, ms, fmt(c)])
        for x, ms in CUSTOMERS + [(0, "0"), (3, "0")]:
            m = mpf(ms)
            c = expected_closed(p, q, v, x, m)
            n = expected_quad(p, q, v, x, m)
            assert abs(n / c - 1) < mpf(10) ** -15, (name, x, ms, n, c)
            rows.append(head + ["expected_spend", x, ms, fmt(c)])
    with open(OUT, "w", newline="") as f:
        f.write("# Gamma-Gamma reference values, 20 significant digits, mpmath at 50 digits,\n"
                "# from tests/reference/gg.py: quadrature over nu of the model's densities,\n"
                "# agreeing with the closed forms of Fader & Hardie (2013) to 1e-15.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["set", "p", "q", "v", "kind", "x", "m", "value"])
        w.writerows(rows)
    print("wrote", OUT, len(rows), "rows")


if __name__ == "__main__":
    main()
