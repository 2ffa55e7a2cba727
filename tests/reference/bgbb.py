#!/usr/bin/python3
"""High-precision BG/BB reference values -> tests/data/ref_bgbb.csv.

Independent of src/model/bgbb.c, from the model itself (Fader, Hardie & Shang
2010, "Customer-Base Analysis in a Discrete-Time Noncontractual Setting"):
p ~ Beta(alpha, beta), theta ~ Beta(gamma, delta); at each opportunity a
living customer first dies with probability theta, else buys with prob. p.

* likelihood, p_alive, p_n, p_n_new: the paper's scenario sums (eqs. 5, 7 and
  the conditional P(X(n, n+n*) = x*) of Hardie's BG/BB note) with mpmath Beta
  functions at 50 digits; the small cases are first checked against a brute
  force enumeration of every death time and purchase sequence;
* expected, expected_new: explicit enumeration over the future opportunities
  (sum over j of P(alive at n+j) E[p], t <= 2000) or, for long horizons, the
  Beta integral over theta by mpmath.quad, which checks eq. 13 (written for
  t > 2000, 50 digits) to 1e-12;
* the maximum-likelihood fit on tests/data/donations.csv (Newton iterations on
  the mpmath likelihood), its LL, and the LL at the published estimates.

p_alive is P(alive at opportunity n | x, t_x, n), lifetimes'
conditional_probability_alive(0, ...).
Run: /usr/bin/python3 tests/reference/bgbb.py (python3-mpmath)."""
import csv
import functools
import itertools
import os
import sys

import mpmath
from mpmath import mp, mpf, digamma, beta, binomial, log, exp, quad, rf, expm1, log1p, matrix

mp.dps = 50
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "data", "ref_bgbb.csv")


def B(a, b):
    return beta(a, b)


@functools.lru_cache(maxsize=None)
def lik_parts(P, x, tx, n):
    """(alive through n, dead by n) joint probabilities of the history."""
    a, b, g, d = P
    alive = B(a + x, b + n - x) / B(a, b) * B(g, d + n) / B(g, d)
    dead = mpf(0)
    for i in range(n - tx):
        dead += B(a + x, b + tx - x + i) / B(a, b) * B(g + 1, d + tx + i) / B(g, d)
    return alive, dead


def lik(P, x, tx, n):
    al, de = lik_parts(P, x, tx, n)
    return al + de


def p_alive(P, x, tx, n):
    al, de = lik_parts(P, x, tx, n)
    return al / (al + de)


def p_n(P, x, tx, n, t, k):
    """P(k purchases in opportunities n+1..n+t | history)."""
    a, b, g, d = P
    if k > t:
        return mpf(0)
    al, de = lik_parts(P, x, tx, n)
    j = de if k == 0 else mpf(0)
    j += binomial(t, k) * B(a + x + k, b + n - x + t - k) / B(a, b) * B(g, d + n + t) / B(g, d)
    for i in range(k, t):
        j += (binomial(i, k) * B(a + x + k, b + n - x + i - k) / B(a, b)
              * B(g + 1, d + n + i) / B(g, d))
    return j / (al + de)


def expected_enum(P, x, tx, n, t):
    """sum_{j=1}^t P(alive at n+j, buys there | history)."""
    a, b, g, d = P
    pre = B(a + x + 1, b + n - x) / B(a, b) / lik(P, x, tx, n)
    return pre * sum(B(g, d + n + j) / B(g, d) for j in range(1, t + 1))


def expected_quad(P, x, tx, n, t):
    """The same sum as a Beta integral over theta:
    sum_j (1-theta)^(n+j) = (1-theta)^(n+1) (1 - (1-theta)^t) / theta."""
    a, b, g, d = P
    pre = B(a + x + 1, b + n - x) / B(a, b) / lik(P, x, tx, n)
    t = mpf(t)

    def f(th):
        return th ** (g - 2) * (1 - th) ** (d + n) * -expm1(t * log1p(-th))

    def f_u(u):
        # gamma < 1: theta = u^(1/gamma) takes the mass piled up at theta = 0
        th = u ** (1 / g)
        return (1 - th) ** (d + n) * -expm1(t * log1p(-th)) / th / g if th > 0 else t / g

    pts = {mpf(0), mpf(1), 1 / t, 1 / (d + n + 1)}
    pts |= {mpf(10) ** -k for k in range(1, 30)}
    mean = g / (g + d + n)                      # around the bulk of theta's posterior
    sd = (mean * (1 - mean) / (g + d + n + 1)) ** 0.5
    pts |= {mean + j * sd / 2 for j in range(-24, 25)}
    pts = sorted(p for p in pts if 0 <= p <= 1)
    if g < 1:
        return pre * quad(f_u, [p ** g for p in pts]) / B(g, d)
    return pre * quad(f, pts) / B(g, d)


def expected_eq13(P, x, tx, n, t):
    """FHS eq. 13, and its limit D (psi(D+1+t) - psi(D+1)) at gamma = 1."""
    a, b, g, d = P
    pre = B(a + x + 1, b + n - x) / B(a, b) / lik(P, x, tx, n)
    D = d + n
    if g == 1:
        return pre * B(g, D) / B(g, d) * D * (digamma(D + 1 + t) - digamma(D + 1))
    return pre * B(g, D) / B(g, d) * D / (g - 1) * (1 - rf(D + 1, t) / rf(D + g, t))


def expected(P, x, tx, n, t):
    """Enumeration up to t = 2000 (checked against eq. 13 to 1e-25); beyond,
    eq. 13 at 50 digits, checked against the Beta integral to 1e-12."""
    c = expected_eq13(P, x, tx, n, t)
    if t <= 2000:
        v = expected_enum(P, x, tx, n, t)
        assert abs(v / c - 1) < mpf(10) ** -25, (P, x, tx, n, t, v, c)
        return v
    q = expected_quad(P, x, tx, n, t)
    assert abs(q / c - 1) < 1e-12, (P, x, tx, n, t, q, c)
    return c


def brute_force(P, n, t):
    """{(x, t_x): {k: joint prob}} by enumerating death time and purchases."""
    a, b, g, d = P
    N = n + t
    out = {}
    for death in range(1, N + 2):          # dies at the start of `death`; N+1: never
        alive = min(death - 1, N)
        th = (B(g + 1, d + death - 1) if death <= N else B(g, d + N)) / B(g, d)
        for bits in itertools.product((0, 1), repeat=alive):
            buys = sum(bits)
            pr = th * B(a + buys, b + alive - buys) / B(a, b)
            hist = bits[:n]
            x = sum(hist)
            tx = max([i + 1 for i, v in enumerate(hist) if v], default=0)
            k = sum(bits[n:])
            cell = out.setdefault((x, tx), {})
            cell[k] = cell.get(k, 0) + pr
    return out


def self_check(P):
    for n, t in ((0, 4), (1, 3), (3, 3), (5, 2)):
        bf = brute_force(P, n, t)
        for (x, tx), cell in bf.items():
            L = sum(cell.values())
            seqs = binomial(tx - 1, x - 1) if x > 0 else 1   # histories per summary
            assert abs(L / seqs / lik(P, x, tx, n) - 1) < 1e-40
            e = sum(k * v for k, v in cell.items()) / L
            assert abs(e / expected_enum(P, x, tx, n, t) - 1) < 1e-40
            for k in range(t + 2):
                want = cell.get(k, 0) / L
                got = p_n(P, x, tx, n, t, k)
                assert abs(got - want) < 1e-40 * (1 + want), (n, t, x, tx, k)
        # alive at n: the brute force over n opportunities only
        bf = brute_force(P, n, 0)
        for (x, tx), _ in bf.items():
            num = B(P[0] + x, P[1] + n - x) / B(P[0], P[1]) * B(P[2], P[3] + n) / B(P[2], P[3])
            assert abs(num / lik(P, x, tx, n) - p_alive(P, x, tx, n)) < 1e-40
        # alive at n from the brute force: death time > n
        a, b, g, d = P
        for (x, tx), cell in brute_force(P, n, 1).items():
            seqs = binomial(tx - 1, x - 1) if x > 0 else 1
            L = sum(cell.values()) / seqs
            # alive at n and at n+1, or alive at n and dead at the start of n+1
            al = (B(a + x, b + n - x) / B(a, b)
                  * (B(g, d + n + 1) + B(g + 1, d + n)) / B(g, d))
            assert abs(al / L - p_alive(P, x, tx, n)) < 1e-40


PARAMS = {
    "donation": (mpf("1.204"), mpf("0.750"), mpf("0.657"), mpf("2.783")),
    "tiny": (mpf("0.001"), mpf("0.002"), mpf("0.0015"), mpf("0.003")),
    "huge": (mpf("2000"), mpf("5000"), mpf("300"), mpf("10000")),
    "mixed": (mpf("0.01"), mpf("500"), mpf("50"), mpf("0.02")),
    "gamma1": (mpf("0.8"), mpf("2.5"), mpf(1), mpf("4.5")),
    "gamma1eps": (mpf("0.8"), mpf("2.5"), 1 + mpf("1e-9"), mpf("4.5")),
}
CUSTOMERS = [(0, 0, 0), (0, 0, 1), (1, 1, 1), (0, 0, 6), (3, 4, 6), (1, 1, 6),
             (6, 6, 6), (2, 6, 6), (0, 0, 500), (1, 1, 500), (250, 400, 500),
             (500, 500, 500), (499, 500, 500), (3, 30, 500)]
HORIZONS = [1, 2, 10, 100, 1500, 10 ** 6, 10 ** 12]
PN = [(1, 0), (1, 1), (2, 1), (10, 0), (10, 3), (10, 10), (100, 0), (100, 1),
      (100, 50), (1000, 0), (1000, 7)]


def load_donations():
    with open(os.path.join(ROOT, "tests", "data", "donations.csv")) as f:
        return [tuple(int(v) for v in row) for row in list(csv.reader(f))[1:]]


def total_ll(P, data):
    P = tuple(P)
    return sum(w * log(lik(P, x, tx, n)) for x, tx, n, w in data)


def newton_fit(data, start):
    """Newton on the log-parameters with finite-difference derivatives at 50
    digits (step 1e-12 there is far below double precision)."""
    th = [log(v) for v in start]
    h = mpf(10) ** -12

    def f(tv):
        return total_ll([exp(v) for v in tv], data)

    for _ in range(30):
        g = []
        H = matrix(4, 4)
        f0 = f(th)
        for i in range(4):
            e = [h if j == i else 0 for j in range(4)]
            fp = f([a + b for a, b in zip(th, e)])
            fm = f([a - b for a, b in zip(th, e)])
            g.append((fp - fm) / (2 * h))
            H[i, i] = (fp - 2 * f0 + fm) / h ** 2
        for i in range(4):
            for j in range(i + 1, 4):
                def sh(si, sj):
                    v = list(th)
                    v[i] += si * h
                    v[j] += sj * h
                    return f(v)
                H[i, j] = H[j, i] = (sh(1, 1) - sh(1, -1) - sh(-1, 1) + sh(-1, -1)) / (4 * h * h)
        step = mp.lu_solve(H, matrix(g))
        th = [a - step[i] for i, a in enumerate(th)]
        if max(abs(s) for s in step) < mpf(10) ** -25:
            break
    P = [exp(v) for v in th]
    return P, total_ll(P, data)


def fmt(v):
    return mp.nstr(mpf(v), 20, min_fixed=-5, max_fixed=5) if v != 0 else "0"


def main():
    for name, P in PARAMS.items():
        self_check(P)
    rows = []
    for name, P in PARAMS.items():
        a, b, g, d = P
        head = [name, fmt(a), fmt(b), fmt(g), fmt(d)]
        for x, tx, n in CUSTOMERS:
            rows.append(head + ["loglik", x, tx, n, "", "", fmt(log(lik(P, x, tx, n)))])
            rows.append(head + ["p_alive", x, tx, n, "", "", fmt(p_alive(P, x, tx, n))])
            for t in HORIZONS:
                rows.append(head + ["expected", x, tx, n, t, "",
                                    fmt(expected(P, x, tx, n, t))])
            for t, k in PN:
                if n > 100 and t > 100:
                    continue
                rows.append(head + ["p_n", x, tx, n, t, k, fmt(p_n(P, x, tx, n, t, k))])
        for t in HORIZONS:
            rows.append(head + ["expected_new", "", "", "", t, "",
                                fmt(expected(P, 0, 0, 0, t))])
        for t, k in PN:
            rows.append(head + ["p_n_new", "", "", "", t, k, fmt(p_n(P, 0, 0, 0, t, k))])
        print(name, len(rows), file=sys.stderr)

    data = load_donations()
    pub = PARAMS["donation"]
    Pf, llf = newton_fit(data, pub)
    head = ["donations_fit"] + [fmt(v) for v in Pf]
    rows.append(head + ["fit_ll", "", "", "", "", "", fmt(llf)])
    rows.append(["donation"] + [fmt(v) for v in pub]
                + ["total_ll", "", "", "", "", "", fmt(total_ll(pub, data))])

    with open(OUT, "w", newline="") as f:
        f.write("# BG/BB reference values, 20 significant digits, mpmath %s at %d digits,\n"
                % (mpmath.__version__, mp.dps))
        f.write("# from tests/reference/bgbb.py (scenario sums of Fader, Hardie & Shang 2010,\n"
                "# enumeration / Beta integrals for expectations; see the script).\n"
                "# kind: loglik, p_alive (alive at n), expected (next t opportunities),\n"
                "# p_n (k purchases in next t), expected_new, p_n_new, fit_ll (donations.csv\n"
                "# MLE, params = the exact optimum), total_ll (donations.csv LL at params).\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["set", "alpha", "beta", "gamma", "delta", "kind", "x", "t_x", "n",
                    "t", "k", "value"])
        w.writerows(rows)
    print("wrote", OUT, len(rows), "rows; fit", [fmt(v) for v in Pf], fmt(llf))


if __name__ == "__main__":
    main()
