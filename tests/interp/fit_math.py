#!/usr/bin/env python3
"""fit_math.py — prints the polynomial tables of src/ir/mathfn.c (a development tool: the
test suite does not run it; tests/interp/check_math.py measures what the tables give).

Each table is a minimax fit in float64 (Lawson's iteratively reweighted least squares on a
Chebyshev basis over a dense grid), weighted so that the error minimised is the function's
relative error (the absolute error for erfc's exponent S). The coefficients are rounded to
f32 one at a time from the constant term up, the rest refitted after each rounding.
Needs numpy only.
"""
import math

import numpy as np
from numpy.polynomial import chebyshev, polynomial


def lawson(basis, target, iters=400):
    """Coefficients c minimising max |basis @ c - target| (approximately)."""
    weights = np.full(len(target), 1.0 / len(target))
    best = None
    for _ in range(iters):
        root = np.sqrt(weights)
        c, *_ = np.linalg.lstsq(basis * root[:, None], target * root, rcond=None)
        err = np.abs(basis @ c - target)
        if best is None or err.max() < best[0]:
            best = (err.max(), c)
        weights = weights * err / err.max() + 1e-30
        weights /= weights.sum()
    return best[1]


def fit(v, target, weight, degree, fixed):
    """Monomial coefficients in v of degree `degree`, the first len(fixed) given."""
    rest = target - sum(c * v ** i for i, c in enumerate(fixed))
    lo, hi = v.min(), v.max()
    z = (2 * v - (lo + hi)) / (hi - lo)
    k = len(fixed)
    basis = np.stack([v ** k * chebyshev.chebval(z, [0] * j + [1]) for j in range(degree - k + 1)], 1)
    cz = chebyshev.cheb2poly(lawson(basis * weight[:, None], rest * weight))
    a, b = 2 / (hi - lo), -(lo + hi) / (hi - lo)   # z = a v + b
    cv = np.zeros(len(cz))
    for j, c in enumerate(cz):
        cv[:j + 1] += c * polynomial.polypow([b, a], j)[:j + 1]
    return cv   # the coefficients of v^k, v^(k+1), ...


def fit_f32(v, target, weight, degree):
    coeffs = []
    for _ in range(degree + 1):
        coeffs.append(float(np.float32(fit(v, target, weight, degree, coeffs)[0])))
    return coeffs


def hexf(c):
    mantissa, exponent = float(c).hex().split("p")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}p{exponent}f"


def table(name, coeffs, comment):
    print(f"static const float {name}[] = {{   /* {comment} */")
    line = "   "
    for i, c in enumerate(coeffs):
        item = " " + hexf(c) + ("," if i < len(coeffs) - 1 else "};")
        if len(line) + len(item) > 92:
            print(line)
            line = "   "
        line += item
    print(line)


def main():
    erf = np.vectorize(math.erf)
    erfc = np.vectorize(math.erfc)
    x = np.linspace(1e-3, 0.625, 20001)
    table("TANH_POLY", fit_f32(x * x, (np.tanh(x) - x) / x ** 3, x ** 3 / np.tanh(x), 4),
          "tanh(x) = x + x^3·P(x^2) for |x| < TANH_SMALL")
    x = np.linspace(1e-4, 1.0, 20001)
    table("ERF_POLY", fit_f32(x * x, erf(x) / x - 1, x / erf(x), 7), "erf(x) = x + x·P(x^2) for |x| < 1")
    y = np.linspace(1.0, 5.0, 40001)
    s = np.log2(erfc(y)) + y * y / math.log(2) + 2
    table("ERFC_S", fit_f32(y - 2, s, np.ones_like(y), 9),
          "erfc(y) = e^(-y^2)·2^(S(y - 2) - 2) for 1 <= y <= 5")
    r = np.linspace(1e-3, 0.786, 20001)
    table("SIN_POLY", fit_f32(r * r, (np.sin(r) - r) / r ** 3, r ** 3 / np.sin(r), 3),
          "sin(r) = r + r^3·P(r^2) for |r| <= pi/4")
    table("COS_POLY", fit_f32(r * r, (np.cos(r) - 1) / r ** 2, r ** 2 / np.cos(r), 4),
          "cos(r) = 1 + r^2·P(r^2) for |r| <= pi/4")


if __name__ == "__main__":
    main()
