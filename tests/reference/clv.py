#!/usr/bin/python3
"""High-precision reference CLV values (BG/NBD purchases, Gamma-Gamma spend).

CLV = sum_{k=1..N} margin * E[spend] * (E[X(kM)] - E[X((k-1)M)]) / (1+d)^k,
lifetimes' customer_lifetime_value. E[X(t) | x, t_x, T] is Fader, Hardie &
Lee (2005) eq. 10 evaluated directly with mpmath.hyp2f1 (no transformation);
E[spend | x, m] is Fader & Hardie (2013) eq. 5. mpmath at mp.dps = 50.

Regenerate from the repo root: /usr/bin/python3 tests/reference/clv.py
(writes tests/data/ref_clv.csv).
"""
import datetime
import mpmath
from mpmath import mp, mpf, hyp2f1

mp.dps = 50
R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426     # CDNOW BG/NBD (weeks)
P, Q, V = 6.25, 3.74, 15.44                     # CDNOW Gamma-Gamma


def expected(x, tx, T, t):
    r, al, a, b = map(mpf, (R, ALPHA, A, B))
    x, tx, T, t = map(mpf, (x, tx, T, t))
    if t == 0:
        return mpf(0)
    z = t / (al + T + t)
    num = (a + b + x - 1) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x)
                                       * hyp2f1(r + x, b + x, a + b + x - 1, z))
    delta = 1 if x > 0 else 0
    den = 1 + delta * (a / (b + x - 1)) * ((al + T) / (al + tx)) ** (r + x)
    return num / den


def spend(x, m):
    p, q, v = map(mpf, (P, Q, V))
    x, m = mpf(x), mpf(m)
    return (q - 1) / (p * x + q - 1) * (v * p / (q - 1)) + p * x / (p * x + q - 1) * m


def clv(x, tx, T, m, months, d, margin, M):
    s = spend(x, m)
    total, prev = mpf(0), mpf(0)
    for k in range(1, months + 1):
        e = expected(x, tx, T, k * mpf(M))
        total += mpf(margin) * s * (e - prev) / (1 + mpf(d)) ** k
        prev = e
    return total


CASES = [  # x, t_x, T, m, months, discount, margin, month length (periods)
    (2, 30.43, 38.86, 22.35, 12, 0.01, 1.0, 4.345),
    (1, 1.71, 38.86, 11.77, 12, 0.01, 1.0, 4.345),
    (0, 0.0, 38.86, 0.0, 12, 0.01, 1.0, 4.345),
    (29, 38.0, 38.5, 45.0, 12, 0.01, 1.0, 4.345),
    (7, 35.29, 38.86, 25.77, 24, 0.02, 0.3, 4.345),
    (5, 10.0, 30.0, 100.0, 1, 0.0, 1.0, 4.345),
    (3, 200.0, 270.0, 30.0, 12, 0.01, 1.0, 30.0),
    (100, 500.0, 500.0, 12.0, 60, 0.005, 0.25, 4.345),
]

if __name__ == "__main__":
    with open("tests/data/ref_clv.csv", "w") as f:
        f.write("# CLV reference values: mpmath %s, mp.dps=%d, %s\n"
                % (mpmath.__version__, mp.dps,
                   datetime.date.today().isoformat()))
        f.write("# command: /usr/bin/python3 tests/reference/clv.py; "
                "BG/NBD %r, Gamma-Gamma %r\n" % ((R, ALPHA, A, B), (P, Q, V)))
        f.write("x,t_x,T,m,months,discount_rate,margin,month_periods,expected_spend,clv\n")
        for c in CASES:
            f.write(",".join(repr(v) for v in c) + ",%s,%s\n"
                    % (mp.nstr(spend(c[0], c[3]), 20), mp.nstr(clv(*c), 20)))
