"""`tilec build` as people type it (issue 22): a bare `tilec build FILE` writes NAME.tbn and
NAME.h here with every kernel, the full-axis sizes the kernel lists (`const D in {...}`)
and a variant set per target (sm_90a and sm_80 by default; --target repeated); the tune
cache's configs join quietly unless --no-tuned."""
import os

from suite_reliability import case, find_ptxas


def isolated(t):
    """An empty tune cache of the case's own: a bare build reads the cache."""
    return {"TILEC_CACHE_DIR": t.path("cache")}


def inspect(t, bundle, env):
    rc, out = t.tilec_run("inspect", bundle, env=env)
    return rc, out


@case("build_cli/bare_build_attention", timeout=180)
def _(t):
    src = t.copy_example("attention.tile")
    env = isolated(t)
    rc, out = t.tilec_run("build", "attention.tile", env=env)
    if rc != 0 or not os.path.exists(t.path("attention.tbn")) or \
            not os.path.exists(t.path("attention.h")):
        return False, f"exit {rc}\n{out}"
    rc, listing = inspect(t, "attention.tbn", env)
    header = open(t.path("attention.h")).read()
    wanted = ["targets: sm_90a sm_80", "target sm_90a", "target sm_80"]
    sizes = {line.split("D=")[1].split(",")[0] for line in listing.splitlines() if "D=" in line}
    ok = rc == 0 and all(w in listing for w in wanted) and "attention_attention" in header
    # 2 targets x 2 causal values x 2 sizes of D x 2 align classes
    nvariants = listing.count("  variant ")
    return ok and nvariants == 16 and os.path.basename(src) == "attention.tile", \
        f"{nvariants} variants; D sizes seen {sizes}\n{listing[-3000:]}"


@case("build_cli/listed_sizes_are_built")
def _(t):
    """The sizes the kernel lists are the variants' full-axis sizes; --config replaces them."""
    t.write("k.tile", """kernel rows(x: f32[M, D], y: f32[M, D]) {
    const D in {32, 96}
    for m in tile(M) {
        y[m, :] = x[m, :] * 2.0
    }
}
""")
    env = isolated(t)
    rc, out = t.tilec_run("build", "k.tile", "--target", "sm_90a", env=env)
    rc2, listing = inspect(t, "k.tbn", env)
    rc3, out3 = t.tilec_run("build", "k.tile", "--target", "sm_90a", "--config", "D=48",
                            "-o", "k48.tbn", env=env)
    rc4, listing48 = inspect(t, "k48.tbn", env)
    ok = rc == rc2 == rc3 == rc4 == 0
    d = "symbols: M D"
    full = [l for l in listing.splitlines() if "full" in l or "D=" in l]
    ok = ok and d in listing and "D=32" in listing and "D=96" in listing and \
        "D=48" in listing48 and "D=32" not in listing48
    return ok, f"{out}\n{listing}\n{out3}\n{listing48}\n{full}"


@case("build_cli/emit_takes_first_listed_size")
def _(t):
    src = t.copy_example("attention.tile")
    rc, out = t.tilec_run("build", "--emit=schedule", src, env=isolated(t))
    return rc == 0 and "D=64, the first of its listed sizes" in out, f"exit {rc}\n{out[-2000:]}"


@case("build_cli/unlisted_full_axis_is_an_error")
def _(t):
    t.write("k.tile", """kernel rows(x: f32[M, D], y: f32[M, D]) {
    for m in tile(M) {
        y[m, :] = x[m, :] * 2.0
    }
}
""")
    return t.expect(["build", "k.tile"], 2, "list its sizes in the kernel (`const D in {64, 128}`)",
                    env=isolated(t))


@case("build_cli/fp8_kernels_sm90a_only")
def _(t):
    t.copy_example("fp8_gemm.tile")
    env = isolated(t)
    rc, out = t.tilec_run("build", "fp8_gemm.tile", env=env)
    rc2, listing = inspect(t, "fp8_gemm.tbn", env)
    ok = rc == 0 and rc2 == 0 and "sm_90a only: fp8_gemm_tensorwise, fp8_gemm_rowwise" in out \
        and "target sm_80" not in listing and "target sm_90a" in listing
    return ok, f"exit {rc}\n{out}\n{listing[-1500:]}"


@case("build_cli/targets_repeated")
def _(t):
    t.copy_example("gemm.tile")
    env = isolated(t)
    rc, out = t.tilec_run("build", "gemm.tile", "--target", "sm_89", "--target", "sm_90a",
                          "-o", "g.tbn", env=env)
    rc2, listing = inspect(t, "g.tbn", env)
    ok = rc == 0 and "targets: sm_89 sm_90a" in listing and listing.count("  variant ") == 4
    checks = [(ok, f"exit {rc}\n{out}\n{listing[-1500:]}"),
              t.expect(["build", "gemm.tile", "--target", "sm_80", "--target", "sm_80"], 2,
                       "--target sm_80 is given twice", env=env),
              t.expect(["build", "gemm.tile", "--target", "sm_100"], 2,
                       "unknown target 'sm_100' (known: sm_90a, sm_89, sm_80)", env=env),
              t.expect(["build", "--emit=ptx", "gemm.tile", "--target", "sm_80", "--target",
                        "sm_90a"], 2, "--emit prints one target's code", env=env),
              t.expect(["build", "gemm.tile", "--no-tuned", "--tuned"], 2,
                       "--no-tuned leaves the tuned configs out", env=env)]
    # an explicit target must take every kernel: fp8 on sm_80 is an error there
    t.copy_example("fp8_gemm.tile")
    checks.append(t.expect(["build", "fp8_gemm.tile", "--target", "sm_90a", "--target", "sm_80"],
                           1, "needs sm_89 or newer", env=env))
    bad = [d for ok, d in checks if not ok]
    return not bad, "\n---\n".join(bad)


@case("build_cli/cache_joins_quietly", timeout=120)
def _(t):
    """A bare build takes the cache's tuned configs for this source with one note; a build
    with --no-tuned does not; a cache it cannot read is a warning, not a failed build."""
    t.copy_example("gemm.tile")
    env = dict(isolated(t), TILEC_TUNE_SYNTHETIC="1")
    rc, out = t.tilec_run("tune", "gemm.tile", "--shape", "M=64,N=64,K=64", "--max-evals", "2",
                          env=env)
    if rc != 0:
        return False, f"tune: exit {rc}\n{out}"
    rc1, out1 = t.tilec_run("build", "gemm.tile", env=env)
    rc2, listing = inspect(t, "gemm.tbn", env)
    rc3, out3 = t.tilec_run("build", "gemm.tile", "--no-tuned", "-o", "plain.tbn", env=env)
    rc4, plain = inspect(t, "plain.tbn", env)
    ok = rc1 == rc2 == rc3 == rc4 == 0 and "from the tune cache" in out1 and \
        "--no-tuned leaves them out" in out1 and "shape M=64" in listing and \
        "shape M=64" not in plain and \
        "tune cache" not in out3
    with open(os.path.join(t.path("cache"), "tune-cache.json"), "w") as f:
        f.write("{ not json")
    rc5, out5 = t.tilec_run("build", "gemm.tile", "-o", "g5.tbn", env=env)
    ok = ok and rc5 == 0 and "warning: left out" in out5
    return ok, f"{out1}\n{listing[-1200:]}\n{out3}\n{plain[-600:]}\n{out5}"


@case("build_cli/spilling_variant_warns", timeout=120)
def _(t):
    """A variant the bundle ships with spilled registers is a warning at the kernel, naming
    the target, the config with its full-axis sizes and the knobs to turn (needs ptxas)."""
    if not find_ptxas():
        return True, "ptxas not found: nothing assembled, nothing to report"
    t.write("rows.tile", """kernel rows(x: f32[M, N], y: f32[M, N]) {
    const N in {1024}
    for m in tile(M) {
        r = x[m, :]
        e = exp(r - max(r, axis=1)[:, None])
        y[m, :] = e / sum(e, axis=1)[:, None]
    }
}
""")
    rc, out = t.tilec_run("build", "rows.tile", "--target", "sm_80", "--config", "BLOCK_M=32",
                          env=isolated(t))
    wanted = "rows.tile:1:1: warning: kernel rows (sm_80, BLOCK_M=32,num_warps=4,num_stages=2," \
             "group_m=1,N=1024) spills registers"
    return rc == 0 and wanted in out and "lower BLOCK_* or raise num_warps" in out, \
        f"exit {rc}\n{out[-2000:]}"


@case("build_cli/const_list_builds_those_values", timeout=120)
def _(t):
    """causal=true|false in a bundle build builds those values (a value listed twice or an
    empty one is an error); one value builds that one."""
    t.copy_example("attention.tile")
    env = isolated(t)
    rc, out = t.tilec_run("build", "attention.tile", "--target", "sm_90a", "--config",
                          "causal=false|true,D=64", "-o", "two.tbn", env=env)
    rc2, listing = inspect(t, "two.tbn", env)
    ok = rc == rc2 == 0 and listing.count("  variant ") == 4 and "causal=true" in listing and \
        "causal=false" in listing
    checks = [(ok, f"exit {rc}\n{out}\n{listing[-1500:]}"),
              t.expect(["build", "attention.tile", "--config", "causal=true|true"], 2,
                       "causal=true|true lists true twice", env=env),
              t.expect(["build", "attention.tile", "--config", "causal=true|"], 2,
                       "expected true or false, got ''", env=env)]
    bad = [d for ok, d in checks if not ok]
    return not bad, "\n---\n".join(bad)


@case("build_cli/align_any_variant_spills_nothing", timeout=180)
def _(t):
    """gemm's default tiles (256x128x64, sized for a TMA ring) spill 1.4 KB in the align-any
    variant, whose operands are staged through registers: that variant is built with the
    first config down the ladder that spills nothing (128x128x32), the vec16 one keeps the
    default, and ptxas confirms the align-any PTX spills nothing."""
    ptxas = find_ptxas()
    if not ptxas:
        return False, "no ptxas (the CUDA toolkit's assembler is required here)"
    t.copy_example("gemm.tile")
    env = isolated(t)
    rc, out = t.tilec_run("build", "gemm.tile", "--target", "sm_90a", "-o", "g.tbn", env=env)
    rc2, listing = inspect(t, "g.tbn", env)
    configs = {}
    for block in listing.split("  variant ")[1:]:
        lines = block.splitlines()
        align = lines[1].split("align ")[1].split(",")[0]
        configs[align] = lines[0].split(": ", 1)[1]
    default = "BLOCK_M=256,BLOCK_N=128,BLOCK_K=64,"
    fitted = "BLOCK_M=128,BLOCK_N=128,BLOCK_K=32,"
    ok = rc == rc2 == 0 and configs.get("vec16", "").startswith(default) and \
        configs.get("any", "").startswith(fitted)
    config = configs.get("any", "") + ",align=any"
    rc3, ptx = t.tilec_run("build", "gemm.tile", "--emit=ptx", "--config", config, env=env)
    t.write("any.ptx", ptx)
    rc4, report = t.run([ptxas, "-arch=sm_90a", "-v", t.path("any.ptx"), "-o", t.path("any.cubin")])
    ok = ok and rc3 == rc4 == 0 and " 0 bytes spill stores" in report and "spill stores" in report
    return ok, f"exit {rc} {rc2} {rc3} {rc4}\n{configs}\n{listing[-1500:]}\n{report[-800:]}"
