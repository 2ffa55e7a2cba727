#!/usr/bin/python3
"""Reference values of log 2F1(a, b; c; z) for tests/unit/test_hyp2f1.c.

Computed with mpmath.hyp2f1 at mp.dps = 50 directly on the given arguments
(no transformation of ours). Inputs are Python floats and are converted to
mpf exactly, so the C test sees the very same binary numbers (written with
repr, which round-trips through strtod).

Regenerate: /usr/bin/python3 tests/reference/hyp2f1.py  (from the repo root)
writes tests/data/ref_hyp2f1.csv.
"""
import datetime
import mpmath
from mpmath import mp, mpf

mp.dps = 50

def cases():
    c = []
    # generic small and moderate arguments
    for z in (0.0, 1e-12, 1e-6, 0.1, 0.3, 0.5, 0.6, 0.9, 0.99, 0.999999):
        c.append((0.5, 0.25, 1.5, z))
        c.append((2.5, 3.25, 4.0, z))
        c.append((-0.3, 1.7, 2.2, z))
    # BG/NBD Euler-transformed arguments: (c - r', a - 1; c) with
    # c = a + b + x - 1, r' = r + x, CDNOW fit and extremes of x.
    r, al, a, b = 0.243, 4.414, 0.793, 2.426
    for x in (0, 1, 2, 10, 300, 2000):
        for t, T in ((1.0, 38.86), (39.0, 30.0), (1e4, 1.0), (1e5, 0.01), (1e6, 0.5)):
            cc = a + b + x - 1
            z = t / (al + T + t)
            if cc > 0:
                c.append((cc - (r + x), a - 1, cc, z))
            # the original, untransformed form
            if cc > 0:
                c.append((r + x, b + x, cc, z))
    # c - a - b close to an integer (r close to a in BG/NBD) and z near 1
    for eps in (0.0, 1e-12, 1e-9, 1e-7, 1e-5, 3e-4, 2e-3):
        for z in (0.3, 0.7, 0.95, 0.999, 0.999999):
            c.append((0.6, 1.3, 1.9 + eps, z))       # c-a-b = 0
            c.append((0.6, 1.3, 2.9 + eps, z))       # c-a-b = 1
            c.append((2.2, -0.4, 0.8 + eps, z))      # c-a-b = -1
    # larger parameters
    for z in (0.2, 0.6, 0.99):
        c.append((20.5, 30.25, 60.0, z))
        c.append((1.5, 200.0, 250.0, z))
        c.append((0.5, 0.5, 1000.0, z))
    # small c
    for z in (0.1, 0.7, 0.999):
        c.append((0.01, 0.02, 0.005, z))
    return c

def main():
    path = "tests/data/ref_hyp2f1.csv"
    with open(path, "w") as f:
        f.write("# log 2F1(a,b;c;z) by mpmath %s, mp.dps=50, %s;\n"
                % (mpmath.__version__, datetime.date.today().isoformat()))
        f.write("# command: /usr/bin/python3 tests/reference/hyp2f1.py\n")
        f.write("a,b,c,z,log2f1\n")
        n = 0
        for a, b, cc, z in cases():
            v = mpmath.hyp2f1(mpf(a), mpf(b), mpf(cc), mpf(z))
            if not (mpmath.im(v) == 0 and v > 0):
                continue
            lv = mpmath.log(v)
            f.write("%r,%r,%r,%r,%s\n" % (a, b, cc, z, mpmath.nstr(lv, 20, min_fixed=-1, max_fixed=-1)))
            n += 1
    print("wrote", n, "rows to", path)

if __name__ == "__main__":
    main()
