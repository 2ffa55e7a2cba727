#!/usr/bin/python3
"""Maximum-likelihood fits of BG/NBD and MBG/NBD to the CDNOW calibration
summary (tests/data/cdnow_customers_summary.csv), independent of the C code:
the likelihoods are written from the papers (BG/NBD: Fader, Hardie & Lee
2005 eq. 6; MBG/NBD: lifetimes' ModifiedBetaGeoFitter, i.e. the dropout
term a/(b+x) present also for x = 0) in mpmath (mp.dps = 30), maximised by a
plain Nelder-Mead on the log-parameters written here, restarted until it no
longer moves. scipy is not available on /usr/bin/python3.

Writes tests/data/ref_cdnow_fit.csv: model,r,alpha,a,b,loglik (model 1 = BG/NBD,
2 = MBG/NBD; the total log-likelihood). Takes ~8 minutes.
Regenerate from the repo root: /usr/bin/python3 tests/reference/mbgnbd_fit.py
"""
import csv
import datetime
import mpmath
from mpmath import mp, mpf, loggamma, log, exp

mp.dps = 30


def patterns():
    counts = {}
    with open("tests/data/cdnow_customers_summary.csv") as f:
        for row in csv.DictReader(f):
            key = (int(row["frequency"]), float(row["recency"]), float(row["T"]))
            counts[key] = counts.get(key, 0) + 1
    return [(mpf(x), mpf(tx), mpf(T), w) for (x, tx, T), w in counts.items()]


def loglik(params, pats, modified):
    r, al, a, b = params
    m = 1 if modified else 0
    total = mpf(0)
    for x, tx, T, w in pats:
        head = (loggamma(r + x) - loggamma(r) + r * log(al)
                + loggamma(a + b) + loggamma(b + x + m) - loggamma(b)
                - loggamma(a + b + x + m))
        alive = -(r + x) * log(al + T)
        if x > 0 or modified:
            drop = log(a) - log(b + x - 1 + m) - (r + x) * log(al + tx)
            ll = head + mpmath.fsum([alive, log(1 + exp(drop - alive))])
        else:
            ll = head + alive
        total += w * ll
    return total


def nelder_mead(f, x0, step=0.3, tol=1e-12, max_iter=4000):
    n = len(x0)
    pts = [list(x0)] + [[x0[j] + (step if j == i else 0) for j in range(n)]
                        for i in range(n)]
    vals = [f(p) for p in pts]
    for _ in range(max_iter):
        order = sorted(range(n + 1), key=lambda i: vals[i])
        pts = [pts[i] for i in order]
        vals = [vals[i] for i in order]
        if abs(vals[-1] - vals[0]) <= tol * (1 + abs(vals[0])):
            break
        cen = [sum(p[j] for p in pts[:-1]) / n for j in range(n)]
        refl = [cen[j] + (cen[j] - pts[-1][j]) for j in range(n)]
        fr = f(refl)
        if fr < vals[0]:
            exp_ = [cen[j] + 2 * (cen[j] - pts[-1][j]) for j in range(n)]
            fe = f(exp_)
            pts[-1], vals[-1] = (exp_, fe) if fe < fr else (refl, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = refl, fr
        else:
            con = [cen[j] + 0.5 * (pts[-1][j] - cen[j]) for j in range(n)]
            fc = f(con)
            if fc < vals[-1]:
                pts[-1], vals[-1] = con, fc
            else:
                for i in range(1, n + 1):
                    pts[i] = [pts[0][j] + 0.5 * (pts[i][j] - pts[0][j]) for j in range(n)]
                    vals[i] = f(pts[i])
    return pts[0], vals[0]


def fit(pats, modified, start):
    f = lambda lp: float(-loglik([exp(mpf(v)) for v in lp], pats, modified))
    x = [float(log(v)) for v in start]
    best = None
    for step in (0.3, 0.05, 0.01, 0.002):
        x, v = nelder_mead(f, x, step=step)
        if best is not None and abs(best - v) < 1e-10:
            break
        best = v
    params = [exp(mpf(v)) for v in x]
    return params, loglik(params, pats, modified)


def main():
    pats = patterns()
    out = "tests/data/ref_cdnow_fit.csv"
    with open(out, "w") as f:
        f.write("# MLE on tests/data/cdnow_customers_summary.csv by Nelder-Mead on mpmath %s"
                " likelihoods (mp.dps=30), %s\n" % (mpmath.__version__,
                                                     datetime.date.today().isoformat()))
        f.write("# command: /usr/bin/python3 tests/reference/mbgnbd_fit.py\n")
        f.write("# model: 1 = BG/NBD, 2 = MBG/NBD (lifetimes' ModifiedBetaGeoFitter)\n")
        f.write("model,r,alpha,a,b,loglik\n")
        for name, modified, start in (("bgnbd", False, (0.25, 4.4, 0.8, 2.4)),
                                      ("mbgnbd", True, (0.5, 6.0, 0.9, 1.6))):
            params, ll = fit(pats, modified, start)
            model_id = 2 if modified else 1
            f.write("%d,%s,%s\n" % (model_id, ",".join(mpmath.nstr(v, 12) for v in params),
                                    mpmath.nstr(ll, 15)))
            print(name, [mpmath.nstr(v, 8) for v in params], mpmath.nstr(ll, 12))


if __name__ == "__main__":
    main()
