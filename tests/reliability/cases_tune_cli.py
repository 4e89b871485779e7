"""The tuner as people type it (issue 22): shapes in a file beside the kernel, an identical
re-run answered from the cache, `tilec cache list|show|clear`, --export of a kernel with no
entries, and a progress line that says how much is left. No GPU here: the synthetic backend
(TILEC_TUNE_SYNTHETIC=1) stands in where candidates must be timed."""
import ctypes
import json
import os

from suite_reliability import case

NO_GPU = "tilec tune times candidates on an NVIDIA GPU and found none"
SYNTH = {"TILEC_TUNE_SYNTHETIC": "1"}


def gpu_driver_present():
    """Where the driver loads (as tilec's probe loads it), `tune` would tune for real."""
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return os.path.exists("/dev/nvidia0")


def all_of(results):
    bad = [detail for ok, detail in results if not ok]
    return not bad, "\n---\n".join(bad)


def cache_env(t, synthetic=False):
    env = {"TILEC_CACHE_DIR": t.path("cache")}
    if synthetic:
        env.update(SYNTH)
    return env


def cache_file(t):
    return os.path.join(t.path("cache"), "tune-cache.json")


def gemm_with_shapes(t, text):
    src = t.copy_example("gemm.tile")
    t.write("gemm.shapes", text)
    return src


def fake_entry(kernel, shape, config="BLOCK_M=64", gpu="synthetic", **extra):
    e = {"kernel": kernel, "source_hash": "0123456789abcdef", "consts": "", "align": "vec16",
         "shape": shape, "gpu": gpu, "sm_count": 1, "driver_version": 0,
         "tilec_version": "0.1.0", "config": config, "time_ms": 0.5, "default_ms": 0.75,
         "strategy": "pattern", "evaluations": 12}
    e.update(extra)
    return e


def write_cache(t, entries):
    os.makedirs(t.path("cache"), exist_ok=True)
    with open(cache_file(t), "w") as f:
        json.dump({"format": "tilec-tune-cache", "version": 1, "entries": entries}, f)


@case("tune_cli/shapes_beside_kernel_no_gpu")
def _(t):
    # attention.shapes beside attention.tile: no flag needed; fails only for lack of the GPU
    if gpu_driver_present():
        return True, "a GPU driver is present: the no-GPU message is not checked here"
    src = os.path.join(t.examples, "attention.tile")
    return all_of([t.expect(["tune", src], 1, NO_GPU, env=cache_env(t)),
                   t.expect(["tune", "attention.tile"], 1, NO_GPU, env=cache_env(t),
                            cwd=t.examples)])


@case("tune_cli/space_of_declared_shapes")
def _(t):
    rc, out = t.tilec_run("tune", "--space", os.path.join(t.examples, "attention.tile"))
    heads = [l for l in out.splitlines() if l.startswith("kernel attention, shape")]
    want = ["Z=4,H=48,M=4096,D=64,N=4096", "Z=8,H=16,M=4096,D=128,N=4096"]
    ok = rc == 0 and len(heads) == 3 and all(any(w in h for h in heads) for w in want)
    return ok, f"exit {rc}\n{out[-2000:]}"


@case("tune_cli/example_shapes_files")
def _(t):
    res = []
    for tile, kernel in (("gemm.tile", None), ("fp8_gemm.tile", "fp8_gemm_tensorwise"),
                         ("fp8_gemm.tile", "fp8_gemm_rowwise")):
        args = ["tune", "--space", os.path.join(t.examples, tile)]
        if kernel:
            args += ["--kernel", kernel]
        rc, out = t.tilec_run(*args)
        ok = rc == 0 and "M=4096,K=4096,N=4096" in out
        res.append((ok, f"{tile} {kernel}: exit {rc}\n{out[-1500:]}"))
    # a file of two kernels, no --kernel: each kernel its shapes file names
    rc, out = t.tilec_run("tune", "--space", os.path.join(t.examples, "fp8_gemm.tile"))
    heads = [l for l in out.splitlines() if l.startswith("kernel ")]
    res.append((rc == 0 and len(heads) == 2 and "fp8_gemm_rowwise" in heads[1],
                f"fp8_gemm.tile, both kernels: exit {rc}\n{out[-1500:]}"))
    return all_of(res)


@case("tune_cli/shapes_file_errors")
def _(t):
    bad = {
        "unknown kernel": ("mystery: M=64,N=64,K=64\n", "gemm.shapes:1:1: error:", "mystery"),
        "unknown symbol": ("# c\n\nM=64,Q=3,K=64,N=64\n", "gemm.shapes:3:6: error:", "'Q'"),
        "bad number": ("M=64,N=six,K=64\n", "gemm.shapes:1:6: error:", "six"),
        "missing symbol": ("M=64,N=64\n", "gemm.shapes:1:1: error:", "no value for K"),
        "duplicate": ("M=64,N=64,K=64\ngemm: K=64,N=64,M=64\n", "gemm.shapes:2:1: error:",
                      "line 1"),
    }
    res = []
    for what, (text, where, needle) in bad.items():
        src = gemm_with_shapes(t, text)
        rc, out = t.tilec_run("tune", "--space", src)
        ok = rc == 1 and where in out and needle in out
        res.append((ok, f"{what}: exit {rc}\n{out[-1500:]}"))
    return all_of(res)


@case("tune_cli/no_shapes_says_both_ways")
def _(t):
    src = t.copy_example("gemm.tile")
    rc, out = t.tilec_run("tune", src)
    ok = rc == 2 and "gemm.shapes" in out and "--shape" in out
    return ok, f"exit {rc}\n{out[-1500:]}"


@case("tune_cli/shape_flag_adds_to_file")
def _(t):
    src = gemm_with_shapes(t, "# two shapes\ngemm: M=128,N=128,K=128\n\nM=256,N=256,K=64\n")
    other = t.write("more.shapes", "M=64,N=64,K=64\n")
    # --shape adds to a --shapes file (a shape already there once)...
    rc, out = t.tilec_run("tune", "--space", src, "--shapes", t.path("gemm.shapes"),
                          "--shape", "K=128,M=128,N=128", "--shape", "M=512,N=512,K=512")
    heads = [l for l in out.splitlines() if l.startswith("kernel gemm, shape")]
    first = rc == 0 and len(heads) == 3
    # ...and replaces the file beside the kernel (a script that names its shapes gets those)
    rc0, out0 = t.tilec_run("tune", "--space", src, "--shape", "M=512,N=512,K=512")
    heads0 = [l for l in out0.splitlines() if l.startswith("kernel gemm, shape")]
    first = first and rc0 == 0 and len(heads0) == 1
    rc2, out2 = t.tilec_run("tune", "--space", src, "--shapes", other)
    heads2 = [l for l in out2.splitlines() if l.startswith("kernel gemm, shape")]
    second = rc2 == 0 and len(heads2) == 1 and "M=64,K=64,N=64" in heads2[0]
    rc3, out3 = t.tilec_run("tune", "--space", src, "--shapes", t.path("none.shapes"))
    third = rc3 == 1 and "none.shapes" in out3
    return first and second and third, f"{rc}\n{out}\n---\n{rc2}\n{out2}\n---\n{rc3}\n{out3}"


@case("tune_cli/rerun_answers_from_cache")
def _(t):
    src = gemm_with_shapes(t, "M=128,N=128,K=128\nM=256,N=256,K=64\n")
    env = cache_env(t, synthetic=True)
    rc, out = t.tilec_run("tune", src, "--max-evals", "3", "--jobs", "1", env=env)
    if rc != 0:
        return False, f"first tune: exit {rc}\n{out}"
    before = open(cache_file(t)).read()
    # a different budget is the same tune: nothing measured, the cache untouched
    rc2, out2 = t.tilec_run("tune", src, "--max-evals", "7", "--budget", "5s", "--jobs", "1",
                            env=env)
    after = open(cache_file(t)).read()
    cached = rc2 == 0 and out2.count("from the cache (tuned ") == 2 and \
        "--retune" in out2 and "survive pruning" not in out2 and before == after
    rc3, out3 = t.tilec_run("tune", src, "--max-evals", "3", "--jobs", "1", "--retune", env=env)
    retuned = rc3 == 0 and out3.count("survive pruning") == 2
    # another space (narrowed) is a new tune
    rc4, out4 = t.tilec_run("tune", src, "--max-evals", "3", "--jobs", "1",
                            "--space-set", "num_warps=4", env=env)
    narrowed = rc4 == 0 and out4.count("survive pruning") == 2
    return cached and retuned and narrowed, \
        f"{rc2}\n{out2}\n---\n{rc3}\n{out3[-800:]}\n---\n{rc4}\n{out4[-800:]}"


@case("tune_cli/hand_written_cache_reuse")
def _(t):
    # entries written by hand: with the space field they answer, without it they do not
    src = gemm_with_shapes(t, "M=128,N=128,K=128\n")
    env = cache_env(t, synthetic=True)
    rc, out = t.tilec_run("tune", src, "--max-evals", "2", "--jobs", "1", env=env)
    if rc != 0:
        return False, f"first tune: exit {rc}\n{out}"
    entry = json.load(open(cache_file(t)))["entries"][0]
    if "space" not in entry:
        return False, f"no space in the cache entry: {entry}"
    mine = dict(entry, config="BLOCK_M=32,BLOCK_N=32,BLOCK_K=32", time_ms=0.125,
                tuned_at="2026-01-02T03:04:05Z")
    write_cache(t, [mine])
    rc2, out2 = t.tilec_run("tune", src, env=env)
    reused = rc2 == 0 and "BLOCK_M=32,BLOCK_N=32,BLOCK_K=32" in out2 and \
        "tuned 2026-01-02" in out2 and "survive pruning" not in out2
    old = {k: v for k, v in mine.items() if k not in ("space", "tuned_at")}
    write_cache(t, [old])
    rc3, out3 = t.tilec_run("tune", src, "--max-evals", "2", "--jobs", "1", env=env)
    remeasured = rc3 == 0 and "survive pruning" in out3 and "from the cache" not in out3
    # a cached answer for another GPU model is not this GPU's
    write_cache(t, [dict(mine, gpu="NVIDIA H100 80GB HBM3")])
    rc4, out4 = t.tilec_run("tune", src, "--max-evals", "2", "--jobs", "1", env=env)
    other_gpu = rc4 == 0 and "survive pruning" in out4
    return reused and remeasured and other_gpu, f"{rc2}\n{out2}\n---\n{rc3}\n{out3}\n---\n{out4}"


@case("tune_cli/cache_list_show_clear")
def _(t):
    env = cache_env(t)
    write_cache(t, [fake_entry("gemm", "M=64,K=64,N=64", tuned_at="2026-03-04T05:06:07Z"),
                    fake_entry("gemm", "M=128,K=128,N=128", config="BLOCK_M=128"),
                    fake_entry("softmax", "M=8,N=1024", config="BLOCK_M=4")])
    res = [t.expect(["cache", "--help"], 0, "cache list")]
    rc, out = t.tilec_run("cache", "list", env=env)
    lines = [l for l in out.splitlines() if l.startswith(("gemm", "softmax"))]
    res.append((rc == 0 and len(lines) == 3 and "M=64,K=64,N=64" in out and "2026-03-04" in out
                and "0123456" in out and "BLOCK_M=128" in out, f"list: {rc}\n{out}"))
    rc, out = t.tilec_run("cache", "show", "softmax", env=env)
    res.append((rc == 0 and "M=8,N=1024" in out and "BLOCK_M=4" in out and "gemm" not in out
                and "0123456789abcdef" in out, f"show: {rc}\n{out}"))
    res.append(t.expect(["cache", "show", "nothing"], 1, "nothing", env=env))
    rc, out = t.tilec_run("cache", "clear", "gemm", env=env)
    left = [e["kernel"] for e in json.load(open(cache_file(t)))["entries"]]
    res.append((rc == 0 and left == ["softmax"], f"clear gemm: {rc} {left}\n{out}"))
    rc, out = t.tilec_run("cache", "clear", env=env)
    left = json.load(open(cache_file(t)))["entries"]
    res.append((rc == 0 and left == [], f"clear: {rc} {left}\n{out}"))
    stray = [n for n in os.listdir(t.path("cache")) if "tmp" in n]
    res.append((not stray, f"temp files left: {stray}"))
    with open(cache_file(t), "w") as f:
        f.write("{not json")
    for args in (["list"], ["show", "gemm"], ["clear"]):
        res.append(t.expect(["cache"] + args, 1, "tune-cache.json", env=env))
    res.append((open(cache_file(t)).read() == "{not json", "clear changed a malformed cache"))
    res.append(t.expect(["cache", "frobnicate"], 2, "cache", env=env))
    return all_of(res)


@case("tune_cli/export_without_entries")
def _(t):
    env = cache_env(t)
    write_cache(t, [fake_entry("gemm", "M=64,K=64,N=64", gpu="NVIDIA H100 80GB HBM3")])
    out_path = t.path("table.json")
    rc, out = t.tilec_run("tune", "--kernel", "gemmm", "--export", out_path, env=env)
    refused = rc == 1 and "gemmm" in out and not os.path.exists(out_path)
    rc2, out2 = t.tilec_run("tune", "--kernel", "gemm", "--export", out_path, env=env)
    wrote = rc2 == 0 and len(json.load(open(out_path))["entries"]) == 1
    return refused and wrote, f"{rc}\n{out}\n---\n{rc2}\n{out2}"


@case("tune_cli/progress_shows_left_and_best")
def _(t):
    src = gemm_with_shapes(t, "M=128,N=128,K=128\n")
    rc, out = t.tilec_run("tune", src, "--max-evals", "30", "--jobs", "1", "--budget", "50s",
                          env=cache_env(t, synthetic=True))
    lines = [l for l in out.splitlines() if l.startswith("tune: ")]
    last = lines[-1] if lines else ""
    ok = rc == 0 and "left in the space" in last and "best " in last and \
        "BLOCK_M=" in last and "s of the budget left" in last
    return ok, f"exit {rc}\n{out[-2500:]}"
