"""Data loss: outputs that destroy inputs or earlier outputs, write errors not reported."""
import os

from suite_reliability import case


@case("data_loss/build_onto_source", xfail=True)
def _(t):
    src = t.copy_example("gemm.tile")
    before = open(src, "rb").read()
    rc, out = t.tilec_run("build", src, "-o", src)
    after = open(src, "rb").read()
    return rc != 0 and after == before and "same file" in out, f"exit {rc}\n{out[-2000:]}"
