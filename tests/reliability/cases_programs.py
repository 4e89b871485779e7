"""Multi-kernel programs (issue 26): `program NAME(inputs) -> (outputs) { ... }` calls kernels
of the file on its parameters and on intermediate tensors it declares; tilec checks each
call, orders the calls by their dependencies, assigns the intermediates to one workspace by
live range (`tilec build --emit=buffers`), runs a program on the interpreter
(`tilec run --program`), and writes one entry point per program into a bundle."""
import os
import re

from suite_reliability import case, find_ptxas

KERNELS = """kernel matmul(a: bf16[M, K], b: bf16[K, N], c: f32[M, N]) {
    for m, n in tile(M, N) {
        acc = zeros([m, n], f32)
        for k in tile(K) {
            acc += a[m, k] @ b[k, n]
        }
        c[m, n] = acc
    }
}

kernel bias_relu(x: f32[M, N], bias: f32[N], y: bf16[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = max(x[m, n] + bias[n][None, :], 0.0).to(bf16)
    }
}

kernel bias_add(x: f32[M, N], bias: f32[N], y: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = x[m, n] + bias[n][None, :]
    }
}

kernel scale_by(x: f32[M, N], s: f32, y: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = x[m, n] * s
    }
}
"""

# matmul -> bias/ReLU -> matmul -> bias: h and z never live at once, so they share bytes.
MLP = KERNELS + """
program mlp(x: bf16[B, D], w1: bf16[D, H], b1: f32[H], w2: bf16[H, O], b2: f32[O])
        -> (y: f32[B, O]) {
    h: f32[B, H]
    a: bf16[B, H]
    z: f32[B, O]
    matmul(x, w1, h)
    bias_relu(h, b1, a)
    matmul(a=a, b=w2, c=z)
    bias_add(z, b2, y)
}
"""


def program_file(t, body, name="p.tile"):
    return t.write(name, KERNELS + "\n" + body)


def check_error(t, body, needle, where=None):
    """tilec check fails with `needle` located at `where` (LINE:COL of the program text)."""
    path = program_file(t, body)
    rc, out = t.tilec_run("check", path)
    ok = rc == 1 and needle in out
    if ok and where:
        line, col = where
        offset = KERNELS.count("\n") + 1
        ok = f"p.tile:{line + offset}:{col}: error: " in out
    return ok, f"exit {rc}; wanted {needle!r} at {where}:\n{out[-3000:]}"


@case("programs/check_accepts_program")
def _(t):
    t.write("mlp.tile", MLP)
    return t.expect(["check", "mlp.tile"], 0)


@case("programs/ast_prints_program")
def _(t):
    t.write("mlp.tile", MLP)
    rc, out = t.tilec_run("build", "--emit=ast", "mlp.tile")
    ok = rc == 0 and "program mlp" in out and "temp h: f32[B, H]" in out and \
        "call matmul" in out and "output y: f32[B, O]" in out
    return ok, out[-3000:]


@case("programs/unknown_kernel_located")
def _(t):
    return check_error(t, """program p(x: f32[M, N]) -> (y: f32[M, N]) {
    bias_plus(x, y)
}
""", "unknown kernel 'bias_plus'", (2, 5))


@case("programs/dtype_mismatch_located")
def _(t):
    return check_error(t, """program p(x: bf16[M, N], b: f32[N]) -> (y: f32[M, N]) {
    bias_add(x, b, y)
}
""", "bias_add's parameter x is f32[M, N]; x is bf16[M, N]", (2, 14))


@case("programs/rank_mismatch_located")
def _(t):
    return check_error(t, """program p(x: f32[M, N], b: f32[M, N]) -> (y: f32[M, N]) {
    bias_add(x, b, y)
}
""", "rank", (2, 17))


@case("programs/symbol_conflict_located")
def _(t):
    # bias_add's N is the program's N from x, then P from b.
    return check_error(t, """program p(x: f32[M, N], b: f32[P]) -> (y: f32[M, N]) {
    bias_add(x, b, y)
}
""", "shape symbol N of bias_add", (2, 17))


@case("programs/missing_argument_located")
def _(t):
    return check_error(t, """program p(x: f32[M, N], b: f32[N]) -> (y: f32[M, N]) {
    bias_add(x, bias=b)
}
""", "missing argument y", (2, 5))


@case("programs/unknown_named_argument")
def _(t):
    return check_error(t, """program p(x: f32[M, N], b: f32[N]) -> (y: f32[M, N]) {
    bias_add(x, bias=b, out=y)
}
""", "bias_add has no parameter 'out'", (2, 25))


@case("programs/read_before_write_located")
def _(t):
    return check_error(t, """program p(x: f32[M, N], b: f32[N]) -> (y: f32[M, N]) {
    t: f32[M, N]
    bias_add(t, b, y)
}
""", "reads t, which no call writes", (3, 14))


@case("programs/output_never_written")
def _(t):
    return check_error(t, """program p(x: f32[M, N], b: f32[N]) -> (y: f32[M, N], z: f32[M, N]) {
    bias_add(x, b, y)
}
""", "output z is never written", (1, 54))


@case("programs/cycle_reported")
def _(t):
    return check_error(t, """program p(x: f32[M, N], b: f32[N]) -> (y: f32[M, N]) {
    u: f32[M, N]
    v: f32[M, N]
    bias_add(v, b, u)
    bias_add(u, b, v)
    bias_add(u, b, y)
}
""", "the calls form a cycle", (4, 5))


@case("programs/write_after_read_hazard")
def _(t):
    return check_error(t, """program p(x: f32[M, N], b: f32[N]) -> (y: f32[M, N]) {
    bias_add(x, b, y)
    bias_add(y, b, y)
}
""", "write-after-read hazard", (3, 5))


@case("programs/reorders_by_dependencies")
def _(t):
    """A call written before the call that writes its input runs after it."""
    path = program_file(t, """program p(x: f32[M, N], b: f32[N]) -> (y: f32[M, N]) {
    u: f32[M, N]
    bias_add(u, b, y)
    bias_add(x, b, u)
}
""")
    rc, out = t.tilec_run("build", "--emit=buffers", path, "--shape", "M=4,N=8")
    order = re.findall(r"call (\d+): (\w+)\(([^)]*)\)", out)
    ok = rc == 0 and [o[2].split(",")[0] for o in order] == ["x", "u"]
    return ok, out[-3000:]


@case("programs/emit_buffers_shares_bytes")
def _(t):
    t.write("mlp.tile", MLP)
    rc, out = t.tilec_run("build", "--emit=buffers", "mlp.tile", "--shape", "B=8,D=16,H=32,O=32")
    m = re.search(r"peak (\d+) bytes .*naive sum (\d+) bytes", out)
    ok = rc == 0 and m and int(m.group(1)) < int(m.group(2)) and "h [0, 1]" in out
    return ok, out[-3000:]


@case("programs/emit_buffers_reads_shapes_file")
def _(t):
    t.write("mlp.tile", MLP)
    t.write("mlp.shapes", "mlp: B=8,D=16,H=32,O=32\n")
    rc, out = t.tilec_run("build", "--emit=buffers", "mlp.tile")
    return rc == 0 and "B=8" in out and "peak" in out, out[-3000:]


@case("programs/run_interpret")
def _(t):
    t.write("mlp.tile", MLP)
    rc, out = t.tilec_run("run", "mlp.tile", "--program", "mlp", "--interpret",
                          "--shape", "B=5,D=7,H=9,O=3", "--out", "y=y.npy")
    ok = rc == 0 and os.path.exists(t.path("y.npy")) and "y: f32[5, 3]" in out
    return ok, out[-3000:]


@case("programs/run_scalar_and_literal")
def _(t):
    path = program_file(t, """program p(x: f32[M, N], s: f32) -> (y: f32[M, N], z: f32[M, N]) {
    scale_by(x, s, y)
    scale_by(x, 0.5, z)
}
""")
    rc, out = t.tilec_run("run", path, "--program", "p", "--interpret", "--shape", "M=3,N=4",
                          "--set", "s=2")
    return rc == 0 and "y: f32[3, 4]" in out and "z: f32[3, 4]" in out, out[-3000:]


@case("programs/bundle_program_entry", timeout=300)
def _(t):
    t.write("mlp.tile", MLP)
    env = {"TILEC_CACHE_DIR": t.path("cache")}
    rc, out = t.tilec_run("build", "mlp.tile", "--target", "sm_80", env=env)
    if rc != 0:
        return False, out[-3000:]
    rc2, listing = t.tilec_run("inspect", "mlp.tbn")
    header = open(t.path("mlp.h")).read()
    ok = rc2 == 0 and "program mlp" in listing and "mlp_mlp(" in header and \
        "mlp_mlp_workspace_bytes(" in header
    return ok, listing[-3000:] + header[-2000:]


@case("programs/float8_linear_buffers")
def _(t):
    rc, out = t.tilec_run("build", "--emit=buffers", os.path.join(t.examples, "float8_linear.tile"))
    ok = rc == 0 and "program float8_linear_forward" in out and \
        "program float8_linear_backward" in out and "peak" in out
    return ok, out[-3000:]


@case("programs/float8_linear_ptx", timeout=600)
def _(t):
    """Every kernel of the fp8 Linear compiles for sm_90a and ptxas takes its PTX."""
    ptxas = find_ptxas()
    src = os.path.join(t.examples, "float8_linear.tile")
    rc, ast = t.tilec_run("build", "--emit=ast", src)
    kernels = re.findall(r"^kernel (\w+)", ast, re.M)
    if rc != 0 or not kernels:
        return False, ast[-2000:]
    for k in kernels:
        ptx = t.path(k + ".ptx")
        rc, out = t.tilec_run("build", "--emit=ptx", "--kernel", k, "-o", ptx, src)
        if rc != 0:
            return False, f"{k}: {out[-2000:]}"
        if ptxas:
            rc, out = t.run([ptxas, "-arch=sm_90a", ptx, "-o", t.path(k + ".cubin")])
            if rc != 0:
                return False, f"{k}: ptxas: {out[-2000:]}"
    return True, ""


@case("programs/kernel_flag_names_a_program")
def _(t):
    t.write("mlp.tile", MLP)
    ok1, d1 = t.expect(["run", "mlp.tile", "--kernel", "mlp", "--interpret"], 2,
                       "'mlp' is a program, not a kernel: name it with --program")
    ok2, d2 = t.expect(["run", "mlp.tile", "--program", "matmul", "--interpret"], 2,
                       "no program named 'matmul' (programs: mlp)")
    return ok1 and ok2, d1 + d2


@case("programs/run_on_gpu_says_no_gpu")
def _(t):
    """Without a driver the GPU path of a program stops with the no-GPU message (exit 1)."""
    t.write("mlp.tile", MLP)
    env = {"LD_LIBRARY_PATH": t.path("none")}
    rc, out = t.tilec_run("run", "mlp.tile", "--program", "mlp", "--shape", "B=2,D=3,H=4,O=5", env=env)
    if "libcuda.so.1 not found" not in out and rc == 0:
        return True, "a GPU driver is here: nothing to check"
    return rc == 1 and "no GPU: " in out, out[-2000:]


@case("programs/out_of_intermediate_needs_interpret")
def _(t):
    t.write("mlp.tile", MLP)
    return t.expect(["run", "mlp.tile", "--program", "mlp", "--shape", "B=2,D=3,H=4,O=5",
                     "--out", "h=h.npy"], 2, "an intermediate is kept only by --interpret")
