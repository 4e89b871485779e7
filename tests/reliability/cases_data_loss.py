"""Data loss: outputs that destroy inputs or earlier outputs, write errors not reported."""
import json
import os
import resource
import signal
import subprocess
import time

from suite_reliability import case


def read(path):
    with open(path, "rb") as f:
        return f.read()


def file_size_limit(nbytes):
    """A preexec_fn: `ulimit -f` in bytes for the child."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


def refused(t, args, victim, needle="same file as the input"):
    """tilec ARGS must exit 2 naming the clash and leave `victim` as it was."""
    before = read(victim)
    rc, out = t.tilec_run(*args)
    after = read(victim)
    if after != before:             # for the next command of the case
        with open(victim, "wb") as f:
            f.write(before)
    return rc == 2 and after == before and needle in out, f"exit {rc}; {victim} " \
        f"{'unchanged' if after == before else 'CHANGED'}\n{out[-2000:]}"


def all_of(results):
    bad = [detail for ok, detail in results if not ok]
    return not bad, "\n---\n".join(bad)


@case("data_loss/build_onto_source")
def _(t):
    src = t.copy_example("gemm.tile")
    before = open(src, "rb").read()
    rc, out = t.tilec_run("build", src, "-o", src)
    after = open(src, "rb").read()
    return rc != 0 and after == before and "same file" in out, f"exit {rc}\n{out[-2000:]}"


@case("data_loss/emit_onto_source")
def _(t):
    src = t.copy_example("gemm.tile")
    return all_of([refused(t, ["build", f"--emit={stage}", src, "-o", src], src)
                   for stage in ("ptx", "llvm", "ir", "ast")])


@case("data_loss/build_onto_include")
def _(t):
    lib = t.copy_example("gemm.tile")
    main = t.write("main.tile", 'include "gemm.tile"\n')
    return all_of([refused(t, ["build", main, "-o", lib], lib),
                   refused(t, ["build", "--emit=ir", main, "-o", lib], lib)])


@case("data_loss/build_onto_tuned_from")
def _(t):
    src = t.copy_example("gemm.tile")
    table = t.write("table.json", '{"format": "tilec-tune-cache", "version": 1, "entries": []}\n')
    return refused(t, ["build", src, "--tuned-from", table, "-o", table], table)


@case("data_loss/header_onto_include")
def _(t):
    # -o k.tbn writes the launcher header k.h, here the file the source includes
    inc = t.write("k.h", read(os.path.join(t.examples, "gemm.tile")).decode())
    main = t.write("main.tile", 'include "k.h"\n')
    return refused(t, ["build", main, "-o", t.path("k.tbn")], inc)


@case("data_loss/run_out_onto_input")
def _(t):
    src = t.copy_example("gemm.tile")
    shape = ["--shape", "M=16,N=16,K=16"]
    rc, out = t.tilec_run("run", src, "--interpret", *shape, "--out", "a=a.npy")
    if rc != 0:
        return False, f"making a.npy: exit {rc}\n{out}"
    return all_of([
        refused(t, ["run", src, "--interpret", *shape, "--out", f"c={src}"], src),
        refused(t, ["run", src, "--interpret", *shape, "--in", "a=a.npy", "--out", "c=a.npy"],
                t.path("a.npy"))])


@case("data_loss/export_onto_cache")
def _(t):
    # `tune --export` onto the cache it reads would keep only one kernel's entries
    os.makedirs(t.path("cache"))
    cache = t.write("cache/tune-cache.json", json.dumps(tune_table([
        tune_entry("gemm", "M=64,K=64,N=64"), tune_entry("softmax", "M=64,N=64")])))
    rc, out = t.tilec_run("tune", "--kernel", "gemm", "--export", cache,
                          env={"TILEC_CACHE_DIR": t.path("cache")})
    kept = len(json.loads(read(cache))["entries"])
    return rc == 2 and kept == 2 and "same file" in out, f"exit {rc}, {kept} entries kept\n{out}"


@case("data_loss/bundle_write_error_keeps_old")
def _(t):
    src = t.copy_example("gemm.tile")
    tbn = t.path("g.tbn")
    rc, out = t.tilec_run("build", src, "-o", tbn)
    if rc != 0:
        return False, f"first build: exit {rc}\n{out}"
    before = read(tbn)
    rc, out = t.run([t.tilec, "build", src, "-o", tbn], preexec_fn=file_size_limit(4096))
    left = [p for p in os.listdir(t.tmp) if "tmp" in p]
    ok = rc == 1 and read(tbn) == before and "File too large" in out and not left
    return ok, f"exit {rc}; old bundle {'kept' if read(tbn) == before else 'LOST'}; " \
               f"left behind {left}\n{out[-2000:]}"


@case("data_loss/write_errors_reported")
def _(t):
    src = t.copy_example("gemm.tile")
    results = []
    for stage in ("ptx", "ir", "ast"):
        rc, out = t.run(["sh", "-c", f'"$0" build --emit={stage} "$1" > /dev/full', t.tilec, src])
        results.append((rc == 1 and "No space left on device" in out,
                        f"--emit={stage} > /dev/full: exit {rc}\n{out[-1000:]}"))
        dest = t.path(f"g.{stage}")
        rc, out = t.run([t.tilec, "build", f"--emit={stage}", src, "-o", dest],
                        preexec_fn=file_size_limit(1000))
        results.append((rc == 1 and "File too large" in out and not os.path.exists(dest),
                        f"--emit={stage} under ulimit -f: exit {rc}, "
                        f"{dest} {'exists' if os.path.exists(dest) else 'absent'}\n{out[-1000:]}"))
    tbn = t.path("g.tbn")
    rc, out = t.tilec_run("build", src, "-o", tbn)
    if rc != 0:
        return False, f"build: exit {rc}\n{out}"
    rc, out = t.run(["sh", "-c", '"$0" inspect "$1" > /dev/full', t.tilec, tbn])
    results.append((rc == 1 and "No space left on device" in out,
                    f"inspect > /dev/full: exit {rc}\n{out[-1000:]}"))
    return all_of(results)


@case("data_loss/run_out_write_error")
def _(t):
    src = t.copy_example("gemm.tile")
    out_path = t.write("c.npy", "the previous output\n")
    rc, out = t.run([t.tilec, "run", src, "--interpret", "--shape", "M=64,N=64,K=64",
                     "--out", f"c={out_path}"], preexec_fn=file_size_limit(4096))
    kept = read(out_path) == b"the previous output\n"
    return rc == 1 and kept and "File too large" in out, \
        f"exit {rc}; old file {'kept' if kept else 'LOST'}\n{out[-2000:]}"


# ---- the tune cache

def tune_entry(kernel, shape, gpu="GPU A", source_hash="0123456789abcdef"):
    return {"kernel": kernel, "source_hash": source_hash, "consts": "", "align": "vec16",
            "shape": shape, "gpu": gpu, "sm_count": 132, "driver_version": 13000,
            "tilec_version": "0.1.0", "config": "BLOCK_M=64", "time_ms": 0.5,
            "default_ms": 1.0, "strategy": "pattern", "evaluations": 10}


def tune_table(entries):
    return {"format": "tilec-tune-cache", "version": 1, "entries": entries}


def synthetic_tune(t, cache_dir, shape="M=64,N=64,K=64", **kw):
    src = t.copy_example("gemm.tile")
    return t.run([t.tilec, "tune", src, "--shape", shape, "--max-evals", "2"],
                 env={"TILEC_CACHE_DIR": cache_dir, "TILEC_TUNE_SYNTHETIC": "1"}, **kw)


def cache_shapes(path):
    return sorted(e.get("shape", "?") for e in json.loads(read(path))["entries"])


@case("data_loss/tune_cache_corrupt_entries_kept")
def _(t):
    """Each round breaks the cache (invalid JSON first, then one malformed entry) and tunes:
    the good entries stay, the bad part goes to a new .corrupt.N, the last three are kept."""
    cache_dir = t.path("cache")
    os.makedirs(cache_dir)
    cache = os.path.join(cache_dir, "tune-cache.json")
    with open(cache, "w") as f:
        f.write('{"format": "tilec-tune-cache", "entries": [')
    backups = {}
    for rnd in range(1, 5):
        if rnd > 1:
            table = json.loads(read(cache))
            table["entries"].insert(1, {"kernel": "gemm", "round": rnd})
            with open(cache, "w") as f:
                json.dump(table, f)
        good = [s for s in cache_shapes(cache) if s != "?"] if rnd > 1 else []
        rc, out = synthetic_tune(t, cache_dir, shape=f"M={64 * rnd},N=64,K=64")
        if rc != 0:
            return False, f"round {rnd}: exit {rc}\n{out}"
        got = cache_shapes(cache)
        want = sorted(good + [f"M={64 * rnd},K=64,N=64"])
        if got != want:
            return False, f"round {rnd}: cache holds {got}, wanted {want}\n{out}"
        aside = f"{cache}.corrupt.{rnd}"
        if not os.path.exists(aside) or aside not in out:
            return False, f"round {rnd}: no {aside} named in the warning\n{out}"
        backups[rnd] = read(aside)
        if rnd > 1 and json.loads(backups[rnd])["entries"] != [{"kernel": "gemm", "round": rnd}]:
            return False, f"round {rnd}: {aside} holds {backups[rnd][:300]!r}"
        for old in range(max(1, rnd - 2), rnd):
            if read(f"{cache}.corrupt.{old}") != backups[old]:
                return False, f"round {rnd}: {cache}.corrupt.{old} was changed"
    gone = [n for n in range(1, 5) if os.path.exists(f"{cache}.corrupt.{n}")]
    return gone == [2, 3, 4], f"backups left: {gone} (wanted the last three, 2 3 4)"


@case("data_loss/tune_cache_killed_writer", timeout=240)
def _(t):
    """A writer killed (SIGKILL) while writing a large cache leaves the cache whole, and
    the next writer removes the dead one's temp file."""
    cache_dir = t.path("cache")
    os.makedirs(cache_dir)
    cache = os.path.join(cache_dir, "tune-cache.json")
    entries = [tune_entry("other", f"M={i},N=64") for i in range(40000)]
    with open(cache, "w") as f:
        json.dump(tune_table(entries), f)
    before = read(cache)
    src = t.copy_example("gemm.tile")
    env = dict(os.environ, TILEC_CACHE_DIR=cache_dir, TILEC_TUNE_SYNTHETIC="1")
    killed = False
    for _attempt in range(5):
        p = subprocess.Popen([t.tilec, "tune", src, "--shape", "M=64,N=64,K=64",
                              "--max-evals", "2"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while p.poll() is None and time.time() < deadline:
            temps = [n for n in os.listdir(cache_dir) if "tmp" in n]
            if temps and os.path.getsize(os.path.join(cache_dir, temps[0])) > 0:
                p.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.001)
        p.wait()
        if killed:
            break
    if not killed:
        return False, "never saw the writer's temp file to kill it"
    if read(cache) != before:
        return False, "the cache changed under a killed writer"
    left = [n for n in os.listdir(cache_dir) if "tmp" in n]
    if not left:
        return False, "the killed writer left no temp file: the test did not kill it mid-write"
    rc, out = synthetic_tune(t, cache_dir)
    after = [n for n in os.listdir(cache_dir) if "tmp" in n]
    shapes = cache_shapes(cache)
    ok = rc == 0 and not after and len(shapes) == 40001
    return ok, f"exit {rc}; temp files before {left}, after {after}; {len(shapes)} entries\n{out}"


@case("data_loss/outfile_mechanics")
def _(t):
    """tests/files/files_test: src/base/files.c on its own (a writer killed mid-write, a live
    writer's temp file kept, ulimit -f, symlinks, modes, FIFOs, /dev/stdout, inputs)."""
    rc, out = t.run([os.path.join(t.build, "tests", "files_test"), t.tmp])
    return rc == 0 and out.count("\nok ") + out.startswith("ok ") == 4, f"exit {rc}\n{out}"
