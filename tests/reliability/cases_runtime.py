"""Crashes, hangs and unclear messages: libtile's entry points given NULL or odd arguments,
files that are not regular files, tuned tables and numbers out of range."""
import json
import os
import re

from suite_reliability import case


def probe(t, *args, stub=False):
    """tests/runtime/api_probe: one libtile call; returns (rc, output)."""
    env = {"LD_LIBRARY_PATH": os.path.join(t.build, "tests", "runtime")} if stub else None
    return t.run([os.path.join(t.build, "tests", "runtime", "api_probe")] + list(args), env=env)


def all_of(results):
    bad = [detail for ok, detail in results if not ok]
    return not bad, "\n---\n".join(bad)


@case("crash/context_create_null_out")
def _(t):
    rc, out = probe(t, "context_create_null")
    return rc == 0 and "TILE_ERR_ARG" in out, f"exit {rc}\n{out}"


@case("crash/set_checking_null_context")
def _(t):
    rc, out = probe(t, "set_checking_null")
    return rc == 0 and "returned" in out, f"exit {rc}\n{out}"


@case("crash/load_file_directory")
def _(t):
    rc, out = probe(t, "load_file", t.tmp)
    return rc == 0 and "TILE_ERR_IO" in out and "Is a directory" in out, f"exit {rc}\n{out}"


@case("hang/load_file_fifo", timeout=20)
def _(t):
    fifo = t.path("b.tbn")
    os.mkfifo(fifo)
    rc, out = probe(t, "load_file", fifo)
    return rc == 0 and "TILE_ERR_IO" in out and "not a regular file" in out, f"exit {rc}\n{out}"


@case("crash/launch_values_null_arrays")
def _(t):
    src = t.copy_example("gemm.tile")
    tbn = t.path("g.tbn")
    rc, out = t.tilec_run("build", src, "-o", tbn)
    if rc != 0:
        return False, f"build: exit {rc}\n{out}"
    rc, out = t.tilec_run("inspect", tbn)
    signature = re.search(r"signature ([0-9a-f]{16})", out)
    if not signature:
        return False, f"no signature in:\n{out}"
    rc, out = probe(t, "launch_values_null", tbn, signature.group(1), stub=True)
    return rc == 0 and "TILE_ERR_ARG" in out, f"exit {rc}\n{out}"


@case("crash/bundle_of_another_context")
def _(t):
    src = t.copy_example("gemm.tile")
    tbn = t.path("g.tbn")
    rc, out = t.tilec_run("build", src, "-o", tbn)
    if rc != 0:
        return False, f"build: exit {rc}\n{out}"
    rc, out = probe(t, "bundle_other_context", tbn, stub=True)
    return rc == 0 and out.count("TILE_ERR_ARG: the bundle was loaded by another") == 2, \
        f"exit {rc}\n{out}"


@case("hang/tune_cache_fifo", timeout=30)
def _(t):
    cache_dir = t.path("cache")
    os.makedirs(cache_dir)
    os.mkfifo(os.path.join(cache_dir, "tune-cache.json"))
    src = t.copy_example("gemm.tile")
    env = {"TILEC_CACHE_DIR": cache_dir, "TILEC_TUNE_SYNTHETIC": "1"}
    rc, out = t.tilec_run("tune", src, "--shape", "M=64,N=64,K=64", "--max-evals", "2", env=env)
    ok = "not a regular file" in out
    rc2, out2 = t.tilec_run("build", src, "--tuned", "-o", t.path("g.tbn"), env=env)
    return ok and rc2 == 1 and "not a regular file" in out2, f"tune: exit {rc}\n{out}\n" \
        f"build --tuned: exit {rc2}\n{out2}"


@case("hang/fifo_inputs", timeout=60)
def _(t):
    """Every file tilec reads, given a FIFO nobody writes: an error, not a wait forever."""
    fifo = t.path("fifo")
    os.mkfifo(fifo)
    src = t.copy_example("gemm.tile")
    shape = ["--shape", "M=16,N=16,K=16"]
    commands = [["check", fifo], ["inspect", fifo], ["build", src, "--tuned-from", fifo, "-o",
                                                     t.path("g.tbn")],
                ["run", src, "--interpret", *shape, "--in", f"a={fifo}"]]
    results = []
    for args in commands:
        try:
            rc, out = t.run([t.tilec] + args, timeout=10)
        except Exception as e:     # the suite's Fail on a hang
            results.append((False, f"{' '.join(args)}: {e}"))
            continue
        results.append((rc == 1 and "not a regular file" in out, f"{' '.join(args)}: exit {rc}\n{out}"))
    return all_of(results)


@case("message/inspect_directory")
def _(t):
    return t.expect(["inspect", t.tmp], 1, "Is a directory")


@case("message/tuned_from_gpu_star")
def _(t):
    src = t.copy_example("gemm.tile")
    env = {"TILEC_CACHE_DIR": t.path("cache"), "TILEC_TUNE_SYNTHETIC": "1"}
    rc, out = t.tilec_run("tune", src, "--shape", "M=64,N=64,K=64", "--max-evals", "2", env=env)
    table = t.path("table.json")
    rc2, out2 = t.tilec_run("tune", "--kernel", "gemm", "--export", table, env=env)
    if rc or rc2:
        return False, f"tune: exit {rc}\n{out}\nexport: exit {rc2}\n{out2}"
    data = json.load(open(table))
    data["entries"][0]["gpu"] = "*"
    with open(table, "w") as f:
        json.dump(data, f)
    ok, detail = t.expect(["build", src, "--tuned-from", table, "-o", t.path("g.tbn")], 1,
                          'entry 0')
    return ok and '"*"' in detail and not os.path.exists(t.path("g.tbn")), detail


@case("message/run_seed_out_of_range")
def _(t):
    src = t.copy_example("gemm.tile")
    return t.expect(["run", src, "--interpret", "--shape", "M=16,N=16,K=16", "--seed",
                     "99999999999999999999999"], 2, "out of range")


@case("message/two_outputs_one_file")
def _(t):
    src = t.copy_example("gemm.tile")
    return t.expect(["run", src, "--interpret", "--shape", "M=16,N=16,K=16", "--out", "a=x.npy",
                     "--out", f"c={t.tmp}/./x.npy"], 2, "are the same file")


@case("message/cache_dir_too_long")
def _(t):
    # cut to its first 4095 bytes it would name another folder, created and written
    long_dir = t.tmp + "/d" * 2100
    ok, detail = t.expect(["tune", "--kernel", "gemm", "--export", t.path("e.json")], 1,
                          "longer than", env={"TILEC_CACHE_DIR": long_dir})
    return ok and not os.path.exists(t.path("d")), detail
