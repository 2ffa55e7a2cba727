#!/usr/bin/python3
"""The maximum-likelihood fits of BG/NBD and Pareto/NBD with a channel
covariate on tests/data/covariates_summary.csv and covariates_channels.csv
(weeks; written by covariates_data.py), found independently of the C code:
CLVTools' parameterisation (docs/covariates.md) with dummies for email and
social against web (fax, 20 customers, is below the minimum of 30 and joins
the baseline), each group's likelihood written out from Fader, Hardie & Lee
(2005) for BG/NBD and from Fader & Hardie's note (A0 through mpmath.hyp2f1,
both forms) for Pareto/NBD, mp.dps = 25, maximised by Newton's method with
step halving on (log r, log alpha, log a|s, log b|beta, gammas) with
central-difference derivatives. BG/NBD starts from the simulation's truth,
Pareto/NBD from a rounded point near the optimum. tests/unit/test_covariates.c
checks the C optimum against the values printed here (copied by hand).
Run from the repository root with /usr/bin/python3 (a few minutes).

Output (mpmath 1.2.1; 3000 customers; params in the order r, alpha, a|s,
b|beta, gamma_purchase email, social, gamma_dropout email, social):
bgnbd (4 Newton steps, |grad| 5.7e-15)
  params: 0.244495247008 4.52912929939 0.971803190463 2.85702446663 0.630831009084 -0.247353648088 0.584013744608 -0.188006275839
  se:     0.0109551 0.403137 0.290379 0.953931 0.106569 0.134634 0.413312 0.611352
  LL:     -12608.0354810949
pareto (4 Newton steps, |grad| 2.3e-15)
  params: 0.587061072255 11.830898164 0.943761435988 21.3716969479 0.512124258967 -0.17585429037 0.23487016082 -0.0992269351104
  se:     0.0433345 0.913579 0.365885 12.6508 0.0830768 0.112774 0.152056 0.241637
  LL:     -12648.81226816
"""
import collections
import csv
import os
import sys

import mpmath as mp

mp.mp.dps = 25
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data')
DUMMIES = ['email', 'social']  # web and fax: the baseline


def load():
    with open(os.path.join(DATA, 'covariates_channels.csv')) as f:
        channel = {row['customer_id']: row['channel'] for row in csv.DictReader(f)}
    groups = collections.defaultdict(collections.Counter)
    with open(os.path.join(DATA, 'covariates_summary.csv')) as f:
        for row in csv.DictReader(f):
            ch = channel[row['customer_id']]
            z = tuple(1 if ch == d else 0 for d in DUMMIES)
            groups[z][(int(row['frequency']), int(row['recency']), int(row['T']))] += 1
    return groups


def bgnbd_group(r, alpha, a, b, pats):
    s = 0
    lb = mp.log(mp.beta(a, b))
    for (x, tx, T), w in pats.items():
        ll = (mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha)
              + mp.log(mp.beta(a, b + x)) - lb - (r + x) * mp.log(alpha + T))
        if x > 0:
            ll += mp.log(1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
        s += w * ll
    return s


def pareto_group(r, a, s, b, pats):
    memo = {}

    def f(x, u):
        if (x, u) not in memo:
            rsx = r + s + x
            if a >= b:
                v = mp.hyp2f1(rsx, s + 1, rsx + 1, (a - b) / (a + u)) / (a + u) ** rsx
            else:
                v = mp.hyp2f1(rsx, r + x, rsx + 1, (b - a) / (b + u)) / (b + u) ** rsx
            memo[(x, u)] = v
        return memo[(x, u)]

    tot = 0
    for (x, tx, T), w in pats.items():
        rsx = r + s + x
        a0 = f(x, tx) - f(x, T) if tx != T else 0
        bracket = (a + T) ** (-(r + x)) * (b + T) ** (-s) + s / rsx * a0
        tot += w * (mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(a) + s * mp.log(b)
                    + mp.log(bracket))
    return tot


def total(model, groups, theta):
    p = [mp.exp(t) for t in theta[:4]]
    gt, gl = theta[4:6], theta[6:8]
    tot = 0
    for z, pats in groups.items():
        et = mp.exp(-sum(g * zi for g, zi in zip(gt, z)))
        el = mp.exp(sum(g * zi for g, zi in zip(gl, z)))
        if model == 'bgnbd':
            tot += bgnbd_group(p[0], p[1] * et, p[2] * el, p[3] * el, pats)
        else:
            tot += pareto_group(p[0], p[1] * et, p[2], p[3] / el, pats)
    return tot


def derivatives(model, groups, theta, h):
    n = len(theta)
    f0 = total(model, groups, theta)
    g, H = [mp.mpf(0)] * n, mp.matrix(n, n)

    def at(steps):
        return total(model, groups, [t + h * steps.get(k, 0) for k, t in enumerate(theta)])

    for i in range(n):
        fp, fm = at({i: 1}), at({i: -1})
        g[i] = (fp - fm) / (2 * h)
        H[i, i] = (fp - 2 * f0 + fm) / h ** 2
    for i in range(n):
        for j in range(i + 1, n):
            H[i, j] = H[j, i] = (at({i: 1, j: 1}) - at({i: 1, j: -1}) - at({i: -1, j: 1})
                                 + at({i: -1, j: -1})) / (4 * h * h)
    return f0, g, H


def newton(model, groups, theta, h=mp.mpf('1e-6'), iters=30):
    for it in range(iters):
        f0, g, H = derivatives(model, groups, theta, h)
        gn = max(abs(v) for v in g)
        print('  iter %d  LL %s  |grad| %s' % (it, mp.nstr(f0, 15), mp.nstr(gn, 3)),
              flush=True)
        if gn < 1e-7:
            break
        step = mp.lu_solve(H, mp.matrix(g))
        lam = mp.mpf(1)
        while lam > 1e-6:
            trial = [t - lam * step[i] for i, t in enumerate(theta)]
            try:
                if total(model, groups, trial) >= f0:
                    break
            except (ValueError, ZeroDivisionError):
                pass
            lam /= 2
        theta = trial
    return theta, H


def fit(model, groups, start):
    print(model)
    theta = [mp.log(v) for v in start[:4]] + [mp.mpf(v) for v in start[4:]]
    theta, H = newton(model, groups, theta)
    p = [mp.exp(t) for t in theta[:4]] + theta[4:]
    cov = -H ** -1
    se = [(p[i] if i < 4 else 1) * mp.sqrt(cov[i, i]) for i in range(8)]
    print('  params: ' + ' '.join(mp.nstr(v, 12) for v in p))
    print('  se:     ' + ' '.join(mp.nstr(v, 6) for v in se))
    print('  LL:     ' + mp.nstr(total(model, groups, theta), 15))


def main():
    groups = load()
    which = sys.argv[1:] or ['bgnbd', 'pareto']
    if 'bgnbd' in which:
        fit('bgnbd', groups, [0.243, 4.414, 0.793, 2.426, 0.5, -0.4, 0.6, -0.5])
    if 'pareto' in which:
        fit('pareto', groups, [0.59, 11.8, 0.94, 21.4, 0.5, -0.2, 0.2, -0.1])


if __name__ == '__main__':
    main()
