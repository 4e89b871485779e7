"""Data-dependent indices (issue 23): an index read from a tensor that lies outside its dim
is an error with the op's location (the interpreter) or a device fault that libtile reports
(the GPU; here the stub driver plays the kernel's part), never silent zeros."""
import os
import struct

from suite_reliability import case

# An embedding lookup through a scalar index read from data: `ids[b]` with b pinned to
# blocks of 1 is an i32 scalar.
EMBED = """kernel embed(ids: i32[B], weight: f32[V, D], out: f32[B, D]) {
    for b in tile(B) block(1) {
        out[b, :] = weight[ids[b], :]
    }
}
"""


def write_i32(path, values):
    """A 1-D int32 .npy."""
    header = f"{{'descr': '<i4', 'fortran_order': False, 'shape': ({len(values)},), }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
                struct.pack(f"<{len(values)}i", *values))


def stub_env(t, **extra):
    env = {"LD_LIBRARY_PATH": os.path.join(t.build, "tests", "runtime")}
    env.update(extra)
    return env


@case("silent/data_index_past_the_end_interpreted")
def _(t):
    """Id 1000 of a 1000-row table: an error at the load, not a row of zeros."""
    src = t.write("embed.tile", EMBED)
    write_i32(t.path("ids.npy"), [3, 1000, 7])
    return t.expect(["run", "--interpret", src, "--in", "ids=ids.npy", "--shape", "V=1000,D=8"],
                    1, "embed.tile:3:27: error: load of weight: index 1000 is outside dim 0 "
                    "(size 1000)")


@case("silent/data_index_negative_interpreted")
def _(t):
    src = t.write("embed.tile", EMBED)
    write_i32(t.path("ids.npy"), [0, -1])
    return t.expect(["run", "--interpret", src, "--in", "ids=ids.npy", "--shape", "V=10,D=8"],
                    1, "embed.tile:3:27: error: load of weight: index -1 is outside dim 0 "
                    "(size 10)")


@case("silent/data_index_fault_on_the_gpu")
def _(t):
    """The GPU half: a kernel that meets the bad id records it in its module's fault sink
    (the stub writes the record as the kernel would, STUB_CUDA_FAULT), and `tilec run`
    reports libtile's TILE_ERR_INDEX naming the kernel, the tensor and the dim."""
    src = t.write("embed.tile", EMBED)
    write_i32(t.path("ids.npy"), [3, 1000, 7])
    env = stub_env(t, STUB_CUDA_FAULT="1:0:1000:1000:3:27:0")
    return t.expect(["run", src, "--in", "ids=ids.npy", "--shape", "V=1000,D=8"], 1,
                    "kernel embed: index 1000 is outside dim 0 of weight (size 1000) in a load "
                    "at line 3, column 27", env=env)
