#!/usr/bin/python3
"""High-precision reference values of BG/NBD and MBG/NBD for the C tests.

Everything is computed from the papers' formulas, untransformed, with
mpmath at mp.dps = 50 (no transformation of the C code is reused):
  BG/NBD  Fader, Hardie & Lee (2005): likelihood eq. 6, P(alive) (appendix),
          E[X(t)] eq. 9 and P(X(t)=n) eq. 8, conditional expectation eq. 10
          (mpmath.hyp2f1 on 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t)), which is
          also fine at a = 1 + 1e-7 and for negative c, i.e. a+b < 1, x = 0);
          conditional P(X(T,T+t)=n) from Fader, Hardie & Lee's note "Deriving
          the conditional PMF of the BG/NBD" (alive: survive the n purchases,
          or die at the n-th of at least n; else dead: 0 purchases).
  MBG/NBD as lifetimes' ModifiedBetaGeoFitter: likelihood with a/(b+x) and
          B(a, b+x+1), E[X(t)] = b/(a-1) (1 - (alpha/(alpha+t))^r
          2F1(r, b+1; a+b; t/(alpha+t))), conditional expectation with
          2F1(r+x, b+x+1; a+b+x; z), P(X(t)=n) as in lifetimes.
Independent checks done here (assertions): every expectation is compared
with mpmath.quad of E_p[(1 - (1 + p t/(alpha+T))^-(r+x)) / p] over the Beta
posterior of p, and with sum_n n P(n) of the pmf; sum_n P(n) = 1.

Inputs are Python floats converted to mpf exactly; they are written with
repr so the C side reads the very same doubles.

Regenerate from the repo root: /usr/bin/python3 tests/reference/bgnbd.py
(writes tests/data/ref_bgnbd.csv and tests/data/ref_mbgnbd.csv).
"""
import datetime
import sys
import mpmath
from mpmath import mp, mpf, gamma, beta, hyp2f1, log, exp, loggamma

mp.dps = 50

PARAMS = [
    (0.243, 4.414, 0.793, 2.426),      # CDNOW BG/NBD fit
    (0.525, 6.183, 0.891, 1.614),      # CDNOW MBG/NBD fit (lifetimes)
    (0.5, 3.0, 1.0000001, 2.0),        # a near 1
    (0.8, 2.0, 0.3, 0.4),              # a + b < 1
    (0.7, 5.0, 0.7, 3.0),              # r = a: c-a-b of the Euler form integer
    (0.01, 0.05, 0.02, 0.03),          # tiny
    (40.0, 200.0, 30.0, 80.0),         # large
    (1200.0, 9000.0, 700.0, 3000.0),   # huge
]
CUSTOMERS = [  # x, t_x, T
    (0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (7, 38.86, 38.86),
    (300, 200.0, 300.0), (2000, 38.0, 38.86), (0, 0.0, 0.01), (1, 0.005, 0.01),
    (3, 5000.0, 1e4), (0, 0.0, 1e4),
]
HORIZONS = [1.0, 39.0, 1e4]
NS = [0, 1, 2, 5]


def log_nb(r, al, t, j):
    """log P(j purchases in t) of the Gamma(r, al)-Poisson (NBD)."""
    return (loggamma(r + j) - loggamma(r) - loggamma(j + 1)
            + r * log(al / (al + t)) + j * log(t / (al + t)))


def nb_tail(r, al, t, n):
    """P(NBD >= n), by summing the pmf below n."""
    return 1 - mpmath.fsum(exp(log_nb(r, al, t, j)) for j in range(n))


def beta_expect(g, a, bb):
    """E[g(p)], p ~ Beta(a, bb), by mpmath.quad: breakpoints around the
    mode, and u = p^a (v = (1-p)^bb) on the end pieces when the density is
    singular there, so tanh-sinh sees smooth integrands."""
    mean = a / (a + bb)
    sd = mpmath.sqrt(a * bb / ((a + bb) ** 2 * (a + bb + 1)))
    pts = sorted(set([mpf(0), mpf(1)] + [min(max(mean + k * sd, mpf(0)), mpf(1))
                                         for k in (-40, -20, -10, -5, -2, 0, 2, 5, 10, 20, 40)]))
    dens = lambda q: q ** (a - 1) * (1 - q) ** (bb - 1)
    total = 0
    for lo, hi in zip(pts[:-1], pts[1:]):
        if lo == 0 and a < 1:
            f = lambda u: g(u ** (1 / a)) * (1 - u ** (1 / a)) ** (bb - 1) / a
            total += mpmath.quad(f, [0, hi ** a])
        elif hi == 1 and bb < 1:
            f = lambda v: g(1 - v ** (1 / bb)) * (1 - v ** (1 / bb)) ** (a - 1) / bb
            total += mpmath.quad(f, [0, (1 - lo) ** bb])
        else:
            total += mpmath.quad(lambda q: g(q) * dens(q), mpmath.linspace(lo, hi, 9))
    return total / beta(a, bb)


class Model:
    def __init__(self, modified):
        self.m = modified

    def loglik(self, p, x, tx, T):
        r, al, a, b = p
        m = self.m
        common = gamma(r + x) * al ** r / gamma(r)
        alive = beta(a, b + x + m) / beta(a, b) / (al + T) ** (r + x)
        drop = 0
        if x > 0 or m:
            drop = beta(a + 1, b + x - 1 + m) / beta(a, b) / (al + tx) ** (r + x)
        return log(common * (alive + drop))

    def p_alive(self, p, x, tx, T):
        r, al, a, b = p
        if x == 0 and not self.m:
            return mpf(1)
        return 1 / (1 + a / (b + x - 1 + self.m) * ((al + T) / (al + tx)) ** (r + x))

    def expected(self, p, x, tx, T, t):
        r, al, a, b = p
        bb = b + x + self.m          # posterior Beta(a, bb) given alive
        c = a + bb - 1
        z = t / (al + T + t)
        f = hyp2f1(r + x, bb, c, z)
        num = c / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x) * f)
        return self.p_alive(p, x, tx, T) * num

    def expected_quad(self, p, x, tx, T, t):
        r, al, a, b = p
        bb = b + x + self.m
        y = t / (al + T)
        g = lambda q: -mpmath.expm1(-(r + x) * mpmath.log1p(q * y)) / q
        return self.p_alive(p, x, tx, T) * beta_expect(g, a, bb)

    def alive_pmf(self, r, al, a, bb, t, n):
        v = beta(a, bb + n) / beta(a, bb) * exp(log_nb(r, al, t, n))
        if n > 0:
            v += beta(a + 1, bb + n - 1) / beta(a, bb) * nb_tail(r, al, t, n)
        return v

    def p_n(self, p, x, tx, T, t, n):
        r, al, a, b = p
        pa = self.p_alive(p, x, tx, T)
        v = pa * self.alive_pmf(r + x, al + T, a, b + x + self.m, t, n)
        return v + (1 - pa if n == 0 else 0)

    def expected_new(self, p, t):
        r, al, a, b = p
        z = t / (al + t)
        if self.m:
            return b / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b + 1, a + b, z))
        return (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b, a + b - 1, z))

    def p_n_new(self, p, t, n):
        r, al, a, b = p
        if self.m:
            v = (beta(a, b + n + 1) / beta(a, b) * exp(log_nb(r, al, t, n)))
            tail = nb_tail(r, al, t, n) if n > 0 else 1
            return v + beta(a + 1, b + n) / beta(a, b) * tail
        return self.alive_pmf(r, al, a, b, t, n)


def fmt(v):
    return mpmath.nstr(v, 20, min_fixed=-1, max_fixed=-1)


def check_row(model, pp, x, tx, T, t, e, worst):
    """Independent checks of the expectation and the pmf (moderate cases)."""
    if x <= 300 and t <= 39 and pp[3] + x < 1e3 and pp[0] < 100:
        q = model.expected_quad(pp, x, tx, T, t)
        worst[0] = max(worst[0], abs(q / e - 1))
        r, al, a, b = pp
        pmf = alive_pmf_list(r + x, al + T, a, b + x + model.m, t, 400)
        if 1 - mpmath.fsum(pmf) < mpf(10) ** -25:
            pa = model.p_alive(pp, x, tx, T)
            mean = pa * mpmath.fsum(n * v for n, v in enumerate(pmf))
            worst[1] = max(worst[1], abs(mean / e - 1))
            worst[2] = max(worst[2], abs(1 - mpmath.fsum(pmf)))
            for n in NS:  # the pmf the CSV gets is the same as this one
                d = model.p_n(pp, x, tx, T, t, n) - pa * pmf[n] - (1 - pa if n == 0 else 0)
                assert abs(d) < mpf(10) ** -40


def alive_pmf_list(r, al, a, bb, t, nmax):
    """The alive customer's pmf for n < nmax, from the NBD pmf and its
    running tail (the same mixture as Model.alive_pmf, built incrementally)."""
    nb = [exp(log_nb(r, al, t, j)) for j in range(nmax)]
    out, below = [], mpf(0)
    for n in range(nmax):
        v = beta(a, bb + n) / beta(a, bb) * nb[n]
        if n > 0:
            v += beta(a + 1, bb + n - 1) / beta(a, bb) * (1 - below)
        out.append(v)
        below += nb[n]
    return out


def write(model, path):
    cols = (["r", "alpha", "a", "b", "x", "t_x", "T", "t", "loglik", "p_alive",
             "expected"] + ["p_n%d" % n for n in NS] + ["expected_new"]
            + ["p_n_new%d" % n for n in NS])
    worst = [mpf(0), mpf(0), mpf(0)]
    rows = 0
    with open(path, "w") as f:
        f.write("# %s reference values: mpmath %s, mp.dps=%d, %s\n"
                % ("MBG/NBD" if model.m else "BG/NBD", mpmath.__version__, mp.dps,
                   datetime.date.today().isoformat()))
        f.write("# command: /usr/bin/python3 tests/reference/bgnbd.py (see its docstring)\n")
        f.write(",".join(cols) + "\n")
        for p in PARAMS:
            pp = tuple(mpf(v) for v in p)
            for x, tx, T in CUSTOMERS:
                for t in HORIZONS:
                    args = (mpf(x), mpf(tx), mpf(T))
                    e = model.expected(pp, *args, mpf(t))
                    check_row(model, pp, x, mpf(tx), mpf(T), mpf(t), e, worst)
                    vals = ([model.loglik(pp, *args), model.p_alive(pp, *args), e]
                            + [model.p_n(pp, *args, mpf(t), n) for n in NS]
                            + [model.expected_new(pp, mpf(t))]
                            + [model.p_n_new(pp, mpf(t), n) for n in NS])
                    f.write(",".join([repr(float(v)) for v in p + (x, tx, T, t)]
                                     + [fmt(v) for v in vals]) + "\n")
                    rows += 1
    print("%s: %d rows; independent checks: quad vs 2F1 %.2g, sum n P(n) vs 2F1 %.2g,"
          " |1 - sum P(n)| %.2g" % (path, rows, worst[0], worst[1], worst[2]))
    assert worst[0] < 1e-10 and worst[1] < 1e-12 and worst[2] < 1e-12


if __name__ == "__main__":
    write(Model(False), "tests/data/ref_bgnbd.csv")
    write(Model(True), "tests/data/ref_mbgnbd.csv")
