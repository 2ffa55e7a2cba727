#!/usr/bin/python3
"""High-precision reference values of a new customer's value (issue 11).

E[X(t)] is the unconditional expected number of repeat purchases of a
customer just acquired, from the closed forms, independently of the C code:
  BG/NBD (Fader, Hardie & Lee 2005, eq. 9):
    E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r
                                 * 2F1(r, b; a+b-1; t/(alpha+t))]
  Pareto/NBD (Schmittlein, Morrison & Colombo 1987; Fader & Hardie's note):
    E[X(t)] = r beta / (alpha (s-1)) * [1 - (beta/(beta+t))^(s-1)]
new_customer_repeat_ltv = sum_{k=1..N} margin * p v/(q-1)
                          * (E[X(kM)] - E[X((k-1)M)]) / (1+d)^k.
Parameters: the maximum-likelihood fits of `ltvd fit --period week` on
tests/data/cdnow_customers_summary_with_transactions.csv (printed to 17
digits; the test fits again and checks it lands there). mpmath, mp.dps = 40.

Run from the repo root: /usr/bin/python3 tests/reference/acquisition.py
It prints the C table rows that tests/unit/test_acquisition.c holds.
"""
from mpmath import mp, mpf, hyp2f1

mp.dps = 40
BGNBD = (0.24259290720447074, 4.413531561205545, 0.7928861480791182, 2.4257534364271605)
PARETO = (0.5532755087061523, 10.577612238820695, 0.6062135684816935, 11.667911232069512)
GG = (6.248802489748406, 3.7445884532794302, 15.447748009316763)


def ex_bgnbd(t):
    r, al, a, b = map(mpf, BGNBD)
    t = mpf(t)
    if t == 0:
        return mpf(0)
    return (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r
                                    * hyp2f1(r, b, a + b - 1, t / (al + t)))


def ex_pareto(t):
    r, al, s, be = map(mpf, PARETO)
    t = mpf(t)
    return r * be / (al * (s - 1)) * (1 - (be / (be + t)) ** (s - 1))


def repeat_ltv(ex, months, d, margin, M):
    p, q, v = map(mpf, GG)
    spend = p * v / (q - 1)
    total, prev = mpf(0), mpf(0)
    for k in range(1, months + 1):
        e = ex(k * mpf(M))
        total += mpf(margin) * spend * (e - prev) / (1 + mpf(d)) ** k
        prev = e
    return total


MODELS = (("bgnbd", ex_bgnbd), ("pareto", ex_pareto))
print("/* model, t, E[X(t)] */")
for name, ex in MODELS:
    for t in ("1", "10", "52", "156.42"):
        print('{"%s", %s, %s},' % (name, t, mp.nstr(ex(t), 20)))
print("/* model, months, discount rate, margin, month (weeks), repeat LTV */")
for name, ex in MODELS:
    for months, d, margin, M in ((36, "0.01", "1", "4.345"), (12, "0.1", "0.3", "4.345"),
                                 (1, "0", "1", "4.345"), (120, "0.005", "0.25", "4.345")):
        print('{"%s", %d, %s, %s, %s, %s},' % (name, months, d, margin, M,
                                               mp.nstr(repeat_ltv(ex, months, d, margin, M), 20)))
