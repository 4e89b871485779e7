"""Data-dependent loop bounds (issue 23): `for n in tile(lo, hi)` over [lo, hi) read from a
tensor (the offsets of a jagged batch), on the interpreter and in codegen for sm_90a and
sm_80, and a located error for what stays compile-time (the grid's extent)."""
import os
import struct

from suite_reliability import case

# Row sums of a jagged batch: sequence b is x[offsets[b]:offsets[b + 1]].
JAGGED_SUM = """kernel jagged_sum(offsets: i32[S], x: f32[T], out: f32[B]) {
    for b in tile(B) block(1) {
        acc = 0.0
        for n in tile(offsets[b], offsets[b.index + 1]) block(4) {
            acc += sum(x[n])
        }
        out[b] = acc
    }
}
"""


def write_npy(path, code, fmt, values):
    """A 1-D little-endian .npy of `values` (code '<i4' or '<f4', struct format i or f)."""
    header = f"{{'descr': '{code}', 'fortran_order': False, 'shape': ({len(values)},), }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
                struct.pack(f"<{len(values)}{fmt}", *values))


def read_f32(path):
    with open(path, "rb") as f:
        data = f.read()
    hlen = struct.unpack("<H", data[8:10])[0]
    body = data[10 + hlen:]
    return list(struct.unpack(f"<{len(body) // 4}f", body))


@case("varlen/jagged_range_interpreted")
def _(t):
    """Sums over [offsets[b], offsets[b.index + 1]) in blocks of 4: ragged last blocks, an empty
    sequence, a start that is not a multiple of the block."""
    src = t.write("jagged.tile", JAGGED_SUM)
    offsets = [0, 5, 5, 6, 17]
    x = [float(i % 7) - 2.5 for i in range(20)]   # past 17: never summed
    write_npy(t.path("offsets.npy"), "<i4", "i", offsets)
    write_npy(t.path("x.npy"), "<f4", "f", x)
    rc, out = t.tilec_run("run", "--interpret", src, "--in", "offsets=offsets.npy",
                          "--in", "x=x.npy", "--shape", "B=4", "--out", "out=out.npy")
    if rc != 0:
        return False, out[-2000:]
    got = read_f32(t.path("out.npy"))
    want = [sum(x[offsets[b]:offsets[b + 1]]) for b in range(4)]
    return got == want, f"got {got}, want {want}"


@case("varlen/jagged_range_ptx_sm90a_sm80")
def _(t):
    src = t.write("jagged.tile", JAGGED_SUM)
    for target in ("sm_90a", "sm_80"):
        rc, out = t.tilec_run("build", src, "--emit=ptx", "--target", target, "-o",
                              t.path(f"j_{target}.ptx"))
        if rc != 0:
            return False, f"{target}: {out[-2000:]}"
    return True, ""


@case("varlen/grid_extent_from_data")
def _(t):
    """The grid is sized before the launch: a load in its extent is a located error that
    says so."""
    src = t.write("grid.tile", """kernel g(n: i32[1], y: f32[M]) {
    for m in tile(n[0]) {
        y[m] = 1.0
    }
}
""")
    return t.expect(["check", src], 1, "grid.tile:2:20: error: the grid's extent may not read "
                    "a tensor")


@case("varlen/range_on_grid_loop")
def _(t):
    src = t.write("grid.tile", """kernel g(y: f32[M]) {
    for m in tile(1, M) {
        y[m] = 1.0
    }
}
""")
    return t.expect(["check", src], 1, "grid.tile:2:14: error: tile(lo, hi) ranges only a "
                    "sequential loop")


@case("varlen/if_on_loaded_scalar")
def _(t):
    """`if` on a scalar read from data: a run-time branch, uniform per program."""
    src = t.write("ifdata.tile", """kernel f(flag: i32[B], y: f32[B]) {
    for b in tile(B) block(1) {
        v = 1.0
        if flag[b] > 0 {
            v = 2.0
        } else {
            v = 3.0
        }
        y[b] = v
    }
}
""")
    write_npy(t.path("flag.npy"), "<i4", "i", [1, 0, 5])
    rc, out = t.tilec_run("run", "--interpret", src, "--in", "flag=flag.npy", "--out", "y=y.npy")
    if rc != 0:
        return False, out[-2000:]
    got = read_f32(t.path("y.npy"))
    return got == [2.0, 3.0, 2.0], f"got {got}"


@case("varlen/attention_example_builds", timeout=300)
def _(t):
    """examples/varlen_attention.tile builds for both default targets."""
    path = os.path.join(t.examples, "varlen_attention.tile")
    if not os.path.exists(path):
        return False, "no examples/varlen_attention.tile"
    src = t.copy_example("varlen_attention.tile")
    return t.expect(["build", src, "-o", t.path("v.tbn")], 0)


# A run-time if whose condition divides by a scalar: its extent is the condition, so x / 0
# takes the ops' own value (0, as on the GPU) and the else branch runs; a loop the author
# wrote with the same select() as its extent is index arithmetic and still reports it.
RUNTIME_IF = """kernel k(x: f32[M], n: i64, y: f32[M]) {
    for m in tile(M) {
        v = x[m]
        if 10 / n > 2 {
            v = v * 2.0
        } else {
            v = v + 1.0
        }
        y[m] = v
    }
}
"""
WRITTEN_SELECT = """kernel k(n: i64, y: f32[M]) {
    for m in tile(M) {
        acc = zeros([m], f32)
        for j in tile(where(10 / n > 2, 1, 0)) block(1) {
            acc += 1.0
        }
        y[m] = acc
    }
}
"""


@case("varlen/runtime_if_condition_divides_by_zero")
def _(t):
    src = t.write("if.tile", RUNTIME_IF)
    x = os.path.join(t.tmp, "x.npy")
    write_npy(x, "<f4", "f", [1.0, 2.0, -3.0])
    for n, want in (("0", [2.0, 3.0, -2.0]), ("1", [2.0, 4.0, -6.0]), ("5", [2.0, 3.0, -2.0])):
        y = os.path.join(t.tmp, f"y{n}.npy")
        rc, out = t.tilec_run("run", "--interpret", src, "--set", f"n={n}", "--in", f"x={x}",
                              "--out", f"y={y}")
        if rc != 0:
            return False, f"n={n}: exit {rc}\n{out}"
        if read_f32(y) != want:
            return False, f"n={n}: y = {read_f32(y)}, want {want}"
    loop = t.write("loop.tile", WRITTEN_SELECT)
    return t.expect(["run", "--interpret", loop, "--shape", "M=4", "--set", "n=0"], 1,
                    "the extent of loop j divides by zero")
