"""The toolchain as people type it (issue 22): set-up installs tilec, commands pick a file's
only kernel, --emit of several kernels, one --config syntax, and a tile too large for one
program named with its location and block sizes."""
import os
import re

from suite_reliability import Fail, case, find_ptxas

# The message every GPU command gives on a machine without a CUDA driver.
NO_GPU = "libcuda.so.1 not found"

RMSNORM = """\
# RMSNorm over whole rows: x[m, :] takes the full axis D.
kernel rmsnorm(x: bf16[M, D], w: bf16[D], y: bf16[M, D], eps: f32) {
    for m in tile(M) {
        xs = x[m, :].to(f32)
        rstd = rsqrt(sum(xs * xs, axis=1) / D + eps)
        y[m, :] = (xs * rstd[:, None] * w[:][None, :].to(f32)).to(bf16)
    }
}
"""


def no_gpu_here(t):
    rc, out = t.tilec_run("run", t.copy_example("gemm.tile"), "--shape", "M=8,N=8,K=8")
    return rc == 1 and NO_GPU in out


def all_of(results):
    for ok, detail in results:
        if not ok:
            return False, detail
    return True, ""


# ---- set-up installs tilec, libtile, tile.h and tile.pc

@case("cli_ux/setup_installs_to_prefix")
def _(t):
    # setup.sh configures the build's prefix (PREFIX, default ~/.local), runs meson install
    # and says how to put PREFIX/bin on PATH; the README's set-up section says so
    setup = open(os.path.join(t.root, "setup.sh")).read()
    readme = open(os.path.join(t.root, "README.md")).read()
    wanted = [("setup.sh", setup, "meson install"), ("setup.sh", setup, "--prefix"),
              ("setup.sh", setup, "${PREFIX:-$HOME/.local}"), ("setup.sh", setup, "PATH"),
              ("README.md", readme, "~/.local/bin"), ("README.md", readme, "PREFIX=")]
    missing = [f"{name} lacks {needle!r}" for name, text, needle in wanted if needle not in text]
    return not missing, "; ".join(missing)


@case("cli_ux/install_layout", timeout=300)
def _(t):
    # what `meson install` puts under the prefix: tilec that runs from there, libtile, tile.h
    # and a tile.pc that a C program builds and links with
    dest = t.path("dest")
    rc, out = t.run(["meson", "install", "-C", t.build, "--no-rebuild", "--quiet",
                     "--destdir", dest], timeout=300)
    if rc != 0:
        return False, f"meson install: exit {rc}\n{out[-2000:]}"
    # os.walk, not glob: glob's ** skips hidden folders, and setup.sh's prefix is ~/.local
    found = {name: os.path.join(root, name) for root, dirs, files in os.walk(dest) for name in dirs + files}
    missing = [n for n in ("tilec", "tile.h", "tile.pc") if n not in found]
    if not any(n.startswith("libtile.") for n in found):
        missing.append("libtile")
    if missing:
        return False, f"not installed: {missing}; installed: {sorted(found)[:40]}"
    rc, out = t.run([found["tilec"], "check", t.copy_example("attention.tile")])
    if rc != 0:
        return False, f"installed tilec check: exit {rc}\n{out}"
    # the .pc file names the configured prefix: the sysroot points it at the staged copy
    pc_dir = os.path.dirname(found["tile.pc"])
    rc, out = t.run(["pkg-config", "--cflags", "--libs", "tile"],
                    env={"PKG_CONFIG_PATH": pc_dir, "PKG_CONFIG_SYSROOT_DIR": dest})
    if rc != 0:
        return False, f"pkg-config tile: exit {rc}\n{out}"
    app = t.write("app.c", '#include <tile.h>\n#include <stdio.h>\n'
                  'int main(void) { printf("%s\\n", tile_status_string(TILE_OK)); return 0; }\n')
    rc, out2 = t.run(["cc", "-std=c11", app, "-o", t.path("app")] + out.split())
    return rc == 0, f"cc with `{out.strip()}`: exit {rc}\n{out2[-2000:]}"


# ---- a file's only kernel is picked; several kernels and none named list them

@case("cli_ux/bench_picks_only_kernel")
def _(t):
    src = t.copy_example("gemm.tile")
    rc, out = t.tilec_run("bench", src, "--shape", "M=64,N=64,K=64")
    if "needs --kernel" in out:
        return False, out
    if no_gpu_here(t):
        return rc == 1 and NO_GPU in out, f"exit {rc}\n{out}"
    return rc == 0, f"exit {rc}\n{out}"


@case("cli_ux/bench_several_kernels_listed")
def _(t):
    return t.expect(["bench", t.copy_example("fp8_gemm.tile"), "--shape", "M=64,N=64,K=64"], 2,
                    "fp8_gemm_tensorwise, fp8_gemm_rowwise")


@case("cli_ux/only_kernel_everywhere")
def _(t):
    # run, tune and --emit pick the file's one kernel; with several they list them
    gemm, fp8 = t.copy_example("gemm.tile"), t.copy_example("fp8_gemm.tile")
    listed = "fp8_gemm_tensorwise, fp8_gemm_rowwise"
    return all_of([
        t.expect(["run", gemm, "--interpret", "--shape", "M=16,N=16,K=16"], 0, "c:"),
        t.expect(["tune", "--space", gemm, "--shape", "M=256,N=256,K=256"], 0, "BLOCK_M"),
        t.expect(["build", "--emit=ptx", gemm], 0, ".entry gemm"),
        t.expect(["run", fp8, "--interpret", "--shape", "M=16,N=16,K=16"], 2, listed),
        t.expect(["tune", "--space", fp8, "--shape", "M=64,N=64,K=64"], 2, listed)])


# ---- --emit of a stage for several kernels: text its next tool takes

@case("cli_ux/emit_ptx_several_kernels")
def _(t):
    src = t.copy_example("fp8_gemm.tile")
    ptx = t.path("two.ptx")
    rc, out = t.tilec_run("build", "--emit=ptx", "--target", "sm_89", src, "-o", ptx)
    if rc == 0:
        ptxas = find_ptxas()
        if not ptxas:
            raise Fail("ptxas not found")
        rc2, out2 = t.run([ptxas, "-arch=sm_89", ptx, "-o", os.devnull])
        return rc2 == 0, f"--emit=ptx of two kernels: ptxas exit {rc2}\n{out2[-1500:]}"
    return rc == 2 and "fp8_gemm_tensorwise, fp8_gemm_rowwise" in out and \
        not os.path.exists(ptx), f"exit {rc}\n{out}"


@case("cli_ux/emit_llvm_several_kernels")
def _(t):
    return t.expect(["build", "--emit=llvm", t.copy_example("fp8_gemm.tile")], 2,
                    "fp8_gemm_tensorwise, fp8_gemm_rowwise")


@case("cli_ux/emit_ptx_one_of_several")
def _(t):
    src = t.copy_example("fp8_gemm.tile")
    ptx = t.path("one.ptx")
    rc, out = t.tilec_run("build", "--emit=ptx", "--target", "sm_89", "--kernel",
                          "fp8_gemm_rowwise", src, "-o", ptx)
    if rc != 0:
        return False, f"exit {rc}\n{out}"
    ptxas = find_ptxas()
    if not ptxas:
        raise Fail("ptxas not found")
    rc, out = t.run([ptxas, "-arch=sm_89", ptx, "-o", os.devnull])
    return rc == 0, f"ptxas exit {rc}\n{out[-1500:]}"


# ---- one --config syntax for every stage and command

@case("cli_ux/emit_ir_takes_full_axis")
def _(t):
    src = t.copy_example("attention.tile")
    rc, plain = t.tilec_run("build", "--emit=ir", src)
    if rc != 0:
        return False, f"--emit=ir: exit {rc}\n{plain}"
    rc, sized = t.tilec_run("build", "--emit=ir", "--config", "D=64,align=unit,BLOCK_M=32", src)
    rc2, blocked = t.tilec_run("build", "--emit=ir", "--config", "BLOCK_M=32", src)
    return rc == 0 and rc2 == 0 and sized == blocked, \
        f"--emit=ir --config D=64,align=unit,BLOCK_M=32: exit {rc}\n{sized[-1500:]}"


@case("cli_ux/config_list_for_emit")
def _(t):
    att = t.copy_example("attention.tile")
    return all_of([
        t.expect(["build", "--emit=ptx", "--config", "BLOCK_M=32|64,D=64", att], 2,
                 "one value per tunable for --emit (BLOCK_M=32|64 lists two)"),
        t.expect(["build", "--emit=ir", "--config", "BLOCK_M=32|64|128", att], 2,
                 "one value per tunable for --emit (BLOCK_M=32|64|128 lists three)"),
        t.expect(["build", "--emit=schedule", "--config", "D=64|128", att], 2,
                 "one value per full axis for --emit (D=64|128 lists two)"),
        t.expect(["build", "--emit=ptx", "--config", "D=64,causal=true|false", att], 2,
                 "one value per const for --emit (causal=true|false lists two)")])


@case("cli_ux/config_list_elsewhere")
def _(t):
    # a bundle holds one config of each tunable per kernel (tuned entries add others), and a
    # run or a bench launches one
    att, gemm = t.copy_example("attention.tile"), t.copy_example("gemm.tile")
    msg = "one value per tunable (BLOCK_M=32|64 lists two)"
    return all_of([
        t.expect(["build", att, "-o", t.path("a.tbn"), "--config", "BLOCK_M=32|64,D=64"], 2, msg),
        t.expect(["run", gemm, "--interpret", "--shape", "M=8,N=8,K=8", "--config",
                  "BLOCK_M=32|64"], 2, msg),
        t.expect(["bench", gemm, "--kernel", "gemm", "--shape", "M=8,N=8,K=8", "--config",
                  "BLOCK_M=32|64"], 2, msg)])


# ---- a tile too large for one program

@case("cli_ux/tile_too_large_located")
def _(t):
    src = t.write("rms.tile", RMSNORM)
    results = []
    for args in (["build", "--emit=ptx", "--config", "D=8192", src],
                 ["build", src, "-o", t.path("rms.tbn"), "--config", "D=8192"]):
        rc, out = t.tilec_run(*args)
        ok = rc == 1 and re.search(r"rms\.tile:\d+:\d+: ", out) and "BLOCK_M=64" in out and \
            "D=8192" in out and "lower BLOCK_M" in out
        results.append((bool(ok), f"{' '.join(args[:3])}: exit {rc}\n{out[-2000:]}"))
    # the knob it names works: a smaller block fits
    results.append(t.expect(["build", "--emit=ptx", "--config", "D=8192,BLOCK_M=16", src], 0,
                            ".entry rmsnorm"))
    return all_of(results)


@case("cli_ux/launch_config_build_only_entries")
def _(t):
    # run and bench take a full axis's size from --shape and the align class from the strides:
    # --config D=64 or align=unit says so rather than "no tunable 'D'" / "must be an integer"
    att = t.copy_example("attention.tile")
    launch = ["run", att, "--interpret", "--shape", "Z=1,H=1,M=8,N=8,D=16", "--set",
              "scale=0.125", "--set", "causal=true"]
    return all_of([
        t.expect(launch + ["--config", "D=16"], 2, "D is a full axis: a launch takes its size "
                 "from --shape or the inputs"),
        t.expect(launch + ["--config", "align=unit"], 2, "a launch picks its align class from "
                 "its tensors' strides")])
