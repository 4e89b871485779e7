"""Faults found by the random-program generator (tests/codegen/random_kernels.py), each
reduced by its minimiser to a reproducer: the kernel must compile to PTX (and, where it
runs, match the interpreter's rules), never crash."""
from suite_reliability import case


def builds(t, source, config=""):
    """tilec build --emit=ptx of `source` exits 0 (t.run fails the case on a sanitizer
    report or a hang)."""
    path = t.write("k.tile", source)
    args = ["build", "--emit=ptx", path, "-o", t.path("k.ptx")]
    if config:
        args += ["--config", config]
    rc, out = t.tilec_run(*args)
    return rc == 0, f"exit {rc}\n{out[-3000:]}"


# A reduction over a full axis, broadcast along a new first axis: emit_fetch takes the
# broadcast's projection of the store's layout, which is not the reduction's slice, and
# converts through shared scratch the schedule never reserved (SEGV in nvvm_offset).
@case("generated/reduce_full_axis_broadcast")
def _(t):
    return builds(t, """kernel k(x: i32[N, D], y: i32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = min(x[n, :], axis=1)
    }
}
""", "D=16")


# The same with a block axis: reducing [n, m] over its last axis gives [n], broadcast
# along a new first axis into [m, n].
@case("generated/reduce_last_axis_broadcast_first")
def _(t):
    return builds(t, """kernel k(x: f32[N, M], y: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = min(x[n, m], axis=-1)
    }
}
""")


# A dot whose fused epilogue is a comparison has a bool result: the interpreter summed
# into the result's tile as if it were the f32 accumulator ("internal error: malformed
# dot"). Its output must equal the same product summed in a loop first.
@case("generated/dot_epilogue_to_bool_interpreted")
def _(t):
    fused = t.write("fused.tile", """kernel k(a: bf16[M, K], b: bf16[K, N], y: bool[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = (a[m, :] @ b[:, n]) > 0.0
    }
}
""")
    looped = t.write("looped.tile", """kernel k(a: bf16[M, K], b: bf16[K, N], y: bool[M, N]) {
    for m, n in tile(M, N) {
        acc = zeros([m, n], f32)
        for k in tile(K) {
            acc += a[m, k] @ b[k, n]
        }
        y[m, n] = acc > 0.0
    }
}
""")
    shape = ["--interpret", "--shape", "M=5,N=7,K=9", "--config"]
    rc, out = t.tilec_run("run", fused, *shape, "BLOCK_M=16,BLOCK_N=16")
    rc2, want = t.tilec_run("run", looped, *shape, "BLOCK_M=16,BLOCK_N=16,BLOCK_K=16")
    line = [ln for ln in out.splitlines() if ln.startswith("y:")]
    ok = rc == 0 and rc2 == 0 and line and line[0] in want
    return ok, f"fused: exit {rc}\n{out[-2000:]}\nlooped: exit {rc2}\n{want[-1000:]}"


# A kernel with more than 64 parameters checks and runs, but `tilec build --emit=ptx`
# refused it with exit 2 (a command-line error) and no location: a fixed-size table of
# the consts given in --config, not a limit of the language or of codegen.
@case("generated/build_more_than_64_parameters")
def _(t):
    params = ", ".join(f"x{i}: f32[M]" for i in range(70))
    return builds(t, f"""kernel k({params}, y: f32[M]) {{
    for m in tile(M) {{
        y[m] = x0[m] + x69[m]
    }}
}}
""")


# A local carried by a loop only through a const `if` not taken (c=false) never changes,
# so the simplifier makes it its initial value, a parameter. The dead-code sweep then went
# on into the loop's body with use counts from before: removing the dead broadcast for
# where(true, acc, v2) took the parameter's last counted use, and the parameter went too,
# leaving `v2.to(i32)` reading a removed value (the interpreter: "internal error: convert
# changes the shape"; codegen: a conversion of `acc` instead, which the TIR verifier missed:
# the removed value's stale id was a live one's). y must be s1 truncated.
@case("generated/carried_through_untaken_if_keeps_its_value")
def _(t):
    source = """kernel k(s1: f32, y: i32[T, M], c: const bool) {
    for m in tile(M) {
        v2 = s1
        acc = full([m], 1.0, f32)
        for t in tile(T) {
            acc += where(true, acc, v2)
            y[t, m] = v2.to(i32)
            if c {
                v2 -= v2
            }
        }
    }
}
"""
    built, why = builds(t, source, "c=false")
    rc, out = t.tilec_run("run", t.path("k.tile"), "--interpret", "--shape", "M=3,T=2",
                          "--set", "s1=2.5", "--set", "c=false")
    ran = rc == 0 and "y: i32[2, 3] sum=12 max|x|=2" in out
    return built and ran, f"build: {why}\nrun: exit {rc}\n{out[-2000:]}"


# A dot whose A operand is a loaded transpose with a prologue that adds a broadcast row:
# the prologue's argument got its layout from the add (the row's), not from the operand
# (the transpose's), so the prologue converted the operand through shared scratch the
# schedule never reserved ("internal: a layout conversion of N bytes without shared
# scratch"; seed 20253 kernel 94). tests/gpu/kernels/prologue_layout.tile runs it on the GPU.
@case("generated/dot_prologue_on_transposed_operand")
def _(t):
    return builds(t, """kernel k(x: bf16[K], at: bf16[K, M], b: bf16[K, N], y: f32[M, N]) {
    for m, n in tile(M, N) {
        acc = zeros([m, n], f32)
        for k in tile(K) {
            acc += (x[k][None, :] + at[k, m].T) @ b[k, n]
        }
        y[m, n] = acc
    }
}
""")


# A dot's result transposed and carried as another dot's accumulator, on sm_89 (fp8 dots):
# the schedule reserved no shared scratch for the conversions emit made ("internal: a layout
# conversion of 32768 bytes without shared scratch"): the carried accumulator took the
# transpose's layout, the dot wrote its result in its own and converted it back in every
# block. The dots now lay out their accumulators first, the loop's entry converts the
# transposed seed once, and schedule_conversions counts a loop's initial values and a dot's
# accumulator and result. Found by CI's generator run, seed 1921645390 kernel 708.
@case("generated/transposed_dot_result_as_fp8_accumulator")
def _(t):
    path = t.write("k.tile", """kernel k(x1: bf16[N, M, 2, D], x2: f32[D, N], x7: f8e5m2[N, K], x8: f8e4m3[K, M]) {
    for m, n in tile(M, N) block(32..64, _) {
        v4 = (x1[n.end - 1, m, 0, :] @ ((((x2[:, n])).to(f32)).to(bf16)))
        acc6 = v4.T
        for k in tile(K + 5) block(16..64) {
            acc6 += (x7[n, k] @ x8[k, m])
        }
    }
}
""")
    rc, out = t.tilec_run("build", "--emit=ptx", path, "-o", t.path("k.ptx"), "--target", "sm_89",
                          "--config", "D=1")
    return rc == 0, f"exit {rc}\n{out[-3000:]}"


# The same on sm_90a with bf16 dots under the generator's default config (seed 1150385823
# kernel 849, main fd388a7); tests/gpu/kernels/transposed_accumulator.tile runs it on the GPU.
@case("generated/transposed_dot_result_as_accumulator_sm90a")
def _(t):
    return builds(t, """kernel k(x9: i32[N, K, M], x18: bf16[T, M], x19: bf16[M, 5, M, N], x21: f32[1, N, J, T], x22: f32[J, T, 4]) {
    for m, n in tile(M, N) block(_, 64) {
        acc8 = zeros([n, m], i32)
        for t in tile(T) block(_) {
            acc8 = acc8 + x9[n, 100, m]
            acc17 = ((x18[t, m] @ x19[m, 3, m.end - 1, n])).T
            for j in tile(J) block(32) {
                acc17 += ((((x21[0, n, j, t.begin])).to(bf16)) @ (x22[j, t, 2].to(bf16)))
            }
        }
    }
}
""")
