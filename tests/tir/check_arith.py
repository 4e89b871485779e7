#!/usr/bin/env python3
"""TIR's integer arithmetic gives one answer wherever it is computed: the folder (`tilec
build --emit=ir` with const parameters), the interpreter (`tilec run --interpret` with the
same values as scalars) and the grid `tilec run` launches, which libtile computes
(tbn_grid_blocks) after the GPU runner's check of its extents (gpu_grid_check), both
through tests/grid_tool. Each must equal what docs/ir.md defines, modelled here in Python,
for cdiv, div and mod near the i32 and i64 limits: in grid and loop extents and in stored
values. Division by zero: 0 in a stored value, an error in an extent (a compile error for a
const divisor, the GPU runner's check for a scalar one); libtile's own copy gives a grid of
0.

usage: check_arith.py BUILD_DIR   (prints a FAIL line per disagreement, then a summary;
exit 1 on any)"""
import os
import re
import struct
import subprocess
import sys
import tempfile

I32_MIN, I32_MAX = -2**31, 2**31 - 1
I64_MIN, I64_MAX = -2**63, 2**63 - 1


# ---- the model (docs/ir.md, Scalar arithmetic)

def wrap(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def div(a, b, bits):
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return wrap(q if (a < 0) == (b < 0) else -q, bits)


def mod(a, b, bits):
    if b == 0:
        return 0
    r = abs(a) % abs(b)
    return wrap(r if a >= 0 else -r, bits)


def cdiv(a, b, bits):
    return 0 if b == 0 else div(wrap(a + b - 1, bits), b, bits)


# ---- kernels: the same text with `a`, `b` as scalars (interpreter, grid) or consts (folder)

# Extents near the i32 limits, kept small by `% K + K` so the interpreter runs them.
KERNEL_I32 = """\
kernel k({a}, {b}, y: i64[N], w: i64[N], v: i64[N], z: i64[4]) {{
    for m in tile(cdiv(a, b) % 64 + 64) block(16) {{
        y[m] = full([m], 1, i64)
        for j in tile(a / b % 32 + 32) block(16) {{
            w[j] = full([j], 1, i64)
        }}
        for i in tile(a % b % 16 + 16) block(16) {{
            v[i] = full([i], 1, i64)
        }}
        z[0] = cdiv(a, b).to(i64)
        z[1] = (a / b).to(i64)
        z[2] = (a % b).to(i64)
        z[3] = (a * b - a + b).to(i64)
    }}
}}
"""

# Values near the i64 limits (x reaches INT64_MIN, which no literal can spell).
KERNEL_I64 = """\
kernel k({a}, {b}, y: i64[N], z: i64[8]) {{
    x = a - 1
    for m in tile(N) {{
        y[m] = full([m], 1, i64)
        z[0] = cdiv(a, b)
        z[1] = a / b
        z[2] = a % b
        z[3] = cdiv(x, b)
        z[4] = x / b
        z[5] = x % b
        z[6] = a * b
        z[7] = x - b
    }}
}}
"""

# A grid of one block-1 variable: as many programs as the extent.
KERNEL_GRID = """\
kernel k(a: {t}, b: {t}, y: i64[N]) {{
    for m in tile({expr}) block(1) {{
        y[0] = a.to(i64)
    }}
}}
"""


def expect_i32(a, b):
    z3 = wrap(wrap(wrap(a * b, 32) - a, 32) + b, 32)
    return {
        "grid": wrap(mod(cdiv(a, b, 32), 64, 32) + 64, 32),
        "j": wrap(mod(div(a, b, 32), 32, 32) + 32, 32),
        "i": wrap(mod(mod(a, b, 32), 16, 32) + 16, 32),
        "z": [cdiv(a, b, 32), div(a, b, 32), mod(a, b, 32), z3],
    }


def expect_i64(a, b):
    x = wrap(a - 1, 64)
    return [cdiv(a, b, 64), div(a, b, 64), mod(a, b, 64), cdiv(x, b, 64), div(x, b, 64),
            mod(x, b, 64), wrap(a * b, 64), wrap(x - b, 64)]


GRID_EXPRS = {
    "cdiv(a, b)": cdiv,
    "a / b": div,
    "a % b": mod,
    "a * b": lambda a, b, bits: wrap(a * b, bits),
    "a - b": lambda a, b, bits: wrap(a - b, bits),
}

PAIRS_I32 = [(I32_MAX, 2), (I32_MAX - 1, 2), (I32_MAX, I32_MAX), (I32_MIN, -1), (I32_MIN, 3),
             (I32_MIN, I32_MAX), (I32_MAX, -2), (2147483600, 100), (-7, 2), (1000, 7),
             (46341, 46341)]
PAIRS_I64 = [(I64_MAX, 2), (I64_MAX, I64_MAX), (I64_MIN + 1, -1), (I64_MIN + 1, 1),
             (I64_MIN + 1, 3), (I64_MAX, -2), (-7, 2), (7, 0)]


class Check:
    def __init__(self, build, tmp):
        self.tilec = os.path.join(build, "tilec")
        self.grid_tool = os.path.join(build, "tests", "grid_tool")
        self.tmp = tmp
        self.passed = self.failed = 0

    def record(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}")

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, args):
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr

    # ---- the three computations

    def folded(self, template, t, a, b):
        """The const kernel's IR: the constant extents of the loops and the stored values."""
        src = self.write("const.tile", template.format(a=f"a: const {t} in {{{a}}}",
                                                       b=f"b: const {t} in {{{b}}}"))
        rc, out = self.run([self.tilec, "build", "--emit=ir", src])
        if rc != 0:
            return None, out
        fulls = dict(re.findall(r"(%\d+) = full (-?\d+) : i64 ", out))
        extents = {var: fulls.get(v) for var, v in re.findall(r"(?:grid|for) (\w+) in tile\((%\d+)\)", out)}
        stores = {fulls.get(i): fulls.get(v) for i, v in re.findall(r"store z\[(%\d+)\], (%\d+)", out)}
        return {"extents": extents, "stores": stores}, out

    def interpreted(self, template, t, a, b, outputs, n):
        src = self.write("scalar.tile", template.format(a=f"a: {t}", b=f"b: {t}"))
        args = [self.tilec, "run", "--interpret", src, "--set", f"a={a}", "--set", f"b={b}",
                "--shape", f"N={n}"]
        for o in outputs:
            args += ["--out", f"{o}={os.path.join(self.tmp, o + '.npy')}"]
        rc, out = self.run(args)
        if rc != 0:
            return None, out
        return {o: read_npy_i64(os.path.join(self.tmp, o + ".npy")) for o in outputs}, out

    def grid(self, t, expr, a, b):
        src = self.write("grid.tile", KERNEL_GRID.format(t=t, expr=expr))
        rc, out = self.run([self.grid_tool, src, self.tmp, f"a={a}", f"b={b}"])
        check = re.search(r"^check (.*)$", out, re.M)
        libtile = re.search(r"^libtile (.*)$", out, re.M)
        return (check.group(1) if check else out), (libtile.group(1) if libtile else out)

    # ---- the cases

    def check_i32(self, a, b):
        want = expect_i32(a, b)
        what = f"i32 a={a} b={b}"
        fold, out = self.folded(KERNEL_I32, "i32", a, b)
        if fold is None:
            return self.record(False, f"{what}: the folder: {out}")
        got = [int(fold["stores"].get(str(i)) or 0) for i in range(4)]
        self.record(all(fold["stores"].get(str(i)) is not None for i in range(4)) and got == want["z"],
                    f"{what}: folded values {got}, want {want['z']}")
        for var in ("m", "j", "i"):
            e = fold["extents"].get(var)
            self.record(e is not None and int(e) == want["grid" if var == "m" else var],
                        f"{what}: folded extent of {var} {e}, want {want['grid' if var == 'm' else var]}")
        res, out = self.interpreted(KERNEL_I32, "i32", a, b, ["y", "w", "v", "z"], 128)
        if res is None:
            return self.record(False, f"{what}: the interpreter: {out}")
        self.record(res["z"] == want["z"], f"{what}: interpreted values {res['z']}, want {want['z']}")
        for out_name, key in (("y", "grid"), ("w", "j"), ("v", "i")):
            self.record(sum(res[out_name]) == want[key],
                        f"{what}: the interpreter's extent of {key} {sum(res[out_name])}, want {want[key]}")

    def check_i64(self, a, b):
        want = expect_i64(a, b)
        what = f"i64 a={a} b={b}"
        fold, out = self.folded(KERNEL_I64, "i64", a, b)
        if fold is None:
            return self.record(False, f"{what}: the folder: {out}")
        got = [fold["stores"].get(str(i)) for i in range(8)]
        self.record(None not in got and [int(g) for g in got] == want,
                    f"{what}: folded values {got}, want {want}")
        res, out = self.interpreted(KERNEL_I64, "i64", a, b, ["z"], 1)
        if res is None:
            return self.record(False, f"{what}: the interpreter: {out}")
        self.record(res["z"] == want, f"{what}: interpreted values {res['z']}, want {want}")

    def check_grid(self, t, bits, a, b):
        for expr, fn in GRID_EXPRS.items():
            e = max(fn(a, b, bits), 0)
            by_zero = b == 0 and expr in ("cdiv(a, b)", "a / b", "a % b")
            check, libtile = self.grid(t, expr, a, b)
            what = f"grid {t} tile({expr}) a={a} b={b}"
            if by_zero:
                self.record("grid.tile:" in check and "divides by zero" in check,
                            f"{what}: the GPU runner's check gives {check!r}, want an error")
                self.record(libtile == "0", f"{what}: libtile gives {libtile!r}, want 0 blocks")
                continue
            self.record(check == "ok", f"{what}: the GPU runner's check gives {check!r}")
            want_lib = str(e) if e <= I32_MAX else "error: more than 2^31 - 1 blocks"
            self.record(libtile == want_lib, f"{what}: libtile gives {libtile}, want {want_lib}")

    def check_division_by_zero(self):
        rc, out = self.run([self.tilec, "build", "--emit=ir", self.write(
            "zero.tile", KERNEL_I32.format(a="a: const i32 in {7}", b="b: const i32 in {0}"))])
        self.record(rc == 1 and "zero.tile:2:19: error: the extent of loop m divides by zero" in out,
                    f"a const divisor of 0 in an extent is a compile error at the cdiv: {rc} {out}")
        res, out = self.interpreted(KERNEL_I32, "i32", 7, 0, ["z"], 128)
        self.record(res is None and "scalar.tile:2:19: error: the extent of loop m divides by zero" in out,
                    f"a scalar divisor of 0 in an extent stops the interpreter at the cdiv: {out}")
        src = self.write("zero_sym.tile", """\
kernel k(b: const i32 in {0, 2}, y: i64[N]) {
    for m in tile(N + 1 / b) {
        y[m] = full([m], 1, i64)
    }
}
""")
        rc, out = self.run([self.tilec, "build", "--emit=ir", src])
        self.record(rc == 1 and "zero_sym.tile:2:25: error: the extent of loop m divides by zero" in out,
                    f"N + 1 / b with b = 0 is a compile error though N is not known: {rc} {out}")
        rc, out = self.run([self.tilec, "build", "--emit=ir", "--config", "b=2", src])
        self.record(rc == 0 and "tile(%0)" in out, f"with b = 2 it folds to N: {rc} {out}")
        # Values that share subexpressions (x = x + x, 40 times) are given up on in time.
        src = self.write("shared.tile", "kernel k(a: i64, y: i64[N]) {\n    x = a + a\n" +
                         "    x = x + x\n" * 40 + "    for m in tile(N) {\n"
                         "        y[m] = full([m], 0, i64) + x\n    }\n}\n")
        try:
            rc, out = self.run([self.tilec, "build", "--emit=ir", src])
        except subprocess.TimeoutExpired:
            rc, out = -1, "timed out"
        self.record(rc == 0, f"40 doublings of a scalar build: {rc} {out[-500:]}")


def read_npy_i64(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    header_len = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + header_len].decode("latin1")
    if "'<i8'" not in header:
        raise ValueError(f"{path}: not int64: {header}")
    body = data[10 + header_len:]
    return list(struct.unpack(f"<{len(body) // 8}q", body))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        c = Check(os.path.abspath(sys.argv[1]), tmp)
        for a, b in PAIRS_I32:
            c.check_i32(a, b)
            c.check_grid("i32", 32, a, b)
        for a, b in PAIRS_I64:
            c.check_i64(a, b)
            c.check_grid("i64", 64, a, b)
        c.check_grid("i32", 32, 7, 0)
        c.check_division_by_zero()
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
