"""Compiler faults of issue 17: codegen crashes, hangs and unbounded work (tuner helper,
bundle variants, interpreter programs and bytes, the simplifier), silent wrong answers
(integer arithmetic, literals, repeated keys) and unclear messages (names, indices)."""
import os
import resource
import struct
import time

from suite_reliability import Fail, case, find_ptxas

CAST_DTYPES = ["f32", "f16", "bf16", "f8e4m3", "f8e5m2", "i32", "i64", "bool"]


def ptx_accepted(t, tile, args=()):
    """tilec build --emit=ptx TILE compiles, and ptxas -arch=sm_90a takes the PTX (when
    ptxas is installed). Returns (ok, detail)."""
    ptx = tile[:-5] + ".ptx"
    rc, out = t.tilec_run("build", "--emit=ptx", "-o", ptx, *args, tile)
    if rc != 0:
        return False, f"{os.path.basename(tile)} {' '.join(args)}: build exit {rc}\n{out[-1500:]}"
    ptxas = find_ptxas()
    if not ptxas:
        return True, "ptxas not found: PTX not assembled"
    rc, out = t.run([ptxas, "-arch=sm_90a", ptx, "-o", os.devnull])
    return rc == 0, f"{os.path.basename(tile)}: ptxas exit {rc}\n{out[-1500:]}"


def all_accepted(t, tiles):
    for tile, args in tiles:
        ok, detail = ptx_accepted(t, tile, args)
        if not ok:
            return False, detail
    return True, ""


def save_npy(path, dtype_code, shape, values):
    """A C-order .npy of little-endian values ('<f4', '<i4', ...)."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype_code, "".join(f"{n}, " for n in shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    fmt = {"<f4": "f", "<i4": "i", "<i8": "q"}[dtype_code]
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%d%s" % (len(values), fmt), *values))


def load_npy_ints(path):
    data = open(path, "rb").read()
    hlen = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + hlen].decode()
    body = data[10 + hlen:]
    if "'<i4'" in header:
        return list(struct.unpack("<%di" % (len(body) // 4), body))
    if "'<i8'" in header:
        return list(struct.unpack("<%dq" % (len(body) // 8), body))
    raise Fail(f"{path}: not an integer .npy: {header}")


# ---- crashes ---------------------------------------------------------------------------

@case("crash/float_to_int_cast")
def _(t):
    """Every cast pair, float->int included (llvm.fptosi.sat has two overload types)."""
    tiles = []
    for a in CAST_DTYPES:
        for b in CAST_DTYPES:
            if a == b:
                continue
            tiles.append((t.write(f"cast_{a}_{b}.tile", f"""\
kernel k(x: {a}[M, N], y: {b}[M, N], s: {a}[1], r: {b}[1]) {{
    for m, n in tile(M, N) {{
        y[m, n] = x[m, n].to({b})
        r[0] = s[0].to({b})
    }}
}}
"""), ()))
    return all_accepted(t, tiles)


@case("crash/broadcast_loaded_tile_new_last_axis")
def _(t):
    """A loaded tile given a new axis in either operand order, stored alone, transposed,
    converted or carried through a loop: each fetches its operand through scratch."""
    bodies = {
        "add_left": "y[m, n] = x[m][:, None] + z[m, n]",
        "add_right": "y[m, n] = z[m, n] + x[m][:, None]",
        "store": "y[m, n] = x[m][:, None]",
        "first_axis_left": "y[m, n] = w[n][None, :] + z[m, n]",
        "first_axis_store": "y[m, n] = w[n][None, :]",
        "mul_where": "y[m, n] = where(z[m, n] > 0.0, x[m][:, None] * z[m, n], 0.0)",
        "transpose": "y[m, n] = x[m][:, None] + zt[n, m].T",
        "of_exp": "y[m, n] = exp(x[m])[:, None] + z[m, n]",
        "to_int": "i[m, n] = x[m].to(i32)[:, None] + zeros([m, n], i32)",
        "carried": "s = x[m][:, None] + zeros([m, n], f32)\n"
                   "        for k in tile(N) {\n"
                   "            s = s * 0.5\n"
                   "        }\n"
                   "        y[m, n] = s",
    }
    tiles = []
    for name, body in bodies.items():
        tiles.append((t.write(f"{name}.tile", f"""\
kernel k(x: f32[M], w: f32[N], z: f32[M, N], zt: f32[N, M], y: f32[M, N], i: i32[M, N]) {{
    for m, n in tile(M, N) {{
        {body}
    }}
}}
"""), ()))
        tiles.append((tiles[-1][0], ("--config", "BLOCK_M=16,BLOCK_N=128,num_warps=8")))
    return all_accepted(t, tiles)


# ---- hangs and unbounded work ----------------------------------------------------------

@case("hang/tune_space_shape_above_2_62", timeout=20)
def _(t):
    src = t.write("copy.tile", """\
kernel copy(x: f32[M], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m]
    }
}
""")
    return t.expect(["tune", src, "--space", "--shape", "M=4611686018427387905"], 0, "BLOCK_M")


def const_bools_kernel(t, n):
    params = ", ".join(f"c{i}: const bool" for i in range(n))
    terms = "".join(f"\n        if c{i} {{ v = v + {i + 1}.0 }}" for i in range(n))
    return t.write(f"consts{n}.tile", f"""\
kernel k(x: f32[M], y: f32[M], {params}) {{
    for m in tile(M) {{
        v = x[m]{terms}
        y[m] = v
    }}
}}
""")


@case("limit/bundle_variants", timeout=30)
def _(t):
    """2 targets x 2^9 const combinations x 2 alignment classes: refused at once, naming what
    multiplies."""
    src = const_bools_kernel(t, 9)
    start = time.time()
    ok, detail = t.expect(["build", src, "-o", t.path("k.tbn")], 1, "2048 variants")
    if not ok:
        return ok, detail
    rc, out = t.tilec_run("build", src, "-o", t.path("k.tbn"))
    for needle in ("targets (2)", "c0", "c8", "--max-variants", "256"):
        if needle not in out:
            return False, f"wanted {needle!r} in:\n{out}"
    if os.path.exists(t.path("k.tbn")):
        return False, "a bundle was written"
    return time.time() - start < 10, f"took {time.time() - start:.1f}s"


@case("limit/bundle_variants_flag")
def _(t):
    src = const_bools_kernel(t, 2)
    ok, detail = t.expect(["build", src, "-o", t.path("k.tbn"), "--target", "sm_90a",
                           "--max-variants", "4"], 1, "8 variants")
    if not ok:
        return ok, detail
    return t.expect(["build", src, "-o", t.path("k.tbn"), "--target", "sm_90a",
                     "--max-variants", "8"], 0, "")


GRID_OF_N = """\
kernel k(y: f32[M], n: i64) {
    for m in tile(n) {
        y[m] = zeros([m], f32) + 1.0
    }
}
"""


@case("limit/interp_programs", timeout=20)
def _(t):
    src = t.write("grid.tile", GRID_OF_N)
    ok, detail = t.expect(["run", "--interpret", src, "--shape", "M=4", "--set",
                           "n=1099511627776"], 1, "--max-programs")
    if not ok:
        return ok, detail
    ok, detail = t.expect(["run", "--interpret", src, "--shape", "M=4", "--set", "n=4096",
                           "--config", "BLOCK_M=16", "--max-programs", "255"], 1, "256 programs")
    if not ok:
        return ok, detail
    ok, detail = t.expect(["run", "--interpret", src, "--shape", "M=4", "--set", "n=4096",
                           "--config", "BLOCK_M=16", "--max-programs", "256"], 0, "y: f32[4] sum=4")
    if not ok:
        return ok, detail
    inner = t.write("inner.tile", """\
kernel k(y: f32[M], n: i64) {
    for m in tile(M) {
        acc = zeros([m], f32)
        for j in tile(n) {
            acc += 1.0
        }
        y[m] = acc
    }
}
""")
    return t.expect(["run", "--interpret", inner, "--shape", "M=4", "--set", "n=1099511627776"],
                    1, "loop j runs 17179869184 blocks")


@case("limit/interp_extent_overflows_i64", timeout=20)
def _(t):
    src = t.write("square.tile", """\
kernel k(y: f32[M], n: i64) {
    for m in tile(n * n) {
        y[m] = zeros([m], f32) + 1.0
    }
}
""")
    for n in ("3037000500", "4294967297"):
        ok, detail = t.expect(["run", "--interpret", src, "--shape", "M=4", "--set", f"n={n}"],
                              1, "overflows i64")
        if not ok:
            return ok, f"n={n}: {detail}"
        rc, out = t.tilec_run("run", "--interpret", src, "--shape", "M=4", "--set", f"n={n}")
        if "square.tile:2:" not in out:
            return False, f"no location in:\n{out}"
    return True, ""


@case("limit/interp_bytes", timeout=20)
def _(t):
    huge = t.write("huge.tile", """\
kernel k(x: f32[2147483647, 2147483647], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m, 0]
    }
}
""")
    ok, detail = t.expect(["run", "--interpret", huge, "--shape", "M=4"], 1, "--max-bytes")
    if not ok:
        return ok, detail
    literal = t.write("literal.tile", """\
kernel k(x: f32[2147483647], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m]
    }
}
""")
    ok, detail = t.expect(["run", "--interpret", literal, "--shape", "M=4"], 1,
                          "x: a tensor of 8589934588 bytes")
    if not ok:
        return ok, detail
    ok, detail = t.expect(["run", "--interpret", t.copy_example("gemm.tile"), "--shape",
                           "M=100000,N=100000,K=1"], 1, "c: a tensor of 20000000000 bytes")
    if not ok:
        return ok, detail
    src = t.write("copy.tile", """\
kernel k(x: f32[M], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m]
    }
}
""")
    ok, detail = t.expect(["run", "--interpret", src, "--shape", "M=1000", "--max-bytes", "4000"],
                          1, "--max-bytes")
    if not ok:
        return ok, detail
    return t.expect(["run", "--interpret", src, "--shape", "M=1000", "--max-bytes", "1000000"], 0,
                    "y: f32[1000]")


def big_kernel(lines):
    """A kernel of about `lines` lines: a live chain, repeated subexpressions, literal
    arithmetic to fold and dead values, inside a sequential loop."""
    out = ["kernel big(x: f32[M, K], y: f32[M], s: f32) {",
           "    for m in tile(M) {",
           "        acc = zeros([m], f32)",
           "        for k in tile(K) {",
           "            a = sum(x[m, k], axis=1)",
           "            d = a"]
    i = 0
    while len(out) < lines - 5:
        out.append(f"            a = a * 0.5 + ({i % 13}.0 * 2.0 - 1.0) * s")
        out.append(f"            d = a * 3.0 + s * 0.25")
        out.append(f"            a = a + (s * 0.25 - s * 0.25)")
        i += 1
    out += ["            acc += a", "        }", "        y[m] = acc", "    }", "}"]
    return "\n".join(out) + "\n"


def cpu_seconds_of(t, args, timeout):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc, out = t.tilec_run(*args, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return rc, out, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@case("hang/simplifier_32k_lines", timeout=120)
def _(t):
    """The TIR passes stay near-linear: 32k lines within a few CPU seconds (check alone takes
    a fraction of that). CPU time, not wall time, so a loaded machine does not fail it."""
    src = t.write("big.tile", big_kernel(32000))
    rc, out, check_s = cpu_seconds_of(t, ["check", src], 60)
    if rc != 0:
        return False, f"check exit {rc}\n{out[-2000:]}"
    rc, out, ir_s = cpu_seconds_of(t, ["build", "--emit=ir", "-o", t.path("big.ir"), src], 60)
    if rc != 0:
        return False, f"build exit {rc}\n{out[-2000:]}"
    limit = 3.0 if "asan" not in os.path.basename(t.build) else 12.0
    return ir_s < limit, f"--emit=ir of 32k lines took {ir_s:.2f} CPU s (check {check_s:.2f}), limit {limit}"


# ---- silent wrong answers and unclear messages -----------------------------------------

@case("wrong/cdiv_i32_interpreter_vs_folder")
def _(t):
    """cdiv of i32 run-time scalars in the interpreter equals the folded constant (both wrap
    a + b - 1 to 32 bits, as codegen does)."""
    runtime = t.write("runtime.tile", """\
kernel k(y: i32[M], a: i32, b: i32) {
    for m in tile(M) {
        y[m] = zeros([m], i32) + cdiv(a, b)
    }
}
""")
    folded = t.write("folded.tile", """\
kernel k(y: i32[M], a: const i32 in {2147483647}, b: const i32 in {2}) {
    for m in tile(M) {
        y[m] = zeros([m], i32) + cdiv(a, b)
    }
}
""")
    got = {}
    for name, src in (("runtime", runtime), ("folded", folded)):
        out_path = t.path(f"{name}.npy")
        rc, out = t.tilec_run("run", "--interpret", src, "--shape", "M=1", "--set", "a=2147483647",
                              "--set", "b=2", "--out", f"y={out_path}")
        if rc != 0:
            return False, f"{name}: exit {rc}\n{out}"
        got[name] = load_npy_ints(out_path)[0]
    return got["runtime"] == got["folded"] == -1073741824, f"got {got}"


@case("wrong/weak_literal_does_not_fit")
def _(t):
    cases = {
        "add": ("y[m] = x[m] + 4294967296", "3:23"),
        "compare": ("y[m] = where(x[m] < 4294967296, x[m], 0)", "3:29"),
        "store": ("y[m] = zeros([m], i32) + (2147483647 + 1)", "3:46"),
        "full": ("y[m] = full([m], 2147483648, i32)", "3:26"),
    }
    for name, (body, where) in cases.items():
        src = t.write(f"{name}.tile", f"""\
kernel k(x: i32[M], y: i32[M]) {{
    for m in tile(M) {{
        {body}
    }}
}}
""")
        ok, detail = t.expect(["check", src], 1, "does not fit i32")
        if not ok or f"{name}.tile:{where}: error" not in detail:
            return False, f"{name}: {detail}"
    fits = t.write("fits.tile", """\
kernel k(x: i32[M], y: i32[M]) {
    for m in tile(M) {
        y[m] = x[m] + 2147483647 + (-2147483648)
    }
}
""")
    return t.expect(["check", fits], 0, "")


@case("message/config_key_twice")
def _(t):
    attention = t.copy_example("attention.tile")
    for args, needle in (
            (["build", "--emit=ptx", "--config", "D=64,D=128", attention], "D=64|128"),
            (["build", attention, "-o", t.path("a.tbn"), "--config", "D=64,D=128"], "D=64|128"),
            (["build", attention, "-o", t.path("a.tbn"), "--config", "D=64,causal=true,causal=false"],
             "causal is given twice"),
            (["build", "--emit=ir", "--config", "causal=true,causal=false", attention],
             "causal is given twice")):
        ok, detail = t.expect(args, 2, needle)
        if not ok:
            return False, f"{' '.join(args[:3])}: {detail}"
    return not os.path.exists(t.path("a.tbn")), "a bundle was written"


@case("message/emit_twice")
def _(t):
    gemm = t.copy_example("gemm.tile")
    return t.expect(["build", "--emit=ptx", "--emit=ir", gemm], 2, "--emit given twice")


@case("message/space_set_twice")
def _(t):
    gemm = t.copy_example("gemm.tile")
    return t.expect(["tune", gemm, "--space", "--shape", "M=512,N=512,K=512",
                     "--space-set", "BLOCK_M=32", "--space-set", "BLOCK_M=64"], 2,
                    "--space-set BLOCK_M given twice")


@case("message/names_of_tunables_and_config_keys")
def _(t):
    for name in ("align", "num_warps", "num_stages", "group_m", "BLOCK_M"):
        src = t.write(f"sym_{name}.tile", f"""\
kernel k(x: f32[M, {name}], y: f32[M]) {{
    for m in tile(M) {{
        y[m] = x[m, 0]
    }}
}}
""")
        ok, detail = t.expect(["check", src], 1, "rename")
        if not ok or f"sym_{name}.tile:1:" not in detail:
            return False, f"shape symbol {name}: {detail}"
        src = t.write(f"const_{name}.tile", f"""\
kernel k(x: f32[M], y: f32[M], {name}: const bool) {{
    for m in tile(M) {{
        y[m] = x[m]
    }}
}}
""")
        ok, detail = t.expect(["check", src], 1, "rename")
        if not ok or f"const_{name}.tile:1:" not in detail:
            return False, f"const {name}: {detail}"
    return True, ""


@case("message/long_loop_variable")
def _(t):
    def kernel(var):
        return f"""\
kernel k(x: f32[M], y: f32[M]) {{
    for {var} in tile(M) {{
        y[{var}] = x[{var}]
    }}
}}
"""
    longest = t.write("longest.tile", kernel("v" * 57))
    ok, detail = t.expect(["build", "--emit=ptx", "-o", t.path("l.ptx"), longest], 0, "")
    if not ok:
        return ok, detail
    too_long = t.write("too_long.tile", kernel("v" * 58))
    ok, detail = t.expect(["check", too_long], 1, "at most 57")
    return ok and "too_long.tile:2:9: error" in detail, detail


@case("message/literal_index_outside_literal_dim")
def _(t):
    for index, where in (("-1", "3:21"), ("4", "3:21"), ("2 + 2", "3:23")):
        src = t.write("idx.tile", f"""\
kernel k(x: f32[M, 4], y: f32[M]) {{
    for m in tile(M) {{
        y[m] = x[m, {index}]
    }}
}}
""")
        ok, detail = t.expect(["check", src], 1, "outside dim 1 of x")
        if not ok or f"idx.tile:{where}: error" not in detail:
            return False, f"x[m, {index}]: {detail}"
    src = t.write("neg.tile", """\
kernel k(x: f32[M, N], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m, -1]
    }
}
""")
    ok, detail = t.expect(["check", src], 1, "negative")
    if not ok:
        return ok, detail
    src = t.write("last.tile", """\
kernel k(x: f32[M, 4], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m, 3]
    }
}
""")
    return t.expect(["check", src], 0, "")


@case("message/dims_numbered_one_way")
def _(t):
    """The second dim of x is dim 1 in check's messages and in run's (numpy's numbering)."""
    bad = t.write("bad.tile", """\
kernel k(x: f32[M, 0], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m, 0]
    }
}
""")
    ok, detail = t.expect(["check", bad], 1, "dim 1 of x has size 0")
    if not ok:
        return ok, detail
    src = t.write("good.tile", """\
kernel k(x: f32[M, 4], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m, 0]
    }
}
""")
    npy = t.path("x.npy")
    save_npy(npy, "<f4", (2, 5), [0.0] * 10)
    return t.expect(["run", "--interpret", src, "--in", f"x={npy}"], 1, "x: dim 1 must be 4")


@case("message/single_valued_options_twice")
def _(t):
    """A single-valued flag given twice is an error, not a silent last-one-wins."""
    gemm = t.copy_example("gemm.tile")
    for args, needle in ((["build", "--emit=ir", "-o", t.path("a.ir"), "-o", t.path("b.ir"), gemm],
                          "--output given twice"),
                         (["build", "--emit=ir", "--kernel", "gemm", "--kernel", "gemm", gemm],
                          "--kernel given twice"),
                         (["check", "--target", "sm_80", "--target", "sm_90a", gemm],
                          "--target given twice"),
                         (["run", "--interpret", "--target", "sm_80", "--target", "sm_89", gemm],
                          "--target given twice"),
                         (["tune", gemm, "--shape", "M=64,N=64,K=64", "--space", "--const", "x=1",
                           "--const", "y=2"], "--const given twice"),
                         (["tune", gemm, "--shape", "M=64,N=64,K=64", "--space", "--align", "unit",
                           "--align", "any"], "--align given twice"),
                         (["bench", gemm, "--reps", "3", "--reps", "4"], "--reps given twice"),
                         (["run", "--interpret", gemm, "--max-bytes", "1G", "--max-bytes", "2G"],
                          "--max-bytes given twice")):
        ok, detail = t.expect(args, 2, needle)
        if not ok:
            return False, f"{' '.join(args[:2])}: {detail}"
    return not os.path.exists(t.path("a.ir")) and not os.path.exists(t.path("b.ir")), "wrote output"


@case("hang/check_30k_distinct_locals", timeout=120)
def _(t):
    """Name lookup stays near-linear: a kernel of 30k distinct locals checks and lowers in a
    few CPU seconds (a scan of every visible local per name made it take 15)."""
    lines = ["kernel many(x: f32[M], y: f32[M], s: f32) {", "    for m in tile(M) {",
             "        a0 = x[m]"]
    lines += [f"        a{i} = a{i - 1} * 0.5 + s" for i in range(1, 30000)]
    lines += ["        y[m] = a29999", "    }", "}"]
    src = t.write("many.tile", "\n".join(lines) + "\n")
    rc, out, secs = cpu_seconds_of(t, ["build", "--emit=ir", "-o", t.path("many.ir"), src], 60)
    limit = 3.0 if "asan" not in os.path.basename(t.build) else 12.0
    return rc == 0 and secs < limit, f"exit {rc}, {secs:.2f} CPU s (limit {limit})\n{out[-1000:]}"


@case("message/numbers_past_int64")
def _(t):
    """A size or count beyond 64 bits is refused, not saturated to the largest one."""
    gemm = t.copy_example("gemm.tile")
    for args, needle in ((["run", "--interpret", gemm, "--shape", "M=99999999999999999999,N=4,K=4"],
                          "is not a size"),
                         (["tune", gemm, "--shape", "M=64,N=64,K=64", "--space", "--max-evals",
                           "99999999999999999999"], "expected a positive integer")):
        ok, detail = t.expect(args, 2, needle)
        if not ok:
            return False, f"{' '.join(args[:2])}: {detail}"
    return True, ""


@case("wrong/interp_masked_lane_offset")
def _(t):
    """A run-time index far outside its dim is masked off; the interpreter does not compute
    the offset of a lane it never accesses (index x stride overflowed: UBSan's report)."""
    src = t.write("far.tile", """\
kernel k(x: f32[N, M], y: f32[M], i: i64) {
    for m in tile(M) {
        y[m] = x[i, m]
    }
}
""")
    return t.expect(["run", "--interpret", src, "--shape", "M=4,N=4", "--set",
                     "i=4611686018427387904"], 0, "y: f32[4] sum=0")


@case("message/full_axis_size_limit")
def _(t):
    """A full axis is compiled in: a size past 65536 is refused everywhere the same way (the
    tuner's estimates overflowed, codegen truncated it to a 64x0 dot)."""
    attention = t.copy_example("attention.tile")
    for args, needle in ((["tune", attention, "--space", "--shape",
                           "Z=1,H=1,M=64,N=64,D=4611686018427387904"], "at most 65536"),
                         (["build", attention, "-o", t.path("a.tbn"), "--config",
                           "D=4611686018427387904,causal=true"], "from 1 to 65536"),
                         (["build", "--emit=ptx", "--config", "D=65537", attention],
                          "from 1 to 65536")):
        ok, detail = t.expect(args, 2, needle)
        if not ok:
            return False, f"{' '.join(args[:2])}: {detail}"
    return True, ""
