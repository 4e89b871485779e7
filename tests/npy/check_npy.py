#!/usr/bin/env python3
"""Checks tilec's .npy reader and writer (src/interp/npy.c) through tests/npy/npy_tool:
every accepted descr and its conversion, C and Fortran order (strides), versions 1-3,
big-endian input, writing back (also from strided tensors), host_fill_random, and a
corpus of broken or unsupported files that must each be rejected with a message
naming the file and exit status 1 -- never a crash or a sanitizer report.

usage: check_npy.py NPY_TOOL_BINARY_OR_BUILD_DIR
Files are made with numpy; expected conversions come from numpy and ml_dtypes.
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import ml_dtypes
except ImportError:
    sys.stderr.write(
        "check_npy: ml_dtypes is not installed for %s\n"
        "  create the venv: /usr/bin/python3 -m venv --system-site-packages .venv && "
        ".venv/bin/pip install ml_dtypes\n" % sys.executable)
    sys.exit(2)

FLOAT_TARGETS = {
    "f32": (np.float32, np.uint32, None),
    "f16": (np.float16, np.uint16, None),
    "bf16": (ml_dtypes.bfloat16, np.uint16, None),
    "f8e4m3": (ml_dtypes.float8_e4m3fn, np.uint8, 448.0),
    "f8e5m2": (ml_dtypes.float8_e5m2, np.uint8, 57344.0),
}
# Sanitizers get their own exit codes so a crash can never pass for a clean rejection.
SANITIZER_ENV = dict(os.environ, ASAN_OPTIONS="exitcode=99:detect_leaks=1",
                     UBSAN_OPTIONS="halt_on_error=1:exitcode=98")


class Checker:
    def __init__(self, tool, workdir):
        self.tool = tool
        self.workdir = workdir
        self.passed = 0
        self.failures = []
        self.serial = 0

    def path(self, name):
        self.serial += 1
        return os.path.join(self.workdir, "%03d_%s" % (self.serial, name))

    def run(self, *args):
        return subprocess.run([self.tool] + list(args), capture_output=True, text=True,
                              env=SANITIZER_ENV)

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
        return ok

    def load(self, dtype, path, what):
        """Run `npy_tool load`; a dict of its output, or None after recording a failure."""
        proc = self.run("load", dtype, path)
        if not self.check(proc.returncode == 0, "%s: load failed (rc %d): %s"
                          % (what, proc.returncode, proc.stderr.strip())):
            return None
        return parse_dump(proc.stdout)

    def reject(self, dtype, path, what, must_contain=None):
        proc = self.run("load", dtype, path)
        err = proc.stderr
        clean = ("Sanitizer" not in err and "runtime error" not in err
                 and proc.returncode == 1 and path in err and "npy_tool: " in err)
        if must_contain is not None:
            clean = clean and must_contain in err
        self.check(clean, "%s: expected a clean rejection, got rc %d, stderr %r"
                   % (what, proc.returncode, err.strip()[:300]))


def parse_dump(text):
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(" ")
        out[key] = rest.split()
    return out


def save_npy(chk, name, array, version=None):
    path = chk.path(name + ".npy")
    if version is None:
        np.save(path, array)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, version=version)
    return path


def round_to_odd_f32(x):
    """f64 -> f32 toward zero, last bit set when inexact: a later rounding to a format
    of fewer bits is then exact (ml_dtypes itself rounds f64 through f32 twice)."""
    nearest = x.astype(np.float32)
    back = nearest.astype(np.float64)
    inexact = (back != x) & ~np.isnan(x)
    bits = nearest.view(np.uint32).copy()
    bits[inexact & (np.abs(back) > np.abs(x))] -= 1
    bits[inexact] |= 1
    return bits.view(np.float32)


def expected_float_bits(target, values):
    """The target's bits for float64 values: RNE, fp8 saturating, canonical NaN."""
    np_type, bits_type, max_value = FLOAT_TARGETS[target]
    src = round_to_odd_f32(values) if target in ("bf16", "f8e4m3", "f8e5m2") else values
    if max_value is not None:
        src = np.clip(src, -max_value, max_value)
    bits = src.astype(np_type).view(bits_type).copy()
    width = np.dtype(bits_type).itemsize * 8
    nan = np.isnan(values)
    if max_value is not None:
        bits[nan] = 0x7F
    else:
        canonical = {"f32": 0x7FC00000, "f16": 0x7E00, "bf16": 0x7FC0}[target]
        sign = np.signbit(values).astype(np.uint64) << np.uint64(width - 1)
        bits[nan] = (np.uint64(canonical) | sign[nan]).astype(bits_type)
    return bits


def strides_of(array):
    return [s // array.itemsize for s in array.strides]


def raw_of(dump):
    return np.array([int(v, 16) for v in dump["raw"]], dtype=np.uint64)


def check_layout(chk, dump, array, what):
    chk.check(dump["shape"] == [str(d) for d in array.shape],
              "%s: shape %s != %s" % (what, dump["shape"], array.shape))
    want = [str(s) for s in strides_of(array)] if array.size else None
    chk.check(want is None or dump["strides"] == want,
              "%s: strides %s != %s" % (what, dump["strides"], want))


def float_sources():
    """Float64 values covering specials, halfway cases and saturation."""
    rng = np.random.default_rng(5)
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, np.nan, 448.0, 464.0, 465.0,
                500.0, 57344.0, 61440.0, 61441.0, 1e10, 1 + 2**-8, 1 + 2**-9, 65504.0,
                65520.0, 2.0**-24, 2.0**-25, 2.0**-133, 2.0**-9, 1e-3]
    values = np.array(specials + list(-np.array(specials)), dtype=np.float64)
    return np.concatenate([values, rng.uniform(-3, 3, 200), rng.standard_normal(200) * 1e3])


def check_float_inputs(chk):
    source = float_sources()
    for descr in ("<f2", "<f4", "<f8", ">f4", ">f8", ">f2"):
        array = source.astype(descr).reshape(-1, 2)
        as_f64 = array.astype(np.float64)  # exact: every f2/f4 value is a double
        for target in FLOAT_TARGETS:
            for order in ("C", "F"):
                arr = np.asfortranarray(array) if order == "F" else array
                what = "%s %s-order into %s" % (descr, order, target)
                dump = chk.load(target, save_npy(chk, "float", arr), what)
                if dump is None:
                    continue
                check_layout(chk, dump, arr, what)
                want = expected_float_bits(target, as_f64.ravel(order=order))
                got = raw_of(dump)
                chk.check(np.array_equal(got, want.astype(np.uint64)),
                          "%s: raw bits differ: got %s want %s"
                          % (what, got[:8], want[:8]))
                values = np.array([float.fromhex(v) for v in dump["values"]])
                decoded = want_values(target, expected_float_bits(target, as_f64.ravel()))
                chk.check(np.array_equal(values, decoded, equal_nan=True),
                          "%s: values in C order differ" % what)


def want_values(target, bits):
    np_type = FLOAT_TARGETS[target][0]
    return bits.view(np_type).astype(np.float64)


def check_bits_inputs(chk):
    rng = np.random.default_rng(6)
    for target, descr, bits_type in (("bf16", "<u2", np.uint16), ("f16", "<u2", np.uint16),
                                     ("bf16", ">u2", np.uint16),
                                     ("f8e4m3", "|u1", np.uint8), ("f8e5m2", "|u1", np.uint8)):
        bits = np.arange(1 << (8 * np.dtype(bits_type).itemsize), dtype=np.uint64)
        bits = rng.permutation(bits).astype(bits_type).reshape(16, -1)
        for order in ("C", "F"):
            arr = np.asfortranarray(bits) if order == "F" else bits
            what = "%s bits %s-order into %s" % (descr, order, target)
            dump = chk.load(target, save_npy(chk, "bits", arr.astype(descr)), what)
            if dump is None:
                continue
            check_layout(chk, dump, arr, what)
            chk.check(np.array_equal(raw_of(dump), arr.ravel(order=order).astype(np.uint64)),
                      "%s: bits not kept exactly" % what)


def check_int_inputs(chk):
    small = np.array([[0, 1, -1], [2**31 - 1, -2**31, 7]], dtype=np.int64)
    big = np.array([0, 2**40, -2**63, 2**63 - 1], dtype=np.int64)
    cases = [("<i4", "i32", small), ("<i4", "i64", small), ("<i8", "i32", small),
             ("<i8", "i64", small), ("<i8", "i64", big), (">i4", "i32", small),
             (">i8", "i64", big)]
    for descr, target, values in cases:
        for order in ("C", "F"):
            arr = np.asfortranarray(values) if order == "F" else values
            what = "%s %s-order into %s" % (descr, order, target)
            dump = chk.load(target, save_npy(chk, "int", arr.astype(descr)), what)
            if dump is None:
                continue
            check_layout(chk, dump, arr, what)
            got = [int(v) for v in dump["values"]]
            chk.check(got == [int(v) for v in values.ravel()], "%s: values %s" % (what, got))
    bools = np.array([[True, False, True], [False, False, True]])
    for order in ("C", "F"):
        arr = np.asfortranarray(bools) if order == "F" else bools
        what = "|b1 %s-order into bool" % order
        dump = chk.load("bool", save_npy(chk, "bool", arr), what)
        if dump is not None:
            check_layout(chk, dump, arr, what)
            chk.check(dump["values"] == [str(int(v)) for v in bools.ravel()],
                      "%s: values %s" % (what, dump["values"]))


def check_shapes_and_versions(chk):
    shapes = [(), (5,), (1,), (0,), (3, 0), (3, 0, 2), (2, 1, 3, 1, 2, 1, 1, 2)]
    for shape in shapes:
        arr = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
        for version in (None, (1, 0), (2, 0), (3, 0)):
            for order in ("C", "F"):
                a = np.asfortranarray(arr) if order == "F" else arr
                what = "shape %s version %s %s-order" % (shape, version, order)
                dump = chk.load("f32", save_npy(chk, "shape", a, version), what)
                if dump is None:
                    continue
                check_layout(chk, dump, a, what)
                values = [float.fromhex(v) for v in dump["values"]]
                chk.check(values == list(arr.ravel().astype(float)),
                          "%s: values %s" % (what, values[:8]))


def handmade(chk, name, header, data=b"", version=1, magic=b"\x93NUMPY"):
    """A .npy file with a literal header (no padding rules applied)."""
    head = header.encode("latin-1")
    length = struct.pack("<H", len(head)) if version == 1 else struct.pack("<I", len(head))
    path = chk.path(name + ".npy")
    with open(path, "wb") as f:
        f.write(magic + bytes([version, 0]) + length + head + data)
    return path


def check_header_variants(chk):
    data = np.arange(6, dtype="<f4").tobytes()
    variants = [
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
        "{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }\n",
        '{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}   \n',
        "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
    ]
    for i, header in enumerate(variants):
        what = "header variant %r" % header
        dump = chk.load("f32", handmade(chk, "variant%d" % i, header, data), what)
        if dump is not None:
            chk.check(dump["shape"] == ["2", "3"] and dump["strides"] == ["3", "1"],
                      "%s: shape/strides %s %s" % (what, dump["shape"], dump["strides"]))
    dump = chk.load("f32", handmade(chk, "fortran", "{'descr': '<f4', 'fortran_order': "
                                    "True, 'shape': (2, 3)}", data), "handmade fortran")
    if dump is not None:
        chk.check(dump["strides"] == ["1", "2"] and
                  [float.fromhex(v) for v in dump["values"]] == [0, 2, 4, 1, 3, 5],
                  "handmade fortran: %s" % dump)
    trailing = handmade(chk, "trailing", "{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (6,)}", data + b"extra bytes")
    chk.load("f32", trailing, "trailing bytes after the data are ignored")


def check_rejections(chk):
    good = save_npy(chk, "good", np.arange(12, dtype=np.float32).reshape(3, 4))
    blob = open(good, "rb").read()
    header_end = 10 + struct.unpack("<H", blob[8:10])[0]
    for cut in (0, 3, 6, 8, 9, 10, 20, header_end - 1, header_end, header_end + 1,
                len(blob) - 1):
        path = chk.path("cut%d.npy" % cut)
        open(path, "wb").write(blob[:cut])
        chk.reject("f32", path, "file truncated at byte %d" % cut)

    def corrupt(name, edit):
        path = chk.path(name + ".npy")
        open(path, "wb").write(edit(bytearray(blob)))
        return path

    chk.reject("f32", corrupt("badmagic", lambda b: b"\x93NUMPX" + b[6:]), "bad magic",
               "bad magic")
    chk.reject("f32", corrupt("version4", lambda b: b[:6] + bytes([4, 0]) + b[8:]),
               "version 4.0", "version")
    chk.reject("f32", corrupt("hdrlen", lambda b: b[:8] + struct.pack("<H", 60000) + b[10:]),
               "header length past the end", "past the end")

    f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': %s}"
    data = b"\0" * 48
    bad_headers = [
        ("hugedims", f4 % "(4611686018427387904, 4611686018427387904)", "too large"),
        ("overflowdim", f4 % "(99999999999999999999,)", "too large"),
        ("int64max", f4 % "(9223372036854775807, 2)", "too large"),
        ("bigdim", f4 % "(1099511627776,)", "truncated"),
        ("zero_and_huge", f4 % "(0, 4611686018427387904, 4611686018427387904)",
         "too large"),
        ("negdim", f4 % "(-1, 3)", "negative"),
        ("rank9", f4 % "(1, 1, 1, 1, 1, 1, 1, 1, 1)", "more than 8"),
        ("shape_not_tuple", f4 % "5", "malformed"),
        ("shape_list", f4 % "[2, 3]", "malformed"),
        ("shape_float", f4 % "(2.5,)", "malformed"),
        ("no_close", "{'descr': '<f4', 'fortran_order': False, 'shape': (12,)", "malformed"),
        ("missing_key", "{'descr': '<f4', 'shape': (12,)}", "malformed"),
        ("dup_key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                    "'shape': (12,)}", "twice"),
        ("unknown_key", "{'descr': '<f4', 'fortran_order': False, 'shape': (12,), "
                        "'x': 1}", "unexpected key"),
        ("not_dict", "[1, 2, 3]", "malformed"),
        ("garbage_after", f4 % "(12,)" + " junk", "malformed"),
        ("bad_bool", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (12,)}",
         "malformed"),
        ("unterminated", "{'descr': '<f4, 'fortran_order': False, 'shape': (12,)}",
         "malformed"),
        ("empty", "", "malformed"),
        ("nul_in_header", "{'descr': '<f4'\0, 'fortran_order': False, 'shape': (12,)}",
         "malformed"),
        ("long_descr", "{'descr': '" + "x" * 100 + "', 'fortran_order': False, "
                       "'shape': (12,)}", "malformed"),
        ("structured", "{'descr': [('a', '<f4')], 'fortran_order': False, "
                       "'shape': (12,)}", "structured"),
    ]
    for name, header, expect in bad_headers:
        chk.reject("f32", handmade(chk, name, header, data), "header %s: %r" % (name, header),
                   expect)
    v2 = handmade(chk, "v2_hdrlen", "x", version=2)
    with open(v2, "r+b") as f:
        f.seek(8)
        f.write(struct.pack("<I", 0xFFFFFFFF))
    chk.reject("f32", v2, "v2 header length 4 GiB", "past the end")

    chk.reject("f32", os.path.join(chk.workdir, "does_not_exist.npy"), "missing file",
               "cannot open")
    chk.reject("f32", chk.workdir, "a directory")


def check_wrong_dtypes(chk):
    complex_file = save_npy(chk, "complex", np.zeros(3, dtype="<c8"))
    chk.reject("bf16", complex_file, "complex into bf16",
               "%s: dtype '<c8' cannot be passed to a bf16 parameter (expected "
               "float32/float16/float64 or uint16 bits)" % complex_file)
    object_file = chk.path("object.npy")
    np.save(object_file, np.array([1, "a"], dtype=object), allow_pickle=True)
    wrong = [
        ("<U3", np.array(["abc"]), "f32"), ("<u4", np.arange(3, dtype="<u4"), "f32"),
        ("<f4 into u8", np.zeros(3, "<f4"), "u8"), ("<f4 into i32", np.zeros(3, "<f4"), "i32"),
        ("<f8 into bool", np.zeros(3, "<f8"), "bool"), ("<i4 into f32", np.zeros(3, "<i4"), "f32"),
        ("<u2 into f32", np.zeros(3, "<u2"), "f32"), ("|u1 into bf16", np.zeros(3, "|u1"), "bf16"),
        ("<u2 into fp8", np.zeros(3, "<u2"), "f8e4m3"), ("|b1 into f32", np.zeros(3, "|b1"), "f32"),
        ("|b1 into i32", np.zeros(3, "|b1"), "i32"), ("<i8 into bool", np.zeros(3, "<i8"), "bool"),
        ("|b1 into i8", np.zeros(3, "|b1"), "i8"), ("<f2 into i64", np.zeros(3, "<f2"), "i64"),
    ]
    for name, array, target in wrong:
        path = save_npy(chk, "wrong", array)
        chk.reject(target, path, "%s for %s" % (name, target), "cannot be passed")
    chk.reject("f32", object_file, "object array", "cannot be passed")
    too_big = save_npy(chk, "i8big", np.array([1, 2, 3000000000], dtype="<i8"))
    chk.reject("i32", too_big, "i8 out of range for i32", "value 3000000000")
    # any integer file reaches any integer dtype, each value checked against its range
    chk.reject("u8", save_npy(chk, "neg", np.array([0, -1], "|i1")), "-1 into u8", "value -1")
    chk.reject("i16", save_npy(chk, "big", np.array([40000], "<u4")), "40000 into i16",
               "value 40000")
    chk.reject("u32", save_npy(chk, "big", np.array([1 << 32], "<i8")), "2^32 into u32",
               "value 4294967296")
    chk.reject("i64", save_npy(chk, "huge", np.array([1 << 63], "<u8")), "2^63 into i64",
               "value 9223372036854775808")


def check_save(chk):
    rng = np.random.default_rng(8)
    base = rng.uniform(-2, 2, (3, 4, 5))
    base[0, 0, :3] = [np.nan, np.inf, -0.0]
    for target in FLOAT_TARGETS:
        expected = want_values(target, expected_float_bits(target, base.ravel()))
        expected = expected.reshape(base.shape).astype(np.float32)
        for order in ("C", "F"):
            src = np.asfortranarray(base) if order == "F" else base
            inp = save_npy(chk, "save_in", src)
            for transpose in (False, True):
                out = chk.path("save_out.npy")
                args = ["save", target, inp, out] + (["--transpose"] if transpose else [])
                proc = chk.run(*args)
                what = "save %s from %s-order%s" % (target, order,
                                                    " transposed" if transpose else "")
                if not chk.check(proc.returncode == 0, "%s: %s" % (what, proc.stderr)):
                    continue
                got = np.load(out)
                want = expected.T if transpose else expected
                chk.check(got.dtype == np.dtype("<f4") and not np.isfortran(got)
                          and np.array_equal(got, want, equal_nan=True)
                          and np.array_equal(np.signbit(got), np.signbit(want)),
                          "%s: saved array differs" % what)
    ints = [("i32", np.arange(-6, 6, dtype="<i4").reshape(3, 4), "<i4"),
            ("i64", np.array([[-2**63, 2**63 - 1], [5, -7]], dtype="<i8"), "<i8"),
            ("bool", np.array([[True, False], [False, True]]), "|b1")]
    for target, array, descr in ints:
        for transpose in (False, True):
            out = chk.path("save_int.npy")
            inp = save_npy(chk, "save_int_in", np.asfortranarray(array))
            proc = chk.run("save", target, inp, out, *(["--transpose"] if transpose else []))
            if not chk.check(proc.returncode == 0, "save %s: %s" % (target, proc.stderr)):
                continue
            got = np.load(out)
            want = array.T if transpose else array
            chk.check(got.dtype == np.dtype(descr) and np.array_equal(got, want),
                      "save %s transpose=%s: %s" % (target, transpose, got))
    for shape in ((), (0,), (2, 0, 3)):
        inp = save_npy(chk, "save_shape_in", np.zeros(shape, np.float32))
        out = chk.path("save_shape.npy")
        proc = chk.run("save", "bf16", inp, out)
        ok = proc.returncode == 0 and np.load(out).shape == shape
        chk.check(ok, "save shape %s: %s" % (shape, proc.stderr))
        if ok:
            with open(out, "rb") as f:
                header_len = struct.unpack("<H", f.read(10)[8:10])[0]
            chk.check((10 + header_len) % 64 == 0, "save: data not 64-byte aligned")
    proc = chk.run("save", "f32", inp, os.path.join(chk.workdir, "no_dir", "x.npy"))
    chk.check(proc.returncode == 1 and "no_dir" in proc.stderr,
              "save into a missing directory: %r" % proc.stderr)


def check_random_fill(chk):
    def fill(dtype, seed, *dims):
        out = chk.path("random.npy")
        proc = chk.run("random", dtype, str(seed), out, *[str(d) for d in dims])
        chk.check(proc.returncode == 0, "random %s: %s" % (dtype, proc.stderr))
        return np.load(out) if proc.returncode == 0 else None

    for dtype in ("f32", "f16", "bf16", "f8e4m3", "f8e5m2", "i32", "i64", "bool"):
        a, b, c = fill(dtype, 42, 64, 65), fill(dtype, 42, 64, 65), fill(dtype, 43, 64, 65)
        if a is None or b is None or c is None:
            continue
        chk.check(np.array_equal(a, b), "random %s: same seed, different data" % dtype)
        chk.check(not np.array_equal(a, c), "random %s: seeds 42 and 43 agree" % dtype)
        if dtype in FLOAT_TARGETS:
            lo, hi, distinct = -1.0, 1.0, 10
            chk.check(a.min() >= lo and a.max() < hi, "random %s out of [-1,1)" % dtype)
        elif dtype == "bool":
            distinct = 2
        else:
            chk.check(a.min() >= -8 and a.max() < 8, "random %s out of [-8,8)" % dtype)
            distinct = 16
        chk.check(len(np.unique(a)) >= distinct, "random %s: too few distinct values"
                  % dtype)


def find_binary(arg):
    """The binary itself, or where a build directory (meson puts it in tests/) has it."""
    parent = os.path.dirname(arg)
    for path in (arg, os.path.join(arg, "npy_tool"), os.path.join(arg, "tests", "npy_tool"),
                 os.path.join(parent, "tests", "npy_tool")):
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise SystemExit("check_npy: no npy_tool binary at or under %s" % arg)


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: check_npy.py NPY_TOOL_BINARY_OR_BUILD_DIR")
    tool = os.path.abspath(find_binary(sys.argv[1]))
    np.seterr(all="ignore")
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="check_npy_") as workdir:
        chk = Checker(tool, workdir)
        for step in (check_float_inputs, check_bits_inputs, check_int_inputs,
                     check_shapes_and_versions, check_header_variants, check_rejections,
                     check_wrong_dtypes, check_save, check_random_fill):
            step(chk)
    for failure in chk.failures[:20]:
        print("FAIL " + failure)
    print("check_npy: %s: %d checks passed, %d failed (%.1f s)"
          % ("FAIL" if chk.failures else "ok", chk.passed, len(chk.failures),
             time.time() - start))
    return 1 if chk.failures else 0


if __name__ == "__main__":
    sys.exit(main())
