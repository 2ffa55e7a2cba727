#!/usr/bin/python3
"""High-precision reference values for the Pareto/NBD model (src/model/pareto*.c).

Writes tests/data/ref_pareto.csv (func,r,alpha,s,beta,x,t_x,T,t,n,value), read
by tests/unit/test_pareto.c. Run from the repository root with
/usr/bin/python3 (Debian python3-mpmath), mp.dps = 50.

Provenance: every value comes from the published closed forms, evaluated
with mpmath, by routes independent of the C code (which uses a continued
fraction of 2F1(1, B; C; z) and Gauss-Kronrod quadrature in log space):
  * log-likelihood and P(alive): Fader & Hardie, "A Note on Deriving the
    Pareto/NBD Model and Related Expressions" (2005), eq. for L with the
    alpha >= beta and alpha < beta forms of A0 through mpmath.hyp2f1, checked
    against mpmath.quad of the death-time integral
    (s/(r+s+x)) A0 = int_{t_x}^T s (alpha+u)^-(r+x) (beta+u)^-(s+1) du;
  * E[X(T, T+t) | x, t_x, T] (Schmittlein, Morrison & Colombo 1987; the note
    above), with its s -> 1 limit (r+x)(beta+T)/(alpha+T) log((beta+T+t)/(beta+T));
  * E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)];
  * P(X(T, T+t) = n | ...) = [n=0](1 - P(alive)) + P(alive) U(n), U the
    unconditional PMF under the posterior (r+x, alpha+T, s, beta+T), here as
    U(n) = P(N >= n) - P(N >= n+1) from the n-th purchase time:
    P(N(t) >= n) = int_0^t Gamma(r+n)/(Gamma(r)Gamma(n)) alpha^r s^(n-1)
                   (alpha+s)^-(r+n) (beta/(beta+s))^s ds
    (the C code integrates over the death time instead), checked by
    sum_n U(n) = 1 and sum_n n U(n) = E[X] from the closed form.
"""
import csv
import os
import sys

import mpmath as mp

mp.mp.dps = 50
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data',
                   'ref_pareto.csv')

PARAMS = [
    ('cdnow', 0.553, 10.578, 0.606, 11.669),      # published fit, alpha < beta
    ('a_gt_b', 0.8, 15.0, 0.4, 5.0),
    ('a_eq_b', 1.2, 8.0, 0.7, 8.0),
    ('s_one', 0.553, 10.578, 1.0, 11.669),
    ('s_near1', 0.553, 10.578, 1.0 + 1e-7, 11.669),
    ('s_big', 3.0, 2.0, 25.0, 400.0),
    ('tiny', 1e-4, 1e-4, 1e-4, 1e-4),
    ('huge', 1e4, 1e4, 1e4, 1e4),
    ('a_huge_b_tiny', 0.05, 1e4, 0.3, 1e-3),       # rho = 1e-7 at t_x = 0
    ('a_tiny_b_huge', 2.0, 1e-3, 0.3, 1e4),
]
CUSTOMERS = [  # x, t_x, T, t
    (0, 0.0, 38.86, 39.0),
    (1, 1.71, 38.86, 39.0),
    (2, 30.43, 38.86, 39.0),
    (300, 30.0, 38.86, 39.0),
    (2000, 38.0, 39.0, 52.0),
    (5, 39.0, 39.0, 39.0),          # t_x = T
    (0, 0.0, 1e-3, 1.0),            # T tiny
    (3, 5e-4, 1e-3, 1.0),
    (50, 9000.0, 1e4, 1e4),         # long history, long horizon
    (1, 2.0, 1e4, 1e4),
]
PMF_N = [0, 1, 2, 5]
NEW_T = [1e-3, 1.0, 39.0, 1e4]


def mpf(v):
    return mp.mpf(v)   # the exact binary value of the double the C code sees


def split_points(lo, hi, centre, width):
    """Breakpoints for mp.quad: centre +- width 2^k, so that tanh-sinh sees
    peaks and fast decays on every scale."""
    pts = {lo, hi}
    if lo < centre < hi:
        pts.add(centre)
    for k in range(-20, 200):
        d = width * mp.mpf(2) ** k
        if d > hi - lo:
            break
        for p in (centre - d, centre + d):
            if lo < p < hi:
                pts.add(p)
    return sorted(pts)


def a0_hyp(r, a, s, b, x, t_x, T):
    """(s/(r+s+x)) A0 by Fader & Hardie's two forms."""
    rsx = r + s + x
    if a >= b:
        f = lambda u: mp.hyp2f1(rsx, s + 1, rsx + 1, (a - b) / (a + u),
                                maxterms=10**6) / (a + u) ** rsx
    else:
        f = lambda u: mp.hyp2f1(rsx, r + x, rsx + 1, (b - a) / (b + u),
                                maxterms=10**6) / (b + u) ** rsx
    return s / rsx * (f(t_x) - f(T))


def a0_quad(r, a, s, b, x, t_x, T):
    if t_x == T:
        return mp.mpf(0)
    g = lambda u: s * (a + u) ** (-(r + x)) * (b + u) ** (-(s + 1))
    width = min((a + t_x) / (r + x + s + 1), (b + t_x) / (s + 1), T - t_x)
    # mp.quad stops on an absolute error: integrate g relative to its maximum
    top = g(t_x)
    return top * mp.quad(lambda u: g(u) / top, split_points(t_x, T, t_x, width))


def a0(r, a, s, b, x, t_x, T):
    q = a0_quad(r, a, s, b, x, t_x, T)
    try:
        with mp.workdps(80):
            h = a0_hyp(r, a, s, b, x, t_x, T)
    except Exception as e:  # mpmath gives up near z = 1 at integer s
        print('  hyp2f1 failed (%s), quad only' % type(e).__name__, file=sys.stderr)
        return q
    if q == 0:
        assert abs(h) < mp.mpf(10) ** -40 * abs(f0(r, a, s, b, x, T)), (h,)
        return q
    rel = abs(h - q) / abs(q)
    assert rel < mp.mpf(10) ** -25, (r, a, s, b, x, t_x, T, h, q)
    return h


def f0(r, a, s, b, x, T):
    return (a + T) ** (-(r + x)) * (b + T) ** (-s)


def loglik_palive(r, a, s, b, x, t_x, T):
    alive = f0(r, a, s, b, x, T)
    bracket = alive + a0(r, a, s, b, x, t_x, T)
    lconst = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(a) + s * mp.log(b)
    return lconst + mp.log(bracket), alive / bracket


def growth(s, c, t):
    """[1 - (c/(c+t))^(s-1)] / (s-1), and its limit at s = 1."""
    if s == 1:
        return mp.log((c + t) / c)
    return (1 - (c / (c + t)) ** (s - 1)) / (s - 1)


def expected(r, a, s, b, x, T, t, p_alive):
    return p_alive * (r + x) / (a + T) * (b + T) * growth(s, b + T, t)


def p_at_least(r, a, s, b, t, n):
    """P(N(t) >= n) for a customer with prior (r, a, s, b), n >= 1."""
    if n == 0:
        return mp.mpf(1)
    c = mp.exp(mp.loggamma(r + n) - mp.loggamma(r) - mp.loggamma(n))
    g = lambda u: c * (a / (a + u)) ** r * (u / (a + u)) ** (n - 1) / (a + u) \
        * (b / (b + u)) ** s
    # the mode of g: the positive root of a quadratic, and g's width there
    A = r + s + 1
    B = (n - 1) * (a + b) - (r + n) * b - s * a
    C = (n - 1) * a * b
    mode = (B + mp.sqrt(B * B + 4 * A * C)) / (2 * A) if n > 1 else mp.mpf(0)
    if mode > 0:
        curv = (n - 1) / mode ** 2 - (r + n) / (a + mode) ** 2 - s / (b + mode) ** 2
        width = 1 / mp.sqrt(abs(curv))
    else:
        width = 1 / ((r + n) / a + s / b)
    centre = min(mode, t)
    top = g(centre) if centre > 0 else g(min(width, t) / 2)
    return top * mp.quad(lambda u: g(u) / top,
                         split_points(mp.mpf(0), t, centre, min(width, t)))


def pmf_uncond(r, a, s, b, t, n):
    return p_at_least(r, a, s, b, t, n) - p_at_least(r, a, s, b, t, n + 1)


def check_pmf(r, a, s, b, t):
    """Sum and mean of U: the closed-form E[X(t)] checks the integrals."""
    mean = r * b / a * growth(s, b, t)
    if mean > 20:
        return
    tot, m = mp.mpf(0), mp.mpf(0)
    n = 0
    while True:
        u = pmf_uncond(r, a, s, b, t, n)
        tot += u
        m += n * u
        n += 1
        if n > 10 and u < mp.mpf(10) ** -30 or n > 400:
            break
    tail_ok = n <= 400
    if tail_ok:
        assert abs(tot - 1) < 1e-20, tot
        assert abs(m - mean) < 1e-15 * (1 + mean), (m, mean)


def fmt(v):
    return mp.nstr(v, 20, min_fixed=-1, max_fixed=-1) if v != 0 else '0'


def main():
    rows = []
    for name, *pf in PARAMS:
        r, a, s, b = [mpf(v) for v in pf]
        print(name, file=sys.stderr)
        for x, t_x, T, t in CUSTOMERS:
            xm, txm, Tm, tm = mpf(x), mpf(t_x), mpf(T), mpf(t)
            key = pf + [x, t_x, T, t]
            ll, pa = loglik_palive(r, a, s, b, xm, txm, Tm)
            rows.append(['loglik'] + key + [0, fmt(ll)])
            rows.append(['p_alive'] + key + [0, fmt(pa)])
            e = expected(r, a, s, b, xm, Tm, tm, pa)
            rows.append(['expected'] + key + [0, fmt(e)])
            post = (r + xm, a + Tm, s, b + Tm)
            for n in PMF_N:
                u = pmf_uncond(*post, tm, n)
                v = pa * u + ((1 - pa) if n == 0 else 0)
                rows.append(['p_n'] + key + [n, fmt(v)])
        for t in NEW_T:
            tm = mpf(t)
            key = pf + [0, 0, 0, t]
            rows.append(['expected_new'] + key + [0, fmt(r * b / a * growth(s, b, tm))])
            for n in PMF_N:
                rows.append(['p_n_new'] + key + [n, fmt(pmf_uncond(r, a, s, b, tm, n))])
        if name in ('cdnow', 'a_gt_b', 'a_eq_b', 's_one', 'tiny'):
            check_pmf(r, a, s, b, mpf(39.0))
    with open(OUT, 'w', newline='') as f:
        f.write('# Pareto/NBD reference values: tests/reference/pareto.py, '
                'mpmath %s, dps 50 (closed forms of Fader & Hardie; see the '
                'script)\n' % mp.__version__)
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['func', 'r', 'alpha', 's', 'beta', 'x', 't_x', 'T', 't', 'n',
                    'value'])
        for row in rows:
            w.writerow([repr(v) if isinstance(v, float) else v for v in row])
    print('wrote %d values to %s' % (len(rows), os.path.relpath(OUT)), file=sys.stderr)


if __name__ == '__main__':
    main()
