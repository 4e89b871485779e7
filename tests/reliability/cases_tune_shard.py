"""Tuning over hosts (issue 27): `tilec tune --shard I/N` tunes a deterministic share of the
kernel x shape cases, `tilec cache merge OUT A B ...` merges the partial tables (a conflict
goes to the faster entry, reported on stderr), and `tilec tune FILE...` tunes several files.
No GPU here: the synthetic backend (TILEC_TUNE_SYNTHETIC=1) times the candidates."""
import json
import os

from suite_reliability import case

SYNTH = {"TILEC_TUNE_SYNTHETIC": "1"}
GEMM_SHAPES = ["M=64,N=64,K=64", "M=128,N=128,K=64", "M=256,N=128,K=64", "M=128,N=256,K=128",
               "M=512,N=64,K=64", "M=64,N=512,K=256", "M=256,N=256,K=256"]


def all_of(results):
    bad = [detail for ok, detail in results if not ok]
    return not bad, "\n---\n".join(bad)


def entries_of(path):
    with open(path) as f:
        return json.load(f)["entries"]


def cases_of(path):
    """(kernel, shape) of each entry of a table; [] when the file is not there."""
    if not os.path.exists(path):
        return []
    return [(e["kernel"], e["shape"]) for e in entries_of(path)]


def gemm_with_shapes(t):
    src = t.copy_example("gemm.tile")
    t.write("gemm.shapes", "\n".join(GEMM_SHAPES) + "\n")
    return src


def tune_into(t, dirname, *args):
    env = dict(SYNTH, TILEC_CACHE_DIR=t.path(dirname))
    rc, out = t.tilec_run("tune", *args, "--max-evals", "2", "--jobs", "1", env=env)
    return rc, out, os.path.join(t.path(dirname), "tune-cache.json")


def fake_entry(shape, time_ms, config, gpu="synthetic", kernel="gemm"):
    return {"kernel": kernel, "source_hash": "0123456789abcdef", "consts": "", "align": "vec16",
            "shape": shape, "gpu": gpu, "sm_count": 1, "driver_version": 0,
            "tilec_version": "0.1.0", "config": config, "time_ms": time_ms, "default_ms": 1.0,
            "strategy": "pattern", "evaluations": 4, "space": "00000000000000aa",
            "tuned_at": "2026-12-07T00:00:00Z"}


def write_table(t, name, entries):
    return t.write(name, json.dumps({"format": "tilec-tune-cache", "version": 1,
                                     "entries": entries}))


@case("tune_shard/bad_values")
def _(t):
    src = gemm_with_shapes(t)
    res = []
    for bad in ("3/2", "2/2", "0/0", "x/y", "1/", "/2", "-1/2", "1/-2", "0/2x", "1"):
        res.append(t.expect(["tune", src, "--shard", bad], 2, f"--shard '{bad}'", env=SYNTH))
    res.append(t.expect(["tune", src, "--shard", "0/1", "--shard", "0/1"], 2,
                        "--shard given twice", env=SYNTH))
    res.append(t.expect(["tune", "--kernel", "gemm", "--export", t.path("x.json"), "--shard",
                         "0/2"], 2, "--shard", env=SYNTH))
    return all_of(res)


@case("tune_shard/union_is_whole_no_overlap")
def _(t):
    src = gemm_with_shapes(t)
    rc, out, whole_path = tune_into(t, "whole", src)
    whole = sorted(cases_of(whole_path))
    if rc != 0 or len(whole) != len(GEMM_SHAPES):
        return False, f"unsharded tune: exit {rc}, {len(whole)} entries\n{out[-2000:]}"
    runs = []
    for run in range(2):
        shards = []
        for i in range(3):
            rc, out, path = tune_into(t, f"run{run}-shard{i}", src, "--shard", f"{i}/3")
            if rc != 0:
                return False, f"shard {i}/3: exit {rc}\n{out[-2000:]}"
            shards.append(sorted(cases_of(path)))
        runs.append(shards)
    union = sorted(c for shard in runs[0] for c in shard)
    sizes = [len(shard) for shard in runs[0]]
    ok = union == whole and runs[0] == runs[1] and max(sizes) - min(sizes) <= 1
    # --space --shard lists the same share without a GPU
    rc, out = t.tilec_run("tune", "--space", src, "--shard", "1/3")
    listed = [l for l in out.splitlines() if l.startswith("kernel gemm, shape")]
    ok = ok and rc == 0 and len(listed) == len(runs[0][1])
    rc, out, one = tune_into(t, "one", src, "--shard", "0/1")
    ok = ok and rc == 0 and sorted(cases_of(one)) == whole
    return ok, f"whole {whole}\nruns {runs}\nspace 1/3: {listed}"


@case("tune_shard/shards_merged_equal_one_run")
def _(t):
    src = gemm_with_shapes(t)
    rc, out, whole_path = tune_into(t, "whole", src)
    if rc != 0:
        return False, f"unsharded tune: exit {rc}\n{out[-2000:]}"
    parts = []
    for i in range(2):
        rc, out, path = tune_into(t, f"shard{i}", src, "--shard", f"{i}/2")
        if rc != 0:
            return False, f"shard {i}/2: exit {rc}\n{out[-2000:]}"
        parts.append(path)
    merged = t.path("merged.json")
    rc, out = t.tilec_run("cache", "merge", merged, *parts)
    if rc != 0:
        return False, f"merge: exit {rc}\n{out}"
    def winners(path):
        return sorted((e["kernel"], e["shape"], e["config"]) for e in entries_of(path))
    ok = winners(merged) == winners(whole_path)
    # the merged table is a cache `tilec cache list` reads
    os.makedirs(t.path("mcache"))
    os.replace(merged, t.path("mcache/tune-cache.json"))
    rc2, out2 = t.tilec_run("cache", "list", env={"TILEC_CACHE_DIR": t.path("mcache")})
    ok = ok and rc2 == 0 and sum(l.startswith("gemm") for l in out2.splitlines()) == \
        len(GEMM_SHAPES)
    return ok, f"{winners(whole_path)}\n---\n{out2}"


@case("tune_shard/merge_conflicts")
def _(t):
    h100 = "NVIDIA H100 80GB HBM3"
    a = write_table(t, "a.json", [
        fake_entry("M=64,N=64,K=64", 0.50, "BLOCK_M=64"),
        fake_entry("M=128,N=128,K=128", 0.20, "BLOCK_M=128"),
        fake_entry("M=64,N=64,K=64", 0.10, "BLOCK_M=32", gpu=h100)])
    b = write_table(t, "b.json", [
        fake_entry("M=64,N=64,K=64", 0.40, "BLOCK_M=16"),
        fake_entry("M=128,N=128,K=128", 0.30, "BLOCK_M=256"),
        fake_entry("M=8,N=8,K=8", 0.01, "BLOCK_M=8")])
    out_path = t.path("out/merged.json")
    os.makedirs(t.path("out"))
    rc, out = t.tilec_run("cache", "merge", out_path, a, b)
    if rc != 0:
        return False, f"merge: exit {rc}\n{out}"
    got = sorted((e["shape"], e["gpu"], e["config"], e["time_ms"]) for e in entries_of(out_path))
    want = sorted([("M=64,N=64,K=64", "synthetic", "BLOCK_M=16", 0.40),
                   ("M=128,N=128,K=128", "synthetic", "BLOCK_M=128", 0.20),
                   ("M=64,N=64,K=64", h100, "BLOCK_M=32", 0.10),
                   ("M=8,N=8,K=8", "synthetic", "BLOCK_M=8", 0.01)])
    # both conflicts reported, each naming the two files; the H100 entry is no conflict
    reported = out.count("conflict") == 2 and "a.json" in out and "b.json" in out and \
        h100 not in out
    stray = [n for n in os.listdir(t.path("out")) if n != "merged.json"]
    return got == want and reported and not stray, f"{got}\n{out}\nstray {stray}"


@case("tune_shard/merge_bad_input")
def _(t):
    good = write_table(t, "good.json", [fake_entry("M=64,N=64,K=64", 0.5, "BLOCK_M=64")])
    broken = t.write("broken.json", "{not json")
    other = t.write("other.json", json.dumps({"format": "something else", "entries": []}))
    bad_entry = write_table(t, "bad_entry.json", [{"kernel": "gemm"}])
    out_path = t.path("merged.json")
    res = []
    for bad in (broken, other, bad_entry, t.path("missing.json"), t.tmp):
        name = os.path.basename(bad)
        res.append(t.expect(["cache", "merge", out_path, good, bad], 1, name))
        res.append((not os.path.exists(out_path), f"{name}: an output was written"))
    res.append(t.expect(["cache", "merge", out_path], 2, "merge"))
    res.append(t.expect(["cache", "merge"], 2, "merge"))
    res.append(t.expect(["cache", "merge", good, good], 2, "good.json"))
    res.append((open(good).read().startswith('{"format"'), "merge wrote onto its input"))
    return all_of(res)


@case("tune_shard/several_files")
def _(t):
    gemm = gemm_with_shapes(t)
    bmm = t.copy_example("bmm.tile")
    t.copy_example("bmm.shapes")
    with open(t.path("bmm.shapes")) as f:
        nbmm = sum(1 for l in f if l.strip() and not l.lstrip().startswith("#"))
    rc, out, path = tune_into(t, "both", gemm, bmm)
    kernels = [k for k, _ in cases_of(path)]
    ok = rc == 0 and kernels.count("gemm") == len(GEMM_SHAPES) and len(kernels) == \
        len(GEMM_SHAPES) + nbmm and nbmm > 0
    shards = []
    for i in range(2):
        rc2, out2, p = tune_into(t, f"s{i}", gemm, bmm, "--shard", f"{i}/2")
        ok = ok and rc2 == 0
        shards += cases_of(p)
    ok = ok and sorted(shards) == sorted(cases_of(path))
    res = [(ok, f"{rc}\n{out[-1500:]}\n{kernels}\n{sorted(shards)}")]
    res.append(t.expect(["tune", gemm, bmm, "--kernel", "gemm"], 2, "--kernel"))
    broken = t.write("broken.tile", "kernel broken(\n")
    t.write("broken.shapes", "M=64\n")
    res.append(t.expect(["tune", gemm, broken, "--max-evals", "1"], 1, "broken.tile",
                        env=dict(SYNTH, TILEC_CACHE_DIR=t.path("broken-cache"))))
    return all_of(res)


@case("tune_shard/cluster_example_scripts")
def _(t):
    """examples/tune-cluster's Slurm script run as three array tasks would run it, then its
    merge: every case of its kernels tuned once, in one table."""
    root = os.path.dirname(os.path.abspath(t.examples))
    scripts = os.path.join(root, "examples", "tune-cluster")
    bindir = t.path("bin")
    os.makedirs(bindir)
    os.symlink(os.path.abspath(t.tilec), os.path.join(bindir, "tilec"))
    env = dict(SYNTH, TUNE_DIR=t.path("shards"),
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    logs = []
    for i in range(3):
        rc, out = t.run([os.path.join(scripts, "tune-shards.sbatch")], cwd=root,
                        env=dict(env, SLURM_ARRAY_TASK_ID=str(i), SLURM_ARRAY_TASK_COUNT="3"))
        logs.append(out)
        if rc != 0:
            return False, f"task {i}: exit {rc}\n{out[-2000:]}"
    rc, out = t.run([os.path.join(scripts, "merge-shards.sh")], env=env)
    table = t.path("shards/tune-table.json")
    merged = sorted(cases_of(table)) if rc == 0 else []
    tuned = [l for log in logs for l in log.splitlines() if "survive pruning" in l]
    ok = rc == 0 and len(merged) == len(tuned) == len(set(merged)) and len(merged) >= 3
    rc2, out2 = t.run([os.path.join(scripts, "tune-shards.sbatch")], cwd=root, env=env)
    ok = ok and rc2 != 0 and "sbatch" in out2
    return ok, f"merge exit {rc}\n{out}\n{merged}\n{tuned}\n{out2}"
