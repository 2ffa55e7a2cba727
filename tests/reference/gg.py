#!/usr/bin/python3
"""High-precision Gamma-Gamma reference values -> tests/data/ref_gg.csv.

Independent of src/model/gg.c. The model (Fader & Hardie 2013, "The
Gamma-Gamma Model of Monetary Value"): purchase values z ~ Gamma(shape p,
rate nu), nu ~ Gamma(shape q, rate v), so x * mbar | nu ~ Gamma(p x, nu).

* loglik: log of the marginal density of mbar, as an integral over nu of
  f(mbar | nu) g(nu) by mpmath.quad (50 digits), checked against the note's
  closed form (eq. 4) to 1e-30, which is what is written;
* expected_spend: the posterior mean of E[z | nu] = p / nu, as a ratio of two
  integrals over nu, checked the same way against the note's eq. 5,
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


def integral(fn, p, q, v, x, m):
    shape, rate = q + p * x, v + x * m
    c, w = log(shape / rate), 1 / shape ** 0.5
    pts = [-inf] + [c + j * w for j in range(-48, 49, 4)] + [inf]
    return quad(fn, pts)


def loglik_quad(p, q, v, x, m):
    return log(integral(lambda s: exp(log_joint(s, p, q, v, x, m)), p, q, v, x, m))


def expected_quad(p, q, v, x, m):
    if x == 0:        # prior mean of p / nu
        shape, rate = q, v
        num = quad(lambda s: p * exp(-s) * exp(q * log(v) + q * s - v * exp(s) - loggamma(q)),
                   [-inf] + [log(shape / rate) + j / shape ** 0.5 for j in range(-48, 49, 4)]
                   + [inf])
        return num
    num = integral(lambda s: p * exp(-s) * exp(log_joint(s, p, q, v, x, m)), p, q, v, x, m)
    den = integral(lambda s: exp(log_joint(s, p, q, v, x, m)), p, q, v, x, m)
    return num / den


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
            assert abs(n - c) < mpf(10) ** -30 * (1 + abs(c)), (name, x, ms, n, c)
            rows.append(head + ["loglik", x, ms, fmt(c)])
        for x, ms in CUSTOMERS + [(0, "0"), (3, "0")]:
            m = mpf(ms)
            c = expected_closed(p, q, v, x, m)
            n = expected_quad(p, q, v, x, m)
            assert abs(n / c - 1) < mpf(10) ** -30, (name, x, ms, n, c)
            rows.append(head + ["expected_spend", x, ms, fmt(c)])
    with open(OUT, "w", newline="") as f:
        f.write("# Gamma-Gamma reference values, 20 significant digits, mpmath at 50 digits,\n"
                "# from tests/reference/gg.py: quadrature over nu of the model's densities,\n"
                "# agreeing with the closed forms of Fader & Hardie (2013) to 1e-30.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["set", "p", "q", "v", "kind", "x", "m", "value"])
        w.writerows(rows)
    print("wrote", OUT, len(rows), "rows")


if __name__ == "__main__":
    main()
