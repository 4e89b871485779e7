#!/usr/bin/env python3
"""Bit-exact check of tilec's dtype conversions (src/base/convert.c) against independent
implementations: ml_dtypes (bfloat16, float8_e4m3fn, float8_e5m2) and numpy (float16,
float32, integer casts).

usage: check_conversions.py CONV_DUMP_BINARY_OR_BUILD_DIR

Reference notes:
  * fp8 in tilec saturates like PTX cvt.rn.satfinite; ml_dtypes' cast does not, so the
    reference clamps to +-max first (which also maps +-inf to +-max).
  * ml_dtypes casts float64 through float32 (double rounding), so for f64 inputs to
    bf16 and fp8 the reference first rounds f64 -> f32 with round-to-odd, which makes
    the second rounding exact; the trick is itself checked against numpy's direct
    f64 -> f16 cast.
  * NaN: tilec writes canonical NaNs (0x7FC0/0x7E00/0x7FC00000 with the input's sign;
    0x7F for both fp8 kinds), so NaN inputs are compared to those exact patterns.
"""
import os
import subprocess
import sys
import time

import numpy as np

try:
    import ml_dtypes
except ImportError:
    sys.stderr.write(
        "check_conversions: ml_dtypes is not installed for %s\n"
        "  create the venv: /usr/bin/python3 -m venv --system-site-packages .venv && "
        ".venv/bin/pip install ml_dtypes\n" % sys.executable)
    sys.exit(2)

SHOW_MISMATCHES = 5
RANDOM_F32 = 4_000_000
RANDOM_F64 = 1_000_000


class Format:
    def __init__(self, name, np_type, bits_type, max_value, saturates, nan_bits,
                 nan_keeps_sign):
        self.name = name
        self.np_type = np_type
        self.bits_type = bits_type
        self.width = np.dtype(bits_type).itemsize * 8
        self.max_value = max_value
        self.saturates = saturates
        self.nan_bits = nan_bits
        self.nan_keeps_sign = nan_keeps_sign


FORMATS = [
    Format("bf16", ml_dtypes.bfloat16, np.uint16, None, False, 0x7FC0, True),
    Format("f16", np.float16, np.uint16, None, False, 0x7E00, True),
    Format("f8e4m3", ml_dtypes.float8_e4m3fn, np.uint8, 448.0, True, 0x7F, False),
    Format("f8e5m2", ml_dtypes.float8_e5m2, np.uint8, 57344.0, True, 0x7F, False),
]
F32 = Format("f32", np.float32, np.uint32, None, False, 0x7FC00000, True)


class Checker:
    def __init__(self, binary):
        self.binary = binary
        self.checks = 0
        self.values = 0
        self.failures = []

    def run(self, args, data):
        proc = subprocess.run([self.binary] + args, input=data, capture_output=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr.decode(errors="replace"))
            raise SystemExit("check_conversions: %s %s exited with %d"
                             % (self.binary, " ".join(args), proc.returncode))
        return proc.stdout

    def compare(self, name, inputs, got, expected, equal=None):
        """Record a check; inputs/got/expected are arrays of one length."""
        self.checks += 1
        self.values += len(inputs)
        if len(got) != len(expected):
            self.failures.append((name, 1, ["got %d outputs for %d inputs"
                                            % (len(got), len(expected))]))
            return
        ok = equal(got, expected) if equal else got == expected
        bad = np.nonzero(~ok)[0]
        if len(bad) == 0:
            return
        lines = []
        for i in bad[:SHOW_MISMATCHES]:
            lines.append("input %s: got %s expected %s"
                         % (describe(inputs[i]), describe(got[i]), describe(expected[i])))
        self.failures.append((name, len(bad), lines))


def describe(v):
    if isinstance(v, (np.floating,)):
        bits = np.array([v]).view({2: np.uint16, 4: np.uint32, 8: np.uint64}[v.itemsize])[0]
        return "%r (0x%x)" % (float(v), int(bits))
    if isinstance(v, np.unsignedinteger):
        return "0x%x" % int(v)
    return repr(v.item() if hasattr(v, "item") else v)


def same_double(got, expected):
    """Bitwise equality of doubles, any NaN equal to any NaN."""
    both_nan = np.isnan(got) & np.isnan(expected)
    return both_nan | (got.view(np.uint64) == expected.view(np.uint64))


def round_to_odd_f32(x):
    """f64 -> f32 rounding toward zero, with the last bit set when inexact."""
    with np.errstate(all="ignore"):
        nearest = x.astype(np.float32)
    back = nearest.astype(np.float64)
    inexact = (back != x) & ~np.isnan(x)
    bits = nearest.view(np.uint32).copy()
    rounded_away = inexact & (np.abs(back) > np.abs(x))
    bits[rounded_away] -= 1  # sign-magnitude: one step toward zero
    bits[inexact] |= 1
    return bits.view(np.float32)


def reference_encode(fmt, x, via_round_to_odd=None):
    """Expected bits of fmt for the float32 or float64 array x."""
    if via_round_to_odd is None:
        via_round_to_odd = x.dtype == np.float64 and fmt.name in ("bf16", "f8e4m3", "f8e5m2")
    src = round_to_odd_f32(x) if via_round_to_odd else x
    if fmt.saturates:
        src = np.clip(src, -fmt.max_value, fmt.max_value)  # NaN stays NaN
    with np.errstate(all="ignore"):
        bits = src.astype(fmt.np_type).view(fmt.bits_type).copy()
    nan = np.isnan(x)
    sign = np.signbit(x).astype(np.uint64) << np.uint64(fmt.width - 1)
    canonical = np.full(len(x), fmt.nan_bits, dtype=np.uint64)
    if fmt.nan_keeps_sign:
        canonical |= sign
    bits[nan] = canonical[nan].astype(fmt.bits_type)
    return bits


def c_encode(chk, fmt, x):
    src = "f32" if x.dtype == np.float32 else "f64"
    out = chk.run(["encode", fmt.name, src], x.tobytes())
    return np.frombuffer(out, dtype=fmt.bits_type)


def all_patterns(fmt):
    return np.arange(1 << fmt.width, dtype=np.uint64).astype(fmt.bits_type)


def finite_positive_values(fmt):
    """Sorted distinct finite values >= 0, plus the would-be next value past max."""
    with np.errstate(all="ignore"):
        vals = all_patterns(fmt).view(fmt.np_type).astype(np.float64)
    vals = np.unique(vals[np.isfinite(vals) & (vals >= 0)])
    return np.append(vals, vals[-1] + (vals[-1] - vals[-2]))


def neighbours(points, float_type):
    """points plus one ulp either side in float_type."""
    p = points.astype(float_type)
    inf = float_type(np.inf)
    return np.concatenate([p, np.nextafter(p, inf), np.nextafter(p, -inf)])


def boundary_inputs(fmt, float_type):
    """Every representable, every halfway point, one ulp either side, both signs."""
    vals = finite_positive_values(fmt)
    mids = (vals[:-1] + vals[1:]) / 2
    assert np.all(mids.astype(np.float32).astype(np.float64) == mids), "mid not exact"
    pts = neighbours(np.concatenate([vals, mids]), float_type)
    return np.concatenate([pts, -pts])


def special_inputs(fmt, float_type):
    vals = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-30, 1e-45, 1e30, 3.0e38]
    if fmt.max_value:
        m = fmt.max_value
        ulp = finite_positive_values(fmt)[-1] - m
        vals += [m, m + ulp / 2, m + ulp / 2 + 1, m + ulp, 2 * m, 1e10]
    if float_type == np.float64:
        vals += [5e-324, 1e-310, 1.7976931348623157e308, 1e300, -1e300]
    arr = np.array(vals, dtype=np.float64)
    with np.errstate(all="ignore"):
        arr = arr.astype(float_type)
    return np.concatenate([arr, -arr])


def random_f32(rng, n):
    return rng.integers(0, 1 << 32, size=n, dtype=np.uint64).astype(np.uint32).view(np.float32)


def random_f64_near(rng, n, low_exp, high_exp):
    """Doubles with random sign and full 52-bit mantissa, exponent in [low, high]."""
    mant = rng.integers(0, 1 << 52, size=n, dtype=np.uint64)
    exp = rng.integers(low_exp + 1023, high_exp + 1024, size=n, dtype=np.uint64)
    sign = rng.integers(0, 2, size=n, dtype=np.uint64) << np.uint64(63)
    return (sign | (exp << np.uint64(52)) | mant).view(np.float64)


def random_f64(rng, n):
    patterns = rng.integers(0, 1 << 63, size=n, dtype=np.uint64) * np.uint64(2)
    patterns |= rng.integers(0, 2, size=n, dtype=np.uint64)
    return np.concatenate([patterns.view(np.float64),
                           random_f64_near(rng, n, -160, 20)])


def check_format(chk, fmt, rng):
    name = fmt.name
    patterns = all_patterns(fmt)
    with np.errstate(all="ignore"):
        expected_values = patterns.view(fmt.np_type).astype(np.float64)
    decoded = np.frombuffer(chk.run(["decode", name], patterns.tobytes()), dtype=np.float64)
    chk.compare(name + " decode every pattern", patterns, decoded, expected_values,
                same_double)

    finite = np.isfinite(expected_values)
    for float_type in (np.float32, np.float64):
        tag = "f32" if float_type == np.float32 else "f64"
        x = expected_values.astype(float_type)
        got = c_encode(chk, fmt, x)
        chk.compare("%s encode(%s) of every decoded value" % (name, tag), x, got,
                    reference_encode(fmt, x))
        chk.compare("%s encode(%s) round-trips every finite pattern" % (name, tag),
                    x[finite], got[finite], patterns[finite])

        for label, x in (("halfway and +-1ulp", boundary_inputs(fmt, float_type)),
                         ("specials", special_inputs(fmt, float_type))):
            chk.compare("%s encode(%s) %s" % (name, tag, label), x, c_encode(chk, fmt, x),
                        reference_encode(fmt, x))

    x = random_f32(rng, RANDOM_F32)
    chk.compare(name + " encode(f32) random bit patterns", x, c_encode(chk, fmt, x),
                reference_encode(fmt, x))
    x = random_f64(rng, RANDOM_F64)
    chk.compare(name + " encode(f64) random", x, c_encode(chk, fmt, x),
                reference_encode(fmt, x))

    x = random_f32(rng, RANDOM_F32 // 4)
    got = np.frombuffer(chk.run(["round", name], x.tobytes()), dtype=np.float32)
    with np.errstate(all="ignore"):
        want = reference_encode(fmt, x).view(fmt.np_type).astype(np.float32)
    chk.compare(name + " round_f32_to random", x, got.astype(np.float64),
                want.astype(np.float64), same_double)


def check_reference_trick(chk, rng):
    """round_to_odd_f32 followed by an f32 cast must equal numpy's direct f64 -> f16."""
    f16 = FORMATS[1]
    x = np.concatenate([boundary_inputs(f16, np.float64), random_f64(rng, RANDOM_F64)])
    chk.compare("reference: round-to-odd path == direct f64->f16", x,
                reference_encode(f16, x, via_round_to_odd=True),
                reference_encode(f16, x, via_round_to_odd=False))


def check_f32(chk, rng):
    x = random_f32(rng, RANDOM_F32 // 4)
    bits = x.view(np.uint32)
    decoded = np.frombuffer(chk.run(["decode", "f32"], bits.tobytes()), dtype=np.float64)
    chk.compare("f32 decode random patterns", bits, decoded, x.astype(np.float64),
                same_double)
    # f32 has too many values for the exhaustive sets: sample points and their halfways.
    pts = np.concatenate([x.astype(np.float64), random_f64(rng, RANDOM_F64)])
    low = pts.astype(np.float32)
    with np.errstate(all="ignore"):
        high = np.nextafter(low, np.float32(np.inf))
        mids = (low.astype(np.float64) + high.astype(np.float64)) / 2
    x64 = np.concatenate([pts, neighbours(mids[np.isfinite(mids)], np.float64)])
    chk.compare("f32 encode(f64) random and halfway", x64, c_encode(chk, F32, x64),
                reference_encode(F32, x64))


def reference_int(x, name):
    if name == "bool":
        return (x != 0).astype(np.uint8)
    if name == "i32":
        lo, hi, out_type = -2.0**31, 2.0**31, np.int32
    else:
        lo, hi, out_type = -2.0**63, 2.0**63, np.int64
    info = np.iinfo(out_type)
    t = np.trunc(x)
    out = np.zeros(len(x), dtype=out_type)
    fits = (t >= lo) & (t < hi)
    out[fits] = t[fits].astype(out_type)
    out[t >= hi] = info.max
    out[t < lo] = info.min
    out[np.isnan(x)] = 0
    return out


def check_ints(chk, rng):
    edges = [0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.0**31 - 1, 2.0**31 - 0.5, 2.0**31,
             -2.0**31, -2.0**31 - 0.5, -2.0**31 - 1, 2.0**63, -2.0**63, 2.0**63 - 1024,
             -2.0**63 - 2048, 1e300, np.inf, -np.inf, np.nan, 5e-324]
    x = np.concatenate([np.array(edges), rng.uniform(-3e9, 3e9, 200_000),
                        rng.uniform(-1e19, 1e19, 200_000), random_f64(rng, 200_000)])
    for name, out_type in (("i32", np.int32), ("i64", np.int64), ("bool", np.uint8)):
        got = np.frombuffer(chk.run(["encode", name, "f64"], x.tobytes()), dtype=out_type)
        chk.compare(name + " from f64", x, got, reference_int(x, name))


def find_binary(arg):
    """The binary itself, or where a build directory (meson puts it in tests/) has it."""
    parent = os.path.dirname(arg)
    for path in (arg, os.path.join(arg, "conv_dump"), os.path.join(arg, "tests", "conv_dump"),
                 os.path.join(parent, "tests", "conv_dump")):
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise SystemExit("check_conversions: no conv_dump binary at or under %s" % arg)


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: check_conversions.py CONV_DUMP_BINARY_OR_BUILD_DIR")
    chk = Checker(find_binary(sys.argv[1]))
    np.seterr(all="ignore")  # overflow and NaN casts are the point of the inputs
    rng = np.random.default_rng(20240611)
    start = time.time()
    check_reference_trick(chk, rng)
    for fmt in FORMATS:
        check_format(chk, fmt, rng)
    check_f32(chk, rng)
    check_ints(chk, rng)

    mismatches = sum(count for _, count, _ in chk.failures)
    for name, count, lines in chk.failures:
        print("MISMATCH %s: %d values" % (name, count))
        for line in lines:
            print("  " + line)
    print("check_conversions: %s: %d values in %d checks, %d mismatches (%.1f s)"
          % ("FAIL" if mismatches else "ok", chk.values, chk.checks, mismatches,
             time.time() - start))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
