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
@case("generated/reduce_full_axis_broadcast", xfail=True)
def _(t):
    return builds(t, """kernel k(x: i32[N, D], y: i32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = min(x[n, :], axis=1)
    }
}
""", "D=16")


# The same with a block axis: reducing [n, m] over its last axis gives [n], broadcast
# along a new first axis into [m, n].
@case("generated/reduce_last_axis_broadcast_first", xfail=True)
def _(t):
    return builds(t, """kernel k(x: f32[N, M], y: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = min(x[n, m], axis=-1)
    }
}
""")
