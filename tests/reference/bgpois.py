#!/usr/bin/python3
"""High-precision bgpois reference values -> tests/data/ref_bgpois.csv.

Independent of src/model/bgpois.c, from the model itself (BG/NBD of Fader,
Hardie & Lee 2005 with one purchase rate lambda for every customer, the
limit r, alpha -> infinity, r/alpha = lambda): purchases of a live customer
are a Poisson process of rate lambda; after each repeat purchase the
customer drops out with probability p ~ Beta(a, b).

* loglik: the two scenarios (alive at T; dropped out at the last purchase)
  with mpmath Beta functions at 40 digits;
* p_alive: their ratio;
* expected, expected_new: E[Y(t)] = P(alive) E[(1 - e^(-lambda p t))/p] over
  p ~ Beta(a, b + x), computed two ways and required to agree to 1e-25:
  mpmath.quad of the Beta integral, and the closed form
  (c-1)/(a-1) (1 - 1F1(a-1; c-1; -lambda t)), c = a + b + x (a != 1);
* p_n, p_n_new: P(Y(t) = k) from Beta moments and Poisson tails, checked
  against the sum over k reproducing expected (k up to 400 + 3 lambda t).
Run: /usr/bin/python3 tests/reference/bgpois.py (python3-mpmath)."""
import os

import mpmath
from mpmath import mp, mpf, beta, exp, log, quad, hyp1f1, expm1, gammainc, factorial

mp.dps = 40

PARAMS = [(mpf("0.5"), mpf("1.2"), mpf("4")), (mpf("0.05"), mpf("0.7"), mpf("2.5")),
          (mpf("2"), mpf("3"), mpf("0.8"))]
CUSTOMERS = [(0, 0, 10), (1, 2, 10), (4, mpf("9.5"), 30), (12, 20, 21), (40, 39, 52)]
HORIZONS = [mpf("0.5"), 4, 26, 156]


def loglik(par, x, t_x, T):
    lam, a, b = par
    alive = beta(a, b + x) / beta(a, b) * exp(-lam * T)
    dead = beta(a + 1, b + x - 1) / beta(a, b) * exp(-lam * t_x) if x > 0 else 0
    return x * log(lam) + log(alive + dead)


def p_alive(par, x, t_x, T):
    lam, a, b = par
    if x == 0:
        return mpf(1)
    return 1 / (1 + a / (b + x - 1) * exp(lam * (T - t_x)))


def stopped(lam, a, b, t):
    """E[(1 - e^(-lam p t))/p], p ~ Beta(a, b), two ways."""
    s = lam * t
    f = lambda q: -expm1(-s * q) / q * q ** (a - 1) * (1 - q) ** (b - 1)
    v = quad(f, [0, mpf("0.5"), 1]) / beta(a, b)
    if a != 1:
        c = a + b
        w = (c - 1) / (a - 1) * (1 - hyp1f1(a - 1, c - 1, -s))
        assert abs(v - w) <= mpf("1e-25") * abs(w), (v, w)
    return v


def p_n_alive(par, b, t, k):
    lam, a, _ = par
    s = lam * t
    pois = exp(-s) * s ** k / factorial(k)
    survive = beta(a, b + k) / beta(a, b) * pois
    if k == 0:
        return survive
    tail = gammainc(k, 0, s, regularized=True)  # P(N(t) >= k)
    return survive + beta(a + 1, b + k - 1) / beta(a, b) * tail


def main():
    rows = []
    for par in PARAMS:
        lam, a, b = par
        for x, t_x, T in CUSTOMERS:
            rows.append((par, "loglik", x, t_x, T, 0, 0, loglik(par, x, t_x, T)))
            pa = p_alive(par, x, t_x, T)
            rows.append((par, "p_alive", x, t_x, T, 0, 0, pa))
            for t in HORIZONS:
                e = pa * stopped(lam, a, b + x, t)
                rows.append((par, "expected", x, t_x, T, t, 0, e))
                total = mpf(0)
                for k in range(400 + int(3 * lam * t)):
                    pk = pa * p_n_alive(par, b + x, t, k) + (1 - pa if k == 0 else 0)
                    total += k * pk
                    if k < 4:
                        rows.append((par, "p_n", x, t_x, T, t, k, pk))
                assert abs(total - e) <= mpf("1e-20") * (1 + e), (total, e)
        for t in HORIZONS:
            rows.append((par, "expected_new", 0, 0, 0, t, 0, stopped(lam, a, b, t)))
            for k in range(4):
                rows.append((par, "p_n_new", 0, 0, 0, t, k, p_n_alive(par, b, t, k)))
    out = os.path.join(os.path.dirname(__file__), "..", "data", "ref_bgpois.csv")
    with open(out, "w") as f:
        f.write("# bgpois reference values, 20 significant digits, mpmath %s at 40 digits,\n"
                "# from tests/reference/bgpois.py (see the script).\n"
                "# lambda,a,b,kind,x,t_x,T,t,k,value\n" % mpmath.__version__)
        for par, kind, x, t_x, T, t, k, v in rows:
            f.write("%s,%s,%s,%s,%s,%s,%s,%s,%d,%s\n" % (
                mpmath.nstr(par[0], 20), mpmath.nstr(par[1], 20), mpmath.nstr(par[2], 20),
                kind, x, mpmath.nstr(mpf(t_x), 20), T, mpmath.nstr(mpf(t), 20), k,
                mpmath.nstr(v, 20)))
    print("%d rows -> %s" % (len(rows), out))


main()
