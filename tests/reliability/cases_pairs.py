"""Pair axes, split and join (issue 24): a tensor dim of literal size 2 taken whole (`:`)
is a tile axis of extent 2; split(x, i) takes lane i of it and join(a, b) stacks two tiles
on a new one. Checked on the interpreter (exact f32 lane moves), in codegen for sm_90a and
sm_80 (PTX assembled by ptxas where present), and as located errors for what check refuses."""
import struct

from suite_reliability import case, find_ptxas

# (re, im) -> (im, re) and -(re, im): lane moves only, so the interpreter is exact.
SWAP = """kernel swap(x: f32[M, 2], y: f32[M, 2], z: f32[M, 2]) {
    for m in tile(M) block(16) {
        p = x[m, :]
        y[m, :] = join(split(p, 1), split(p, 0))
        z[m, :] = join(-split(p, 0), -split(p, 1))
    }
}
"""


def write_f32(path, rows, cols, values):
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
                struct.pack(f"<{len(values)}f", *values))


def read_f32(path):
    with open(path, "rb") as f:
        data = f.read()
    hlen = struct.unpack("<H", data[8:10])[0]
    body = data[10 + hlen:]
    return list(struct.unpack(f"<{len(body) // 4}f", body))


@case("pairs/split_join_interpreted")
def _(t):
    """37 rows in blocks of 16 (a ragged last block): each pair swapped, and negated."""
    src = t.write("swap.tile", SWAP)
    x = [float(i % 11) - 4.5 + i / 64 for i in range(37 * 2)]
    write_f32(t.path("x.npy"), 37, 2, x)
    rc, out = t.tilec_run("run", "--interpret", src, "--in", "x=x.npy",
                          "--out", "y=y.npy", "--out", "z=z.npy")
    if rc != 0:
        return False, out[-2000:]
    y, z = read_f32(t.path("y.npy")), read_f32(t.path("z.npy"))
    want_y = [x[i ^ 1] for i in range(len(x))]
    want_z = [-v for v in x]
    return y == want_y and z == want_z, f"got {y[:6]} {z[:6]}, want {want_y[:6]} {want_z[:6]}"


@case("pairs/rope_ptx_sm90a_sm80")
def _(t):
    """examples/rope.tile and the swap kernel build for both targets; ptxas takes the PTX."""
    srcs = [t.copy_example("rope.tile"), t.write("swap.tile", SWAP)]
    ptxas = find_ptxas()
    for src in srcs:
        for target in ("sm_90a", "sm_80"):
            ptx = t.path(f"out_{target}.ptx")
            rc, out = t.tilec_run("build", src, "--emit=ptx", "--target", target, "-o", ptx)
            if rc != 0:
                return False, f"{src} {target}: {out[-2000:]}"
            if ptxas:
                rc, out = t.run([ptxas, f"-arch={target}", ptx, "-o", t.path("out.cubin")])
                if rc != 0:
                    return False, f"{src} {target} ptxas: {out[-2000:]}"
    return True, ""


@case("pairs/split_needs_pair_axis")
def _(t):
    src = t.write("bad.tile", """kernel k(x: f32[M, N], y: f32[M]) {
    for m in tile(M) {
        y[m] = split(x[m, :], 0)
    }
}
""")
    return t.expect(["check", src], 1, "bad.tile:3:23: error: split needs a tile of rank 2 or "
                    "more whose last axis has extent 2 (a pair axis), got f32[m, N]")


@case("pairs/split_lane_literal")
def _(t):
    src = t.write("bad.tile", """kernel k(x: f32[M, 2], y: f32[M]) {
    for m in tile(M) {
        y[m] = split(x[m, :], 2)
    }
}
""")
    return t.expect(["check", src], 1, "bad.tile:3:31: error: split's lane must be the literal 0 or 1")


@case("pairs/join_types_differ")
def _(t):
    src = t.write("bad.tile", """kernel k(a: f32[M], b: bf16[M], y: f32[M, 2]) {
    for m in tile(M) {
        y[m, :] = join(a[m], b[m])
    }
}
""")
    return t.expect(["check", src], 1, "bad.tile:3:19: error: join takes two tiles of one type")


@case("pairs/whole_literal_dim_not_two")
def _(t):
    """Only a literal dim of 2 (a pair axis) or 1 is taken whole by `:`."""
    src = t.write("bad.tile", """kernel k(x: f32[M, 4], y: f32[M, 4]) {
    for m in tile(M) {
        y[m, :] = x[m, :]
    }
}
""")
    return t.expect(["check", src], 1, "bad.tile:3:24: error: `:` takes a dim whole only when it "
                    "has a shape symbol or the literal size 2 (a pair axis): dim 1 of x has the "
                    "literal size 4")
