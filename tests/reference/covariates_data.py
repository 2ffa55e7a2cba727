#!/usr/bin/python3
"""Writes the simulated data set of the covariate tests and docs
(tests/data/covariates_summary.csv and tests/data/covariates_channels.csv):
3000 customers from BG/NBD with a channel covariate in CLVTools'
parameterisation (docs/covariates.md), in weeks, recorded by whole week
(T uniform on 27..39 weeks, t_x rounded down to a whole week):
  web 1600 (the baseline), email 900 (purchase gamma +0.5, drop-out +0.6),
  social 480 (-0.4, -0.5), fax 20 (as web: too small, pooled).
Seeded (Python's random, Mersenne Twister): the same files every run.
Run from the repository root with /usr/bin/python3."""
import math
import os
import random

R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426
CHANNELS = [('web', 1600, 0, 0), ('email', 900, 0.5, 0.6), ('social', 480, -0.4, -0.5),
            ('fax', 20, 0, 0)]
HERE = os.path.dirname(os.path.abspath(__file__))


def customer(rng, gt, gl):
    alpha = ALPHA * math.exp(-gt)
    a, b = A * math.exp(gl), B * math.exp(gl)
    lam = rng.gammavariate(R, 1 / alpha)
    p = rng.betavariate(a, b)
    T = rng.randint(27, 39)
    t, x, t_x = 0.0, 0, 0.0
    while True:
        t += rng.expovariate(lam) if lam > 0 else math.inf
        if t > T:
            break
        x, t_x = x + 1, t
        if rng.random() < p:
            break
    return x, math.floor(t_x), T


def main():
    rng = random.Random(20261207)
    rows = []
    for name, n, gt, gl in CHANNELS:
        for _ in range(n):
            rows.append((name,) + customer(rng, gt, gl))
    rng.shuffle(rows)
    data = os.path.join(HERE, '..', 'data')
    with open(os.path.join(data, 'covariates_summary.csv'), 'w') as f:
        f.write('customer_id,frequency,recency,T\n')
        for i, (_, x, tx, T) in enumerate(rows):
            f.write('c%04d,%d,%d,%d\n' % (i + 1, x, tx, T))
    with open(os.path.join(data, 'covariates_channels.csv'), 'w') as f:
        f.write('customer_id,channel\n')
        for i, (ch, _, _, _) in enumerate(rows):
            f.write('c%04d,%s\n' % (i + 1, ch))


if __name__ == '__main__':
    main()
