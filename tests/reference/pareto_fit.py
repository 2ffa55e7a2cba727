#!/usr/bin/python3
"""The maximum-likelihood Pareto/NBD fit of the CDNOW calibration sample
(tests/data/cdnow_customers_summary.csv, weeks), found independently of the C
fitter: the likelihood of Fader & Hardie's note (alpha >= beta and alpha <
beta forms of A0 through mpmath.hyp2f1, mp.dps = 30) maximised by Newton's
method on the log-parameters with central-difference derivatives, started
from the published r=0.553, alpha=10.578, s=0.606, beta=11.669 (LL -9595.0).

The published beta sits slightly off the optimum (the estimates were rounded
to 3 decimals); tests/unit/test_pareto.c checks the C fit against the optimum
printed here (copied into the test by hand) and against the LL at the
published values. Run from the repository root with /usr/bin/python3.

Output (mpmath 1.2.1, 2357 customers, 1016 distinct (x, t_x, T)):
  LL at the published values: -9594.97401004098
  optimum: r=0.5532755087 alpha=10.57761224 s=0.6062135683 beta=11.66791123
  LL at the optimum: -9594.97392982686
  SE: 0.047629 0.84272 0.18728 6.211
"""
import collections
import csv
import os

import mpmath as mp

mp.mp.dps = 30
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data',
                    'cdnow_customers_summary.csv')
PUBLISHED = [0.553, 10.578, 0.606, 11.669]


def load():
    hist = collections.Counter()
    with open(DATA) as f:
        for row in csv.DictReader(f):
            hist[(float(row['frequency']), float(row['recency']), float(row['T']))] += 1
    return [(mp.mpf(x), mp.mpf(tx), mp.mpf(T), w) for (x, tx, T), w in hist.items()]


def loglik_one(r, a, s, b, x, t_x, T):
    rsx = r + s + x
    if a >= b:
        f = lambda u: mp.hyp2f1(rsx, s + 1, rsx + 1, (a - b) / (a + u)) / (a + u) ** rsx
    else:
        f = lambda u: mp.hyp2f1(rsx, r + x, rsx + 1, (b - a) / (b + u)) / (b + u) ** rsx
    a0 = f(t_x) - f(T) if t_x != T else 0
    bracket = (a + T) ** (-(r + x)) * (b + T) ** (-s) + s / rsx * a0
    return (mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(a) + s * mp.log(b)
            + mp.log(bracket))


def total(data, theta):
    r, a, s, b = [mp.exp(t) for t in theta]
    return mp.fsum(w * loglik_one(r, a, s, b, x, tx, T) for x, tx, T, w in data)


def newton(data, theta, h=mp.mpf('1e-5'), iters=6):
    n = len(theta)
    for it in range(iters):
        f0 = total(data, theta)
        g = [mp.mpf(0)] * n
        H = mp.matrix(n, n)
        fp, fm = {}, {}
        for i in range(n):
            e = [h if k == i else 0 for k in range(n)]
            fp[i] = total(data, [t + d for t, d in zip(theta, e)])
            fm[i] = total(data, [t - d for t, d in zip(theta, e)])
            g[i] = (fp[i] - fm[i]) / (2 * h)
            H[i, i] = (fp[i] - 2 * f0 + fm[i]) / h ** 2
        for i in range(n):
            for j in range(i + 1, n):
                def at(si, sj):
                    return total(data, [t + (si * h if k == i else 0)
                                        + (sj * h if k == j else 0)
                                        for k, t in enumerate(theta)])
                H[i, j] = H[j, i] = (at(1, 1) - at(1, -1) - at(-1, 1)
                                     + at(-1, -1)) / (4 * h * h)
        step = mp.lu_solve(H, mp.matrix(g))
        theta = [t - step[i] for i, t in enumerate(theta)]
        gn = max(abs(v) for v in g)
        print('iter %d  LL %s  |grad| %s' % (it, mp.nstr(f0, 15), mp.nstr(gn, 3)))
        if gn < 1e-9:
            break
    return theta, H


def main():
    data = load()
    print('%d customers, %d distinct (x, t_x, T)' % (sum(d[3] for d in data), len(data)))
    pub = total(data, [mp.log(v) for v in PUBLISHED])
    print('LL at the published values: %s' % mp.nstr(pub, 15))
    theta, H = newton(data, [mp.log(v) for v in PUBLISHED])
    p = [mp.exp(t) for t in theta]
    print('optimum: r=%s alpha=%s s=%s beta=%s' % tuple(mp.nstr(v, 10) for v in p))
    print('LL at the optimum: %s' % mp.nstr(total(data, theta), 15))
    # standard errors: delta method from the log-scale Hessian
    cov = -H ** -1
    print('SE: ' + ' '.join(mp.nstr(p[i] * mp.sqrt(cov[i, i]), 5) for i in range(4)))


if __name__ == '__main__':
    main()
