#!/usr/bin/python3
"""A second independent fit of BG/NBD and Pareto/NBD with a channel
covariate on tests/data/covariates_summary.csv and covariates_channels.csv,
with scipy (Debian's python3-scipy, float64) rather than mpmath: the same
data and CLVTools' parameterisation as covariates_fit.py (docs/covariates.md;
dummies for email and social against web, fax joining the baseline), the
per-customer likelihoods written out again here from Fader, Hardie & Lee
(2005) for BG/NBD and from Fader & Hardie's Pareto/NBD note (A0 through
scipy.special.hyp2f1, both forms), maximised by scipy.optimize.minimize
(BFGS, then Nelder-Mead polish) on (log r, log alpha, log a|s, log b|beta,
gammas) from a start away from the optimum. It prints the optimum and the
log-likelihood; they agree with covariates_fit.py's mpmath optimum (copied
into tests/unit/test_covariates.c) as shown below. Run from the repository
root with /usr/bin/python3 (apt-get install python3-scipy).

Output (scipy 1.10.1, numpy 1.24.2; params r, alpha, a|s, b|beta,
gamma_purchase email, social, gamma_dropout email, social):
bgnbd
  params: 0.244495257 4.52912902 0.97180256 2.857022 0.630830931 -0.247353523 0.584013711 -0.188006511
  LL:     -12608.0354810949
pareto
  params: 0.587061174 11.830901 0.943759293 21.371624 0.512124696 -0.175853209 0.234869209 -0.0992258334
  LL:     -12648.8122681601
Against covariates_fit.py (mpmath, 25 digits): the LLs agree to 1e-12
(-12608.0354810949 and -12648.81226816), the parameters to 3e-6 relative
(Pareto/NBD's beta, the flattest direction: 21.371624 against 21.3716969).
"""
import collections
import csv
import os

import numpy as np
from scipy import optimize, special

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data')
DUMMIES = ['email', 'social']


def load():
    with open(os.path.join(DATA, 'covariates_channels.csv')) as f:
        channel = {row['customer_id']: row['channel'] for row in csv.DictReader(f)}
    groups = collections.defaultdict(collections.Counter)
    with open(os.path.join(DATA, 'covariates_summary.csv')) as f:
        for row in csv.DictReader(f):
            ch = channel[row['customer_id']]
            z = tuple(1.0 if ch == d else 0.0 for d in DUMMIES)
            groups[z][(int(row['frequency']), int(row['recency']), int(row['T']))] += 1
    out = []
    for z, pats in groups.items():
        x = np.array([k[0] for k in pats], dtype=float)
        tx = np.array([k[1] for k in pats], dtype=float)
        T = np.array([k[2] for k in pats], dtype=float)
        w = np.array(list(pats.values()), dtype=float)
        out.append((np.array(z), x, tx, T, w))
    return out


def bgnbd_ll(r, alpha, a, b, x, tx, T):
    ll = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
          + special.betaln(a, b + x) - special.betaln(a, b)
          - (r + x) * np.log(alpha + T))
    extra = np.where(x > 0,
                     np.log1p(np.where(x > 0, a / np.maximum(b + x - 1, 1e-300), 0)
                              * ((alpha + T) / (alpha + tx)) ** (r + x)),
                     0.0)
    return ll + extra


def pareto_ll(r, alpha, s, beta, x, tx, T):
    # Fader & Hardie's note: L = Gamma(r+x) alpha^r beta^s / Gamma(r)
    #   * [1 / ((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0]
    out = np.empty_like(x)
    for i in range(len(x)):
        xi, ti, Ti = x[i], tx[i], T[i]
        if alpha >= beta:
            z1 = (alpha - beta) / (alpha + ti)
            z2 = (alpha - beta) / (alpha + Ti)
            a0 = (special.hyp2f1(r + s + xi, s + 1, r + s + xi + 1, z1)
                  / (alpha + ti) ** (r + s + xi)
                  - special.hyp2f1(r + s + xi, s + 1, r + s + xi + 1, z2)
                  / (alpha + Ti) ** (r + s + xi))
        else:
            z1 = (beta - alpha) / (beta + ti)
            z2 = (beta - alpha) / (beta + Ti)
            a0 = (special.hyp2f1(r + s + xi, r + xi, r + s + xi + 1, z1)
                  / (beta + ti) ** (r + s + xi)
                  - special.hyp2f1(r + s + xi, r + xi, r + s + xi + 1, z2)
                  / (beta + Ti) ** (r + s + xi))
        first = 1.0 / ((alpha + Ti) ** (r + xi) * (beta + Ti) ** s)
        out[i] = (special.gammaln(r + xi) - special.gammaln(r) + r * np.log(alpha)
                  + s * np.log(beta) + np.log(first + s / (r + s + xi) * a0))
    return out


def total(theta, model, groups):
    r, alpha, c, d = np.exp(theta[:4])
    gp, gd = theta[4:6], theta[6:8]
    s = 0.0
    for z, x, tx, T, w in groups:
        alpha_i = alpha * np.exp(-gp @ z)
        if model == 'bgnbd':
            k = np.exp(gd @ z)
            ll = bgnbd_ll(r, alpha_i, c * k, d * k, x, tx, T)
        else:
            ll = pareto_ll(r, alpha_i, c, d * np.exp(-gd @ z), x, tx, T)
        s += w @ ll
    return s


def fit(model, groups, start):
    f = lambda th: -total(th, model, groups)
    res = optimize.minimize(f, start, method='BFGS', options={'gtol': 1e-9, 'maxiter': 2000})
    res = optimize.minimize(f, res.x, method='Nelder-Mead',
                            options={'xatol': 1e-10, 'fatol': 1e-12, 'maxiter': 20000})
    th = res.x
    return np.concatenate([np.exp(th[:4]), th[4:]]), -res.fun


def main():
    groups = load()
    starts = {'bgnbd': np.log([0.3, 5.0, 1.0, 3.0]).tolist() + [0.0] * 4,
              'pareto': np.log([0.5, 10.0, 1.0, 15.0]).tolist() + [0.0] * 4}
    for model in ('bgnbd', 'pareto'):
        params, ll = fit(model, groups, np.array(starts[model]))
        print(model)
        print('  params: ' + ' '.join('%.9g' % p for p in params))
        print('  LL:     %.10f' % ll)


if __name__ == '__main__':
    main()
