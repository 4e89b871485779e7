#!/usr/bin/env python3
"""random_kernels.py BUILD_DIR [--seed N|commit] [--count N | --budget SECONDS] [--only I]
                   [--known avoid|report|fail] [--minimise TRIES] [--jobs N] [--stages ...]

A typed random-program generator for the tile language, and the pipeline that runs what it
generates: `tilec check` -> `tilec build --emit=ptx` -> `ptxas -arch=TARGET` -> `tilec run
--interpret` on small ragged shapes. Kernels are well typed by construction (the generator
tracks every expression's dtype and axes, docs/language.md): every dtype, broadcasts,
reductions, dots (both layouts of b, fp8, f32 exact and tf32 as `@` or dot(), computed operands), loads and stores through
block, full, scalar, literal and None indices, gathers and scatters (index tiles read from
data, folded into their dim or drawn inside it) and data masks (`mask=`), consts, `if` (on
consts and on run-time scalars), nested and loop-carried loops (ranges `tile(lo, hi)`
among them, `lo` computed in the program), atomics into reduction targets, `rand`/`randint`,
`cumsum` (inclusive/exclusive, any axis), `split`/`join` of pair axes, `tune`, `block(...)`, `include`, bit operations,
the small integers i8 i16 u8 u32 (met through `.to()`) and i8 @ i8 into i32; each with a random
config (tunables, alignment class, full-axis sizes) and target (sm_90a, sm_89, sm_80).

Every stage must end in success or an expected diagnostic: a check or build error (exit 1,
"discarded", counted by message) or a refused config value (exit 2). A crash, a sanitizer
report, an LLVM error or assertion, an internal error, an IR verifier's report (`tir:`, an
invalid LLVM module), a hang, PTX that ptxas rejects or
an access the interpreter's mask checker catches fails, with the seed and kernel index
that reproduce it and a minimised kernel. Kernel I of seed S is the same program on every
machine (`--only I` reruns it). `--seed commit` derives the seed from git HEAD, so CI
covers new kernels on every commit. tests/gpu/differential.py runs the same generator
against the GPU. A new language feature or code path adds its production here.
"""
import argparse
import collections
import copy
import math
import hashlib
import itertools
import json
import os
import random
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

FLOATS = ["f32", "bf16", "f16"]
FP8 = ["f8e4m3", "f8e5m2"]
INTS = ["i32", "i64"]
SMALL_INTS = ["i8", "i16", "u8", "u32"]   # met through .to() (gen_small_int)
INT_OPS = ["+", "-", "*", "/", "%", "max", "min", "&", "|", "^", "<<", ">>"]
TARGETS = ["sm_90a", "sm_90a", "sm_90a", "sm_89", "sm_80"]

# Loop variables: name -> the shape symbol they range over by default.
GRID_VARS = [("m", "M"), ("n", "N")]
PINNED_VARS = [("z", "Z"), ("h", "H")]
SEQ_VARS = [("k", "K"), ("j", "J"), ("t", "T")]
FULL_SYMS = ["D", "E"]
FULL_SIZES = [1, 3, 8, 16, 24, 32, 48, 64, 100, 128]
GATHERED = "G"   # the dim every gather and scatter indexes: bound to at least 1
POW2 = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
DEFAULT_BLOCKS = [16, 32, 64, 128, 256]
FLOAT_LITS = ["0.5", "2.0", "1.5", "0.25", "3.0", "1.0", "0.75", "4.0", "0.125", "0.1", "10.0", "1e-3"]
INT_LITS = ["0", "1", "2", "3", "7", "16", "100"]
# The math built-ins; all but sin and cos go through ex2.approx on the GPU.
MATH_FUNCTIONS = ["tanh", "erf", "sigmoid", "silu", "gelu", "gelu_tanh", "sin", "cos"]
# Unary float ops whose GPU result is approximate (not bit-exact with --arith=gpu).
APPROXIMATE = ("exp2", "exp", "log", "log2", "rsqrt", "tanh", "erf", "sigmoid", "silu", "gelu",
               "gelu_tanh")

# Faults known to crash today, each with its fix pending: a construct of the generator
# named here is never written in "avoid" mode (the default); in "report" mode it is written
# now and then and recorded, so that a crash of a kernel that has it counts as known, not
# failed. An entry names the construct's feature() call, says what fails and where its
# reproducer is; it goes with the fix. Empty: the faults found so far (float -> int
# .to(), broadcasts of 1-D tiles and of reductions, i32 cdiv in the interpreter, a dot's
# result read transposed as another dot's accumulator; see
# tests/reliability/cases_compiler.py and cases_generated.py) are fixed; open:
KNOWN_FAULTS = {
}


class V:
    """A generated expression: its text and type. `taint` says the value depends on an
    op whose GPU result is not bit-exact with the interpreter's (a float sum, a dot, a
    float atomic, an approximate ex2/lg2/rsqrt or a math function through ex2); `weak` an
    untyped literal."""
    __slots__ = ("text", "dtype", "axes", "weak", "taint")

    def __init__(self, text, dtype, axes=(), weak=False, taint=False):
        self.text, self.dtype, self.axes = text, dtype, tuple(axes)
        self.weak, self.taint = weak, taint


class LoopVar:
    """A loop variable in scope: the symbol it ranges over, whether its block is 1 (a scalar
    index), whether it is a grid variable."""

    def __init__(self, name, sym, pinned, grid):
        self.name, self.sym, self.pinned, self.grid = name, sym, pinned, grid


class Scope:
    def __init__(self, parent=None):
        self.parent = parent
        self.locals = {}      # name -> V (its type; text is the name)
        self.loopvars = []    # LoopVar, outermost first

    def all_locals(self):
        out = dict(self.parent.all_locals()) if self.parent else {}
        out.update(self.locals)
        return out

    def all_loopvars(self):
        return (self.parent.all_loopvars() if self.parent else []) + self.loopvars


class Case:
    """One generated program and everything a launch of it needs."""

    def __init__(self):
        self.files = {}           # file name -> text (k.tile, maybe an include)
        self.kernel = "k"
        self.target = "sm_90a"
        self.build_config = {}    # tunables, consts, full sizes, align (tilec build --config)
        self.run_config = {}      # tunables (tilec run --config)
        self.shapes = {}          # symbol -> size (tilec run --shape)
        self.sets = {}            # scalar/const -> text (tilec run --set)
        self.seed = 0             # tilec run --seed
        self.features = set()     # KNOWN_FAULTS keys the kernel uses
        self.inputs = {}          # input tensor name -> its dtype and dims

    def config_text(self, which):
        cfg = self.build_config if which == "build" else self.run_config
        return ",".join(f"{k}={v}" for k, v in cfg.items())


class KernelGen:
    """Generates one kernel. opts: known ("avoid" or "report"), diff (bool: avoid feeding
    tainted values into discontinuous ops, for the GPU differential test)."""

    def __init__(self, rng, name="k", known="avoid", diff=False, fp8_ok=True):
        self.rng = rng
        self.name = name
        self.known = known
        self.diff = diff
        self.fp8_ok = fp8_ok
        self.tensors = {}         # name -> dict(dtype, dims, role, op)
        self.scalars = {}         # name -> dtype
        self.consts = {}          # name -> None (bool) or list of ints (i32)
        self.param_order = []
        self.syms = set()
        self.full_syms = set()
        self.loop_blocks = {}     # loop var name -> its block(...) text and allowed sizes
        self.tunables = {}        # tunable name -> allowed values
        self.features = set()
        self.rank3 = False        # a tile of rank 3 is written: limit_tile bounds triples
        self.counter = 0
        self.stored = set()
        self.read = set()         # locals some expression reads
        self.lines = []

    # ---- helpers

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, seq):
        return self.rng.choice(seq)

    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, depth, text):
        if self.chance(0.03):   # the lexer's share: comments after a statement
            text += self.pick(["  # a comment", "  /* a block comment */"])
        self.lines.append("    " * depth + text)

    def feature(self, name):
        """Whether to write construct `name` here: always unless it is a KNOWN_FAULTS
        entry; then never when avoiding them, and now and then (recorded) when reporting,
        so that they hide few other faults."""
        if name not in KNOWN_FAULTS:
            return True
        if self.known == "avoid" or not self.chance(0.3):
            return False
        self.features.add(name)
        return True

    def add_param(self, name):
        self.param_order.append(name)

    # ---- parameters

    def tensor(self, dtype, dims, role="in", op=None, fresh=False):
        """An existing parameter of this dtype, dims and role, or a new one."""
        if role == "in" and not fresh:
            for name, t in self.tensors.items():
                if t["role"] == "in" and t["dtype"] == dtype and t["dims"] == list(dims) and self.chance(0.7):
                    return name
        name = self.fresh({"in": "x", "out": "y", "reduce": "r"}[role])
        self.tensors[name] = {"dtype": dtype, "dims": list(dims), "role": role, "op": op,
                              "index": False}
        for d in dims:
            if isinstance(d, str):
                self.syms.add(d)
        self.add_param(name)
        return name

    def scalar_param(self, dtype):
        for name, t in self.scalars.items():
            if t == dtype and self.chance(0.6):
                return name
        name = self.fresh("s")
        self.scalars[name] = dtype
        self.add_param(name)
        return name

    def const_param(self, kind):
        for name, vals in self.consts.items():
            if (vals is None) == (kind == "bool") and self.chance(0.6):
                return name
        name = self.fresh("c")
        if kind == "bool":
            self.consts[name] = None
        else:
            self.consts[name] = sorted(self.rng.sample([1, 2, 3, 4, 8, 16], self.rng.randint(1, 3)))
        self.add_param(name)
        return name

    # ---- literals and leaves

    def float_lit(self):
        t = self.pick(FLOAT_LITS)
        return ("-" + t) if self.chance(0.2) else t

    def int_lit(self):
        lit = self.pick(INT_LITS)
        return hex(int(lit)) if self.chance(0.05) else lit

    def scalar_leaf(self, sc, dtype):
        """A non-weak scalar of dtype: a scalar parameter, a local, a loop bound."""
        cands = [V(n, v.dtype, (), taint=v.taint) for n, v in sc.all_locals().items()
                 if v.dtype == dtype and v.axes == ()]
        if cands and self.chance(0.5):
            v = self.pick(cands)
            self.read.add(v.text)
            return v
        if dtype == "i64" and self.chance(0.5):
            lvs = [lv for lv in sc.all_loopvars()]
            if lvs:
                lv = self.pick(lvs)
                return V(f"{lv.name}.{self.pick(['begin', 'end'])}", "i64")
        if dtype == "i32" and self.consts and self.chance(0.3):
            ints = [n for n, v in self.consts.items() if v is not None]
            if ints:
                return V(self.pick(ints), "i32")
        if dtype == "bool" and self.chance(0.5):
            return V(self.const_param("bool"), "bool")
        if dtype in FP8:
            return V(f"{self.scalar_leaf(sc, 'f32').text}.to({dtype})", dtype)
        return V(self.scalar_param(dtype), dtype)

    # ---- loads

    def load(self, sc, dtype, axes):
        """t[...] of dtype with exactly these axes (block vars, full syms, '1')."""
        self.rank3 |= len(axes) >= 3
        entries, dims = [], []
        lvs = {lv.name: lv for lv in sc.all_loopvars()}
        for a in axes:
            if a == "1":
                if self.chance(0.5):
                    entries.append("None")
                else:
                    entries.append(":")
                    dims.append(1)
            elif a in lvs:
                entries.append(a)
                dims.append(lvs[a].sym)
            else:  # a full axis
                entries.append(":")
                dims.append(a)
                self.full_syms.add(a)
        # extra dims indexed by a scalar: a pinned loop variable, a literal, a bound
        for _ in range(self.rng.choice([0, 0, 0, 1, 1, 2])):
            if len(dims) >= 4:
                break
            pos = self.rng.randint(0, len(entries))
            pinned = [lv for lv in sc.all_loopvars() if lv.pinned]
            r = self.rng.random()
            if pinned and r < 0.4:
                lv = self.pick(pinned)
                e, d = lv.name, lv.sym
            elif r < 0.6:
                size = self.pick([1, 2, 4, 5])
                e, d = str(self.rng.randint(0, size - 1)), size
            elif r < 0.75 or not sc.all_loopvars():
                d = self.pick(["M", "N", "K", 3])
                e = self.int_scalar_text(sc, d if isinstance(d, int) else None)
            else:
                lv = self.pick(sc.all_loopvars())
                e, d = (f"{lv.name}.begin" if self.chance(0.5) else f"{lv.name}.end - 1"), lv.sym
            entries.insert(pos, e)
            # dims line up with the non-None entries
            di = sum(1 for x in entries[:pos] if x != "None")
            dims.insert(di, d)
        if not dims:  # a tensor has at least one dim
            size = self.pick([1, 3])
            entries.insert(0, str(self.rng.randint(0, size - 1)))
            dims = [size]
        if not entries:  # a scalar load needs one index
            size = self.pick([1, 3])
            entries, dims = [str(self.rng.randint(0, size - 1))], [size]
        # a gather: a block entry indexed by an integer tile read from data instead
        for i, e in enumerate(entries):
            if e in lvs and not lvs[e].pinned and self.chance(0.04):
                entries[i] = self.gather_index(sc, e)
                dims[sum(1 for x in entries[:i] if x != "None")] = GATHERED
        if axes and self.chance(0.04):
            entries.append(f"mask={self.data_mask(sc, axes)}")
        name = self.tensor(dtype, dims)
        return V(f"{name}[{', '.join(entries)}]", dtype, axes)

    def gather_index(self, sc, axis):
        """An integer tile of axes (axis,) read from data, inside [0, G): straight from a
        tensor (whose data random_inputs and `tilec run` draw inside the dim it indexes), or
        any integer expression folded into the dim (never tainted in the differential mode:
        the GPU and the interpreter must gather the same element)."""
        lvs = {lv.name: lv for lv in sc.all_loopvars()}
        dtype = self.pick(INTS)
        if self.chance(0.5):
            e = self.gen(sc, dtype, (axis,), 2)
            if not (self.diff and e.taint):
                return f"(({e.text}) % {GATHERED} + {GATHERED}) % {GATHERED}"
        name = self.tensor(dtype, [lvs[axis].sym])
        self.tensors[name]["index"] = True
        return f"{name}[{axis}]"

    def data_mask(self, sc, axes):
        """A bool that broadcasts to `axes`, for mask= (never tainted in the differential
        mode: a lane it drops on one side only would differ)."""
        c = self.gen_bool(sc, self.operand_axes(axes), 1)
        if self.diff and c.taint:
            c = self.load(sc, "bool", axes)
        return c.text

    def int_scalar_text(self, sc, size=None):
        """An integer scalar for an index: a literal (below `size` when the dim is a literal:
        a literal index outside its dim is an error), a scalar parameter, a block's start."""
        r = self.rng.random()
        if r < 0.3:
            return str(self.rng.randint(0, size - 1)) if size else self.int_lit()
        lvs = sc.all_loopvars()
        if r < 0.6 or not lvs:
            return self.scalar_param(self.pick(INTS))
        lv = self.pick(lvs)
        return f"({lv.name}.begin + {self.int_lit()})"

    # ---- axes

    def in_scope_axes(self, sc):
        """The block axes a tile may have here: the unpinned loop variables in scope (full
        axes come from full_axis)."""
        return [lv.name for lv in sc.all_loopvars() if not lv.pinned]

    def full_axis(self):
        if self.full_syms and self.chance(0.7):
            return self.pick(sorted(self.full_syms))
        s = self.pick(FULL_SYMS)
        self.full_syms.add(s)
        return s

    def random_axes(self, sc, rank):
        pool = self.in_scope_axes(sc)
        if self.chance(0.25) or len(pool) < rank:
            pool = pool + [self.full_axis()]
        pool = list(dict.fromkeys(pool))
        if len(pool) < rank:
            rank = len(pool)
        return tuple(self.rng.sample(pool, rank))

    # ---- expressions

    def gen(self, sc, dtype, axes, depth):
        """A non-weak expression of exactly dtype[axes]."""
        axes = tuple(axes)
        self.rank3 |= len(axes) >= 3
        if dtype == "bool":
            return self.gen_bool(sc, axes, depth)
        if dtype in FP8:
            if self.chance(0.5):
                return self.load(sc, dtype, axes)
            src = self.gen(sc, self.pick(["f32", "bf16", "f16"]), axes, depth - 1)
            return V(f"{self.paren(src)}.to({dtype})", dtype, axes, taint=src.taint)
        if depth <= 0 or self.chance(0.15):
            return self.leaf(sc, dtype, axes)
        r = self.rng.random()
        if r < 0.30:
            return self.gen_binary(sc, dtype, axes, depth)
        if r < 0.42:
            return self.gen_unary(sc, dtype, axes, depth)
        if r < 0.52:
            return self.gen_convert(sc, dtype, axes, depth)
        if r < 0.62 and len(axes) < 3:
            v = self.gen_reduce(sc, dtype, axes, depth)
            if v:
                return v
        if r < 0.70 and dtype == "f32" and len(axes) == 2:
            v = self.gen_dot(sc, axes, depth)
            if v:
                return v
        if r < 0.78:
            return self.gen_where(sc, dtype, axes, depth)
        if r < 0.84 and len(axes) >= 1:
            v = self.gen_reshape(sc, dtype, axes, depth)
            if v:
                return v
        if r < 0.88:
            return self.gen_ternary(sc, dtype, axes, depth)
        if r < 0.92 and dtype in ("f32", "i32"):
            return self.gen_rand(sc, dtype, axes, depth)
        if r < 0.95 and dtype in ("f32", "i32", "i64") and axes:
            return self.gen_cumsum(sc, dtype, axes, depth)
        if r < 0.97 and 1 <= len(axes) <= 2:
            return self.gen_pairs(sc, dtype, axes, depth)
        return self.leaf(sc, dtype, axes)

    def gen_pairs(self, sc, dtype, axes, depth):
        """Two tiles joined on a pair axis, then one lane split back out, or (numbers) the
        pair axis reduced: split and join through codegen's shared-memory lane moves."""
        a = self.gen(sc, dtype, axes, depth - 1)
        b = self.gen(sc, dtype, axes, depth - 1)
        pair = f"join({a.text}, {b.text})"
        if dtype in FLOATS + INTS and self.chance(0.3):
            red = self.pick(["sum", "max", "min"] if dtype in ("f32", "i32", "i64") else ["max", "min"])
            ax = len(axes) if self.chance(0.5) else -1
            return V(f"{red}({pair}, axis={ax})", dtype, axes,
                     taint=a.taint or b.taint or (red == "sum" and dtype in FLOATS))
        lane = self.rng.randrange(2)
        return V(f"split({pair}, {lane})", dtype, axes, taint=(a, b)[lane].taint)

    def gen_cumsum(self, sc, dtype, axes, depth):
        """cumsum along a random axis (negative now and then; axis= left out on rank 1),
        inclusive or exclusive; an f32 result may scan a 16-bit float tile (summed in f32)."""
        src = self.pick(FLOATS) if dtype == "f32" else dtype
        x = self.gen(sc, src, axes, depth - 1)
        pos = self.rng.randrange(len(axes))
        args = [x.text]
        if len(axes) > 1 or self.chance(0.5):
            args.append(f"axis={pos if self.chance(0.7) else pos - len(axes)}")
        if self.chance(0.5):
            args.append(f"exclusive={self.pick(['true', 'false'])}")
        return V(f"cumsum({', '.join(args)})", dtype, axes, taint=x.taint or dtype == "f32")

    def gen_rand(self, sc, dtype, axes, depth):
        """rand (f32) or randint (i32): an integer scalar seed (a literal, maybe negative, a
        scalar parameter, a local, a loop bound) and an integer offset of these axes.
        Integer Philox: bit-exact on the GPU, so exact in the differential mode, where its
        operands are never tainted (a seed or offset off by one gives an unrelated value)."""
        if self.chance(0.4):
            lit = self.int_lit()
            seed = V(f"-{lit}" if self.chance(0.3) else lit, "i64", (), weak=True)
        else:
            seed = self.scalar_leaf(sc, self.pick(INTS))
        offset = self.gen(sc, self.pick(INTS), axes, depth - 1)
        if self.diff and seed.taint:
            seed = V(self.scalar_param(self.pick(INTS)), "i64")
        if self.diff and offset.taint:
            offset = self.load(sc, self.pick(INTS), axes) if axes else V(self.int_lit(), "i64", (), weak=True)
        fn = "rand" if dtype == "f32" else "randint"
        return V(f"{fn}({seed.text}, {offset.text})", dtype, axes, taint=seed.taint or offset.taint)

    def paren(self, v):
        t = v.text
        if t.replace("_", "").replace(".", "").isalnum() or (t.endswith("]") and "(" not in t[:1]):
            return t
        return f"({t})"

    def leaf(self, sc, dtype, axes):
        v = self.local_leaf(sc, dtype, axes)
        if v:
            return v
        if not axes:
            return self.scalar_leaf(sc, dtype)
        r = self.rng.random()
        if r < 0.1 and "1" not in axes:
            if dtype in INTS and len(axes) == 1 and axes[0] in [lv.name for lv in sc.all_loopvars()]:
                v = V(f"{axes[0]}.index", "i64", axes)   # an iota: codegen makes it in any layout
                return v if dtype == "i64" else V(f"{axes[0]}.index.to({dtype})", dtype, axes)
            return V(f"zeros([{', '.join(axes)}], {dtype})", dtype, axes)
        if r < 0.18 and "1" not in axes:
            lit = self.float_lit() if dtype in FLOATS else self.int_lit()
            if dtype in FLOATS and self.chance(0.1):
                lit = self.pick(["inf", "-inf"])
            return V(f"full([{', '.join(axes)}], {lit}, {dtype})", dtype, axes)
        return self.load(sc, dtype, axes)

    def local_leaf(self, sc, dtype, axes):
        """A local of these axes (or their transpose), converted to dtype when it differs;
        locals not read yet come first."""
        cands = []
        for n, v in sc.all_locals().items():
            if v.axes == axes:
                text = n
            elif len(axes) == 2 and v.axes == (axes[1], axes[0]) and self.feature("transposed_local"):
                text = f"{n}.T"
            else:
                continue
            if v.dtype != dtype:
                if dtype == "bool" or v.dtype in FP8:
                    continue
                if dtype in INTS and v.dtype in FLOATS and (v.taint and self.diff or
                                                            not self.feature("float_to_int")):
                    continue
                text = f"{text}.to({dtype})"
            cands.append((n in self.read, V(text, dtype, axes, taint=v.taint)))
        if not cands or not self.chance(0.6):
            return None
        unread = [v for was_read, v in cands if not was_read]
        v = self.pick(unread or [v for _, v in cands])
        self.read.add(v.text.split(".")[0])
        return v

    def operand_axes(self, axes):
        """Axes for the second operand of a broadcasting op whose result has `axes`."""
        opts = [axes, axes[1:], ()]
        if len(axes) == 2:
            opts += [(axes[0], "1"), ("1", axes[1])]
        if len(axes) == 3:
            opts += [axes[2:], (axes[0], "1", axes[2]), (axes[0], axes[1], "1")]
        return self.pick(opts)

    def operand_dtypes(self, dtype):
        """Two operand dtypes that promote to dtype (the second may be a weak literal)."""
        if dtype == "f32":
            opts = [("f32", "f32"), ("f32", "f32"), ("f32", "bf16"), ("bf16", "f16"), ("f16", "f32"),
                    ("f32", "i32"), ("i64", "f32"), ("f32", "lit")]
        elif dtype in FLOATS:
            opts = [(dtype, dtype), (dtype, dtype), (dtype, "lit"), (dtype, "i32")]
        elif dtype == "i64":
            opts = [("i64", "i64"), ("i64", "i32"), ("i32", "i64"), ("i64", "lit")]
        else:
            opts = [("i32", "i32"), ("i32", "lit")]
        a, b = self.pick(opts)
        return (a, b) if self.chance(0.5) or b == "lit" else (b, a)

    def literal(self, dtype):
        if dtype in INTS:
            return V(self.int_lit(), "i64", (), weak=True)
        return V(self.float_lit(), "f32", (), weak=True)

    def gen_binary(self, sc, dtype, axes, depth):
        ta, tb = self.operand_dtypes(dtype)
        ops = ["+", "-", "*", "/", "max", "min"]
        if dtype in INTS:
            ops += ["%", "cdiv", "&", "|", "^", "<<", ">>"]
        op = self.pick(ops)
        a = self.gen(sc, ta, axes, depth - 1)
        b = self.literal(dtype) if tb == "lit" else self.gen(sc, tb, self.operand_axes(axes), depth - 1)
        if op == "cdiv" and dtype == "i32" and not self.feature("i32_cdiv"):
            op = "/"
        if self.chance(0.5):
            a, b = b, a
        if op in ("max", "min", "cdiv"):
            text = f"{op}({a.text}, {b.text})"
        else:
            text = f"({a.text} {op} {b.text})"
        return V(text, dtype, axes, taint=a.taint or b.taint)

    def gen_unary(self, sc, dtype, axes, depth):
        x = self.gen(sc, dtype, axes, depth - 1)
        if dtype in INTS:
            op = self.pick(["-", "abs", "**", "~"])
        elif self.chance(0.3):   # some 50 instructions an element each: ptxas slows on big tiles
            op = self.pick(MATH_FUNCTIONS)
        else:
            op = self.pick(["-", "abs", "exp2", "exp", "log", "log2", "sqrt", "rsqrt", "sqrt", "**"])
        if op in ("-", "~"):
            return V(f"({op}{self.paren(x)})", dtype, axes, taint=x.taint)
        if op == "**":
            return self.gen_pow(x, dtype, axes)
        taint = x.taint or op in APPROXIMATE
        arg = x.text
        if op in ("log", "log2", "sqrt", "rsqrt") and self.chance(0.6):
            arg = f"abs({x.text}) + 1.0" if self.chance(0.5) else f"abs({x.text})"
        return V(f"{op}({arg})", dtype, axes, taint=taint)

    def gen_pow(self, x, dtype, axes):
        """x ** c: an integer c multiplies (exact on the GPU), 0.5 is sqrt, -0.5 rsqrt and any
        other c exp2(c log2 x) (approximate); an integer base takes c >= 0."""
        if dtype in INTS:
            c = self.pick(["0", "1", "2", "3"])
        else:
            c = self.pick(["2", "3", "-1", "-2", "0", "4", "0.5", "-0.5", "1.5", "-1.5", "2.0", "0.25"])
        approximate = dtype not in INTS and c not in ("0", "1", "2", "3", "4", "-1", "-2", "2.0", "0.5")
        return V(f"({self.paren(x)} ** {c})", dtype, axes, taint=x.taint or approximate)

    def gen_small_int(self, sc, dtype, axes, depth):
        """An integer op in i8/i16/u8/u32 (wrapping in its width, unsigned ops on u8/u32)
        between two integer operands converted to it, converted back to dtype."""
        small = self.pick(SMALL_INTS)
        a = self.gen(sc, self.pick(INTS), axes, depth - 1)
        b = self.gen(sc, self.pick(INTS), self.operand_axes(axes), depth - 1)
        op = self.pick(INT_OPS)
        x, y = f"{self.paren(a)}.to({small})", f"{self.paren(b)}.to({small})"
        text = f"{op}({x}, {y})" if op in ("max", "min") else f"({x} {op} {y})"
        return V(f"{text}.to({dtype})", dtype, axes, taint=a.taint or b.taint)

    def gen_convert(self, sc, dtype, axes, depth):
        if dtype in INTS and self.chance(0.3):
            return self.gen_small_int(sc, dtype, axes, depth)
        if dtype in FLOATS:
            src = self.pick(["f32", "bf16", "f16", "i32", "i64", "bool"] + (FP8 if self.fp8_ok else []))
        else:
            src = self.pick(INTS + ["bool"] + FLOATS)
            if src in FLOATS and not self.feature("float_to_int"):
                src = self.pick(INTS + ["bool"])
        x = self.gen(sc, src, axes, depth - 1)
        if self.diff and x.taint and dtype in INTS:
            x = self.gen(sc, self.pick(INTS), axes, 0)
        return V(f"{self.paren(x)}.to({dtype})", dtype, axes, taint=x.taint)

    def gen_reduce(self, sc, dtype, axes, depth):
        """max/min/amax/sum over one axis inserted into `axes`, or over all axes."""
        pool = [a for a in self.in_scope_axes(sc) if a not in axes]
        if self.chance(0.3) or not pool:
            pool = pool + [self.full_axis()]
            pool = [a for a in pool if a not in axes]
        if not pool:
            return None
        red = self.pick(["sum", "max", "min", "amax"])
        src = dtype
        if red == "sum" and dtype in ("bf16", "f16"):
            red = self.pick(["max", "min", "amax"])
        if red == "sum" and dtype == "f32" and self.chance(0.5):
            src = self.pick(["bf16", "f16"])
        r = self.pick(pool)
        if not axes and self.chance(0.4):
            src_axes = (r,) if self.chance(0.5) or len(pool) < 2 else tuple(self.rng.sample(pool, 2))
            x = self.gen(sc, src, src_axes, depth - 1)
            text = f"{red}({x.text})"
        else:
            pos = self.rng.randint(0, len(axes))
            src_axes = axes[:pos] + (r,) + axes[pos:]
            x = self.gen(sc, src, src_axes, depth - 1)
            ax = pos if self.chance(0.7) else pos - len(src_axes)
            text = f"{red}({x.text}, axis={ax})"
        taint = x.taint or (red == "sum" and dtype in FLOATS)
        return V(text, dtype, axes, taint=taint)

    def dot_operand(self, sc, dtype, axes, depth):
        """A rank-2 tile of a dot dtype: a load, a transposed load, or a computed tile."""
        r = self.rng.random()
        if r < 0.5:
            return self.load(sc, dtype, axes)
        if r < 0.75:
            v = self.load(sc, dtype, (axes[1], axes[0]))
            return V(f"{v.text}.T", dtype, axes)
        x = self.gen(sc, "f32", axes, depth - 1)
        if dtype == "f32":
            return x
        return V(f"{self.paren(x)}.to({dtype})", dtype, axes, taint=x.taint)

    def gen_dot(self, sc, axes, depth):
        if "1" in axes or axes[0] == axes[1]:
            return None
        pool = [a for a in self.in_scope_axes(sc) if a not in axes]
        if self.chance(0.3) or not pool:
            pool = pool + [a for a in [self.full_axis()] if a not in axes]
        if not pool:
            return None
        kx = self.pick(pool)
        if self.chance(0.15):
            # i8 @ i8 -> i32 (exact, wrapping): operands computed from i32 tiles (some loaded
            # transposed), the product seen as f32
            ops = []
            for ax in ((axes[0], kx), (kx, axes[1])):
                if self.chance(0.3):
                    x = self.gen(sc, "i32", (ax[1], ax[0]), depth - 1)
                    ops.append(f"{self.paren(x)}.to(i8).T")
                else:
                    x = self.gen(sc, "i32", ax, depth - 1)
                    ops.append(f"{self.paren(x)}.to(i8)")
            return V(f"({ops[0]} @ {ops[1]}).to(f32)", "f32", axes)
        if self.fp8_ok and self.chance(0.3):
            ta, tb = self.pick(FP8), self.pick(FP8)
        elif self.chance(0.25):
            ta = tb = "f32"      # exact (FMA) or tf32 (mma.sync m16n8k8)
        else:
            ta = tb = self.pick(["bf16", "f16"])
        a = self.dot_operand(sc, ta, (axes[0], kx), depth)
        b = self.dot_operand(sc, tb, (kx, axes[1]), depth)
        if ta == "f32" and self.chance(0.6):
            flag = self.pick(["", ", tf32=true", ", tf32=false"])
            return V(f"dot({a.text}, {b.text}{flag})", "f32", axes, taint=True)
        return V(f"({self.paren(a)} @ {self.paren(b)})", "f32", axes, taint=True)

    def gen_bool(self, sc, axes, depth):
        self.rank3 |= len(axes) >= 3
        if depth <= 0 or self.chance(0.2):
            if axes:
                return self.load(sc, "bool", axes)
            return self.scalar_leaf(sc, "bool")
        r = self.rng.random()
        if r < 0.5:
            t = self.pick(FLOATS + INTS)
            a = self.gen(sc, t, axes, depth - 1)
            b = self.gen(sc, t, self.operand_axes(axes), depth - 1) if self.chance(0.6) else self.literal(t)
            if self.diff and (a.taint or b.taint):
                return self.load(sc, "bool", axes) if axes else self.scalar_leaf(sc, "bool")
            op = self.pick(["<", "<=", ">", ">=", "==", "!="])
            return V(f"({a.text} {op} {b.text})", "bool", axes)
        if r < 0.7:
            a = self.gen_bool(sc, axes, depth - 1)
            b = self.gen_bool(sc, self.operand_axes(axes), depth - 1)
            return V(f"({a.text} {self.pick(['&&', '||'])} {b.text})", "bool", axes)
        if r < 0.8:
            a = self.gen_bool(sc, axes, depth - 1)
            return V(f"(!{self.paren(a)})", "bool", axes)
        if r < 0.9 and len(axes) == 2 and all(a in [lv.name for lv in sc.all_loopvars()] for a in axes):
            return V(f"({axes[0]}.index[:, None] {self.pick(['>=', '<', '=='])} {axes[1]}.index[None, :])",
                     "bool", axes)
        if axes:
            return self.load(sc, "bool", axes)
        return self.scalar_leaf(sc, "bool")

    def gen_where(self, sc, dtype, axes, depth):
        c = self.gen_bool(sc, self.operand_axes(axes), depth - 1)
        a = self.gen(sc, dtype, axes, depth - 1)
        if dtype in FLOATS and self.chance(0.3):
            b = V(self.pick(["-inf", "0.0", "inf", self.float_lit()]), "f32", (), weak=True)
        else:
            b = self.gen(sc, dtype, self.operand_axes(axes), depth - 1)
        if self.chance(0.5):
            a, b = b, a
        return V(f"where({c.text}, {a.text}, {b.text})", dtype, axes, taint=a.taint or b.taint)

    def gen_ternary(self, sc, dtype, axes, depth):
        c = V(self.const_param("bool"), "bool") if self.chance(0.5) else self.gen_bool(sc, (), 1)
        a = self.gen(sc, dtype, axes, depth - 1)
        b = self.gen(sc, dtype, axes, depth - 1)
        return V(f"({c.text} ? {a.text} : {b.text})", dtype, axes, taint=a.taint or b.taint)

    def gen_reshape(self, sc, dtype, axes, depth):
        """x.T, x[:, None], x[None, :] producing `axes`."""
        if len(axes) == 2 and "1" not in axes and self.chance(0.4):
            x = self.gen(sc, dtype, (axes[1], axes[0]), depth - 1)
            return V(f"{self.paren(x)}.T", dtype, axes, taint=x.taint)
        if len(axes) == 2 and axes[1] == "1":
            x = self.gen(sc, dtype, (axes[0],), depth - 1)
            return V(f"{self.paren(x)}[:, None]", dtype, axes, taint=x.taint)
        if len(axes) == 2 and axes[0] == "1":
            x = self.gen(sc, dtype, (axes[1],), depth - 1)
            return V(f"{self.paren(x)}[None, :]", dtype, axes, taint=x.taint)
        if len(axes) == 2 and "1" not in axes and dtype != "bool":
            # a broadcast of [a, 1] or [1, b] to the whole tile, through an op
            x = self.gen_reshape(sc, dtype, self.pick([(axes[0], "1"), ("1", axes[1])]), depth - 1)
            if x is None:
                return None
            y = self.gen(sc, dtype, axes, depth - 1)
            return V(f"({x.text} + {y.text})", dtype, axes, taint=x.taint or y.taint)
        return None

    # ---- statements

    def local_type(self, sc):
        rank = self.pick([0, 1, 1, 2, 2, 2, 3])   # rank 3 where three axes are in scope
        axes = self.random_axes(sc, rank)
        dtype = self.pick(["f32", "f32", "f32", "bf16", "f16", "i32", "i64", "bool"])
        return dtype, axes

    def stmt_assign(self, sc, depth):
        dtype, axes = self.local_type(sc)
        v = self.gen(sc, dtype, axes, self.rng.randint(1, 4))
        name = self.fresh("v")
        self.emit(depth, f"{name} = {v.text}")
        sc.locals[name] = V(name, dtype, axes, taint=v.taint)

    def stmt_reassign(self, sc, depth):
        locs = [(n, v) for n, v in sc.all_locals().items() if v.dtype != "bool" and not n.startswith("p")]
        if not locs:
            return self.stmt_assign(sc, depth)
        name, t = self.pick(locs)
        v = self.gen(sc, t.dtype, t.axes, self.rng.randint(1, 3))
        op = self.pick(["=", "+=", "-=", "*="] + (["/="] if t.dtype in FLOATS else []))
        self.emit(depth, f"{name} {op} {v.text}")
        # inside a loop or an if, the local may hold the old value or the new one
        self.set_local(sc, name, V(name, t.dtype, t.axes, taint=t.taint or v.taint))

    def set_local(self, sc, name, v):
        s = sc
        while s and name not in s.locals:
            s = s.parent
        (s or sc).locals[name] = v

    def grid_index(self, sc):
        """Index entries and dims that pin every grid variable (programs write apart)."""
        entries, dims, axes = [], [], []
        for lv in sc.all_loopvars():
            if lv.grid:
                entries.append(lv.name)
                dims.append(lv.sym)
                if not lv.pinned:
                    axes.append(lv.name)
        return entries, dims, axes

    def stmt_store(self, sc, depth):
        entries, dims, axes = self.grid_index(sc)
        extra = [a for a in self.in_scope_axes(sc) if a not in axes]
        if len(axes) < 3 and self.chance(0.6):
            pool = extra + ([self.full_axis()] if self.chance(0.3) else [])
            pool = [a for a in pool if a not in axes]
            if pool:
                a = self.pick(pool)
                pos = self.rng.randint(0, len(entries))
                lvs = {lv.name: lv for lv in sc.all_loopvars()}
                entries.insert(pos, a if a in lvs else ":")
                dims.insert(pos, lvs[a].sym if a in lvs else a)
                if a not in lvs:
                    self.full_syms.add(a)
        # the tile's axes in index order
        lvs = {lv.name: lv for lv in sc.all_loopvars()}
        tile_axes = []
        for e, d in zip(entries, dims):
            if e == ":":
                tile_axes.append(d)
            elif e in lvs and not lvs[e].pinned:
                tile_axes.append(e)
        if len(tile_axes) > 3:
            return
        self.rank3 |= len(tile_axes) == 3
        dtype = self.pick(["f32", "f32", "bf16", "f16", "i32", "i64", "bool"] + (FP8 if self.fp8_ok else []))
        vaxes = tuple(tile_axes)
        if vaxes and self.chance(0.3):
            vaxes = self.operand_axes(vaxes)
        if self.chance(0.05) and dtype in FLOATS + INTS:
            v = self.literal(dtype)
        else:
            v = self.gen(sc, dtype, vaxes, self.rng.randint(1, 5))
        # a scatter (not in the differential mode: which of several lanes sent to one
        # element wins is unspecified) and a data mask
        for i, e in enumerate(entries):
            if not self.diff and e in lvs and not lvs[e].pinned and self.chance(0.08):
                entries[i] = self.gather_index(sc, e)
                dims[i] = GATHERED
        if tile_axes and self.chance(0.08):
            entries.append(f"mask={self.data_mask(sc, tuple(tile_axes))}")
        name = self.tensor(dtype, dims, role="out")
        self.emit(depth, f"{name}[{', '.join(entries)}] = {v.text}")
        self.stored.add(name)

    def stmt_atomic(self, sc, depth):
        op = self.pick(["sum", "max", "min"])
        dtype = self.pick(["f32", "f32", "i32", "i64"])
        rank = self.pick([0, 1, 1])
        axes = self.random_axes(sc, rank) if rank else ()
        lvs = {lv.name: lv for lv in sc.all_loopvars()}
        if axes and axes[0] not in lvs:
            axes = ()
        entries = [a for a in axes] or ["0"]
        dims = [lvs[a].sym for a in axes] or [1]
        if axes and not lvs[axes[0]].pinned and self.chance(0.15):   # duplicates all combine
            entries[0] = self.gather_index(sc, axes[0])
            dims[0] = GATHERED
        if axes and self.chance(0.08):
            entries.append(f"mask={self.data_mask(sc, axes)}")
        vaxes = axes if self.chance(0.7) else ()
        v = self.gen(sc, dtype, vaxes, self.rng.randint(1, 4))
        name = None
        for n, t in self.tensors.items():
            if t["role"] == "reduce" and t["op"] == op and t["dtype"] == dtype and t["dims"] == dims:
                name = n
        name = name or self.tensor(dtype, dims, role="reduce", op=op)
        fn = {"sum": "atomic_add", "max": "atomic_max", "min": "atomic_min"}[op]
        self.emit(depth, f"{fn}({name}[{', '.join(entries)}], {v.text})")
        self.stored.add(name)

    def block_spec(self, var):
        """block(...) text for a new loop variable; the same name keeps its spec."""
        if var in self.loop_blocks:
            return self.loop_blocks[var]
        r = self.rng.random()
        if r < 0.45:
            spec, allowed = "_", DEFAULT_BLOCKS
        elif r < 0.6:
            lo = self.pick([16, 32])
            hi = self.pick([x for x in [32, 64, 128] if x >= lo])
            spec, allowed = f"{lo}..{hi}", [x for x in POW2 if lo <= x <= hi]
        elif r < 0.75:
            allowed = sorted(self.rng.sample([16, 32, 64, 128], 2))
            spec = "{" + ", ".join(map(str, allowed)) + "}"
        elif r < 0.88:
            b = self.pick([16, 32, 64])
            spec, allowed = str(b), [b]
        else:
            spec, allowed = "1", [1]
        self.loop_blocks[var] = (spec, allowed)
        if spec != "1":
            self.tunables[f"BLOCK_{var.upper()}"] = allowed
        return spec, allowed

    def extent(self, sc, sym):
        r = self.rng.random()
        outer = [lv for lv in sc.all_loopvars()]
        if r < 0.55 or not outer:
            return sym
        if r < 0.7:
            lv = self.pick(outer)
            return f"min({lv.name}.end, {sym})"
        if r < 0.78:
            return f"cdiv({sym}, {self.pick(['2', '3'])})"
        if r < 0.84:
            return f"{sym} - 1"
        if r < 0.9:
            return f"{sym} + {self.pick(['1', '5'])}"
        if r < 0.95:
            ints = [n for n, v in self.consts.items() if v is not None]
            c = self.pick(ints) if ints and self.chance(0.5) else self.const_param("i32")
            return f"cdiv({sym}, {c})"
        c = self.const_param("bool")
        return f"{c} ? min({self.pick(outer).name}.end, {sym}) : {sym}"

    def stmt_loop(self, sc, depth, budget):
        used = {lv.name for lv in sc.all_loopvars()}
        cands = [(v, s) for v, s in SEQ_VARS + GRID_VARS if v not in used and s not in used]
        if not cands:
            return
        var, sym = self.pick(cands)
        self.syms.add(sym)
        spec, _ = self.block_spec(var)
        ext = self.extent(sc, sym)
        outer_axes = self.in_scope_axes(sc)
        # loop-carried accumulators, defined before the loop
        carried = []
        for _ in range(self.pick([0, 1, 1, 2])):
            rank = self.pick([0, 1, 2])
            axes = tuple(self.rng.sample(outer_axes, min(rank, len(outer_axes))))
            dtype = self.pick(["f32", "f32", "f32", "i32", "bf16"])
            name = self.fresh("acc")
            if axes and self.chance(0.66):
                lit = "0" if dtype not in FLOATS else self.pick(["0.0", "-inf", "inf", "1.0"])
                v = V(self.pick([f"zeros([{', '.join(axes)}], {dtype})", f"full([{', '.join(axes)}], {lit}, {dtype})"]),
                      dtype, axes)
            else:
                v = self.gen(sc, dtype, axes, 2 if axes else 1)
            self.emit(depth, f"{name} = {v.text}")
            sc.locals[name] = V(name, dtype, axes, taint=v.taint)  # loop-carried
            carried.append(name)
        blk = "" if spec == "_" and self.chance(0.5) else f" block({spec})"
        if self.chance(0.25):
            ext = f"{self.range_start(sc, sym)}, {ext}"   # a range [lo, hi)
        self.emit(depth, f"for {var} in tile({ext}){blk} {{")
        inner = Scope(sc)
        inner.loopvars.append(LoopVar(var, sym, spec == "1", False))
        for name in carried:
            self.update_carried(inner, depth + 1, name, sc.locals[name])
        self.gen_block(inner, depth + 1, budget - 1)
        self.emit(depth, "}")

    def range_start(self, sc, sym):
        """The start of a tile(lo, hi) range: a literal, a fraction of the dim, or an
        integer scalar computed in the program (loads included), kept within [-3, sym] so
        that the trip count stays small; a value the GPU may compute differently (tainted)
        is not used in the differential mode."""
        r = self.rng.random()
        if r < 0.3:
            return self.pick(["0", "1", "3"])
        if r < 0.5:
            return f"{sym} / {self.pick(['2', '3'])}"
        v = self.gen(sc, "i32", (), self.rng.randint(1, 2))
        if self.diff and v.taint:
            return "1"
        return f"max(min({v.text}, {sym}), -3)"

    def update_carried(self, sc, depth, name, t):
        """acc = acc + ..., acc = max(acc, ...), acc += a @ b."""
        axes = t.axes
        if t.dtype == "f32" and len(axes) == 2 and self.chance(0.5):
            d = self.gen_dot(sc, axes, 2)
            if d:
                self.emit(depth, f"{name} += {d.text}")
                self.set_local(sc, name, V(name, t.dtype, axes, taint=True))
                return
        v = self.gen(sc, t.dtype, axes, self.rng.randint(1, 3))
        form = self.pick(["+", "max", "min", "+=", "*"])
        if t.dtype == "bf16" and form in ("+", "+=", "*"):
            form = "max"
        if form == "+=":
            self.emit(depth, f"{name} += {v.text}")
        elif form in ("max", "min"):
            self.emit(depth, f"{name} = {form}({name}, {v.text})")
        elif form == "*" and t.dtype in FLOATS:
            self.emit(depth, f"{name} = {name} * {self.float_lit()} + {v.text}")
        else:
            self.emit(depth, f"{name} = {name} + {v.text}")
        self.set_local(sc, name, V(name, t.dtype, axes, taint=t.taint or v.taint))

    def stmt_if(self, sc, depth, budget):
        c = self.const_param("bool")
        cond = c if self.chance(0.7) else f"!{c}"
        ints = [n for n, v in self.consts.items() if v is not None]
        if ints and self.chance(0.3):
            n = self.pick(ints)
            cond = f"{n} {self.pick(['>', '==', '<='])} {self.pick(self.consts[n])}"
        elif self.chance(0.3):   # a run-time branch (the grid loop encloses every stmt_if)
            cond = self.gen_bool(sc, (), 2).text
        self.emit(depth, f"if {cond} {{")
        self.gen_block(Scope(sc), depth + 1, budget - 1)
        if self.chance(0.5):
            self.emit(depth, "} else {")
            self.gen_block(Scope(sc), depth + 1, budget - 1)
        self.emit(depth, "}")

    def gen_block(self, sc, depth, budget):
        for _ in range(self.rng.randint(1, 4)):
            r = self.rng.random()
            if r < 0.35:
                self.stmt_assign(sc, depth)
            elif r < 0.5:
                self.stmt_reassign(sc, depth)
            elif r < 0.7:
                self.stmt_store(sc, depth)
            elif r < 0.77:
                self.stmt_atomic(sc, depth)
            elif r < 0.92 and budget > 0:
                self.stmt_loop(sc, depth, budget)
            elif budget > 0:
                self.stmt_if(sc, depth, budget)

    # ---- the kernel

    def prologue(self, sc):
        for _ in range(self.pick([0, 0, 1, 2])):
            dtype = self.pick(["f32", "f32", "i32", "i64", "bool"])
            v = self.gen(sc, dtype, (), 1)
            name = self.fresh("p")
            self.emit(1, f"{name} = {v.text}")
            sc.locals[name] = V(name, dtype, (), taint=v.taint)
            if dtype != "bool" and self.chance(0.3):
                c = self.const_param("bool")
                self.emit(1, f"if {c} {{")
                w = self.gen(sc, dtype, (), 1)
                self.emit(2, f"{name} = {w.text}")
                self.emit(1, "}")
                sc.locals[name] = V(name, dtype, (), taint=v.taint or w.taint)

    def tune_lines(self):
        lines = []
        if self.chance(0.15):
            v = self.pick([[4], [8], [4, 8]])
            self.tunables["num_warps"] = v
            lines.append(f"tune num_warps in {{{', '.join(map(str, v))}}}")
        if self.chance(0.15):
            lo = self.pick([1, 2])
            hi = self.pick([x for x in [2, 3, 4] if x >= lo])
            self.tunables["num_stages"] = list(range(lo, hi + 1))
            lines.append(f"tune num_stages in {lo}..{hi}")
        blocks = [n for n in self.tunables if n.startswith("BLOCK_") and len(self.tunables[n]) > 1]
        if blocks and self.chance(0.15):
            n = self.pick(blocks)
            keep = sorted(self.rng.sample(self.tunables[n], self.rng.randint(1, len(self.tunables[n]))))
            self.tunables[n] = keep
            lines.append(f"tune {n} in {{{', '.join(map(str, keep))}}}")
        return lines

    def generate(self):
        top = Scope()
        self.lines = []
        self.prologue(top)
        prologue = self.lines
        self.lines = []
        # the grid loop
        r = self.rng.random()
        gvars = [("m", "M")] if r < 0.35 else [("m", "M"), ("n", "N")]
        if self.chance(0.3):
            gvars = [self.pick(PINNED_VARS)] + gvars
            if len(gvars) == 3 and self.chance(0.5):
                gvars = gvars[:2]
        grid = Scope(top)
        specs = []
        for v, s in gvars:
            pinned = v in ("z", "h")
            if pinned:
                spec = "1"
                self.loop_blocks[v] = ("1", [1])
            else:
                spec, _ = self.block_spec(v)
            specs.append(spec)
            self.syms.add(s)
            grid.loopvars.append(LoopVar(v, s, spec == "1", True))
        kw = "grid" if self.chance(0.1) else "tile"
        blk = "" if all(s == "_" for s in specs) and self.chance(0.5) else f" block({', '.join(specs)})"
        head = f"for {', '.join(v for v, _ in gvars)} in {kw}({', '.join(s for _, s in gvars)}){blk} {{"
        budget = self.pick([1, 2, 2, 3])
        self.gen_block(grid, 2, budget)
        if not self.stored:
            self.stmt_store(grid, 2)
        if not self.stored:  # a grid whose tiles are too wide to store: store a scalar
            entries, dims, _ = self.grid_index(grid)
            v = self.gen(grid, "f32", (), 2)
            name = self.tensor("f32", dims, role="out")
            self.emit(2, f"{name}[{', '.join(entries)}] = {v.text}")
            self.stored.add(name)
        body = self.lines
        tunes = self.tune_lines()
        self.tunables.setdefault("num_warps", [4, 8])
        self.tunables.setdefault("num_stages", [1, 2, 3, 4])
        self.tunables.setdefault("group_m", [1, 8])
        self.finish_params("\n".join(tunes + prologue + [head] + body))
        lines = [f"kernel {self.name}({self.signature()}) {{"]
        lines += ["    " + t for t in tunes] + prologue + ["    " + head] + body + ["    }", "}"]
        return "\n".join(lines) + "\n"

    def finish_params(self, text):
        """Drops tensors the text never names, finds the full axes (a dim taken with `:`, a
        symbol in a zeros/full shape list) and binds every symbol the text uses."""
        for name in list(self.tensors):
            if not re.search(rf"\b{name}\b", text):
                del self.tensors[name]
                self.param_order.remove(name)
        self.full_syms = set()
        for m in re.finditer(r"\b([xyr]\d+)\[", text):
            t = self.tensors.get(m.group(1))
            if not t:
                continue
            inner = text[m.end():self.closing(text, m.end() - 1)]
            dims = iter(t["dims"])
            for e in split_top(inner, [","]):
                if e == "None":
                    continue
                d = next(dims, None)
                if e == ":" and isinstance(d, str):
                    self.full_syms.add(d)
        for m in re.finditer(r"\b(?:zeros|full)\(\[([^\]]*)\]", text):
            self.full_syms |= {e.strip() for e in m.group(1).split(",") if e.strip().isupper()}
        self.syms = set(re.findall(r"\b([A-Z])\b", text)) - self.full_syms
        self.syms |= {d for t in self.tensors.values() for d in t["dims"] if isinstance(d, str)} - self.full_syms
        dims = {d for t in self.tensors.values() for d in t["dims"]}
        for s in sorted((self.syms | self.full_syms) - dims):
            self.tensor(self.pick(["f32", "bf16", "i32"]), [s], role="in", fresh=True)

    @staticmethod
    def closing(text, at):
        depth = 0
        for i in range(at, len(text)):
            depth += text[i] in "([{"
            depth -= text[i] in ")]}"
            if depth == 0:
                return i
        return len(text)

    def signature(self):
        parts = []
        for name in self.param_order:
            if name in self.tensors:
                t = self.tensors[name]
                dims = ", ".join(str(d) for d in t["dims"])
                red = f" reduce({t['op']})" if t["role"] == "reduce" else ""
                parts.append(f"{name}: {t['dtype']}[{dims}]{red}")
            elif name in self.scalars:
                parts.append(f"{name}: {self.scalars[name]}")
            else:
                vals = self.consts[name]
                parts.append(f"{name}: const bool" if vals is None else
                             f"{name}: const i32 in {{{', '.join(map(str, vals))}}}")
        return ", ".join(parts)


def choose_config(rng, tunables, refuse_rate=0.04):
    """A value for some tunables, from their allowed values; in a share of the cases one
    value that is not allowed (the config must be refused, exit 2)."""
    cfg = {}
    for name, allowed in tunables.items():
        if rng.random() < 0.75:
            cfg[name] = rng.choice(allowed)
    if cfg and rng.random() < refuse_rate:
        name = rng.choice(sorted(cfg))
        cfg[name] = rng.choice([3, 512, 2048] if name.startswith("BLOCK_") else [3, 16])
    return cfg


def limit_tile(cfg, tunables, full_sizes, most=128 * 128, rank=2, pinned=()):
    """Keeps every `rank` block and full-axis sizes (pairs, or triples in a kernel with
    rank-3 tiles; pinned block sizes among them) within `most` elements: a 256x256 tile is
    legal, but its PTX takes ptxas minutes and the interpreter long."""
    def size(name):
        if name in cfg:
            return cfg[name]
        allowed = tunables[name]
        return min(allowed, key=lambda v: (abs(v.bit_length() - 7), v))  # nearest to 64
    while True:
        sizes = sorted([(size(n), n) for n in tunables if n.startswith("BLOCK_")] +
                       [(v, n) for n, v in full_sizes.items()] +
                       [(v, None) for v in pinned], key=lambda e: e[0], reverse=True)
        if len(sizes) < 2 or math.prod(v for v, _ in sizes[:rank]) <= most:
            return
        for v, name in sizes[:rank]:
            smaller = [x for x in tunables.get(name, []) if x < v]
            if name in full_sizes and v > 1:
                full_sizes[name] = v // 2
                break
            if smaller:
                cfg[name] = max(smaller)
                break
        else:
            return


def shape_value(rng):
    r = rng.random()
    if r < 0.03:
        return 0
    if r < 0.13:
        return 1
    if r < 0.5:
        return rng.randint(2, 24)
    return rng.randint(25, 100)


def generate(seed, index, known="avoid", diff=False, targets=None):
    """The case for (seed, index): the same pair always gives the same case."""
    rng = random.Random(f"{seed}:{index}")
    case = Case()
    target = rng.choice(targets or TARGETS)
    fp8_ok = target != "sm_80" or rng.random() < 0.2
    g = KernelGen(rng, name="k", known=known, diff=diff, fp8_ok=fp8_ok)
    src = g.generate()
    if rng.random() < 0.1:
        # the kernel lives in an included file; the main file holds a second small kernel
        case.files["lib.tile"] = src
        other = KernelGen(rng, name="k2", known=known, diff=diff, fp8_ok=fp8_ok).generate()
        case.files["k.tile"] = f'include "lib.tile"\n\n{other}'
    else:
        case.files["k.tile"] = src
    case.target = target
    case.features = g.features
    case.inputs = {n: t for n, t in g.tensors.items() if t["role"] == "in"}
    tun = choose_config(rng, g.tunables)
    full_sizes = {s: rng.choice(FULL_SIZES) for s in sorted(g.full_syms)}
    pinned = [allowed[0] for spec, allowed in g.loop_blocks.values() if spec.isdigit()]
    limit_tile(tun, g.tunables, full_sizes, rank=3 if g.rank3 else 2, pinned=pinned)
    case.run_config = dict(tun)
    case.build_config = dict(tun)
    # `const D in {...}` (docs/language.md, Full axes): now and then a full axis's size is
    # listed in the kernel (first) instead of given to the build; a generator of its own so
    # the rest of the case stays what it was
    listed = random.Random(f"{seed}:{index}:sizes")
    for s, size in full_sizes.items():
        case.shapes[s] = size
        if listed.random() < 0.25:
            sizes = [size] + listed.sample([x for x in FULL_SIZES if x != size], listed.randint(0, 2))
            for name, text in case.files.items():
                at = text.find("kernel k(")
                if at >= 0:
                    body = text.index(") {\n", at) + 4
                    case.files[name] = (text[:body] + f"    const {s} in {{{', '.join(map(str, sizes))}}}\n"
                                        + text[body:])
        else:
            case.build_config[s] = size
    # a loop variable pinned to block 1 runs once per element: its extent stays small
    var_sym = dict(GRID_VARS + PINNED_VARS + SEQ_VARS)
    pinned = {var_sym[v] for v, (spec, _) in g.loop_blocks.items() if spec == "1"}
    for s in sorted(g.syms - g.full_syms):
        case.shapes[s] = rng.randint(0, 6) if s in pinned else shape_value(rng)
        if s == GATHERED:   # a gather from an empty dim would fault
            case.shapes[s] = max(case.shapes[s], 1)
    for name, vals in g.consts.items():
        v = rng.choice(["true", "false"]) if vals is None else str(rng.choice(vals))
        case.sets[name] = v
        case.build_config[name] = v
    for name, dtype in g.scalars.items():
        if dtype in FLOATS:
            case.sets[name] = f"{rng.uniform(-2, 2):.3f}"
        elif dtype in INTS:
            case.sets[name] = str(rng.randint(-3, 12))
        else:
            case.sets[name] = rng.choice(["true", "false"])
    case.build_config["align"] = rng.choice(["vec16", "unit", "any"])
    case.seed = rng.randint(0, 1000)
    return case


# ---- data files (pure Python: the CI runner has no numpy)

NPY_DESCR = {"f32": "<f4", "i32": "<i4", "i64": "<i8", "bool": "|b1"}


def write_npy(path, dtype, shape, values, fortran):
    """A .npy of `values` (C order, flat) saved in C or Fortran order. Floats go as float32
    (tilec rounds them to the parameter's dtype)."""
    kind = "f32" if dtype in FLOATS + FP8 else dtype
    fmt = {"f32": "f", "i32": "i", "i64": "q", "bool": "?"}[kind]
    n = 1
    for s in shape:
        n *= s
    if fortran:
        # element (i0, i1, ...) goes to column-major position
        order = []
        strides_c = [1] * len(shape)
        for d in range(len(shape) - 2, -1, -1):
            strides_c[d] = strides_c[d + 1] * shape[d + 1]
        idx = [0] * len(shape)
        for _ in range(n):
            order.append(sum(i * s for i, s in zip(idx, strides_c)))
            for d in range(len(shape)):
                idx[d] += 1
                if idx[d] < shape[d]:
                    break
                idx[d] = 0
        values = [values[o] for o in order]
    body = struct.pack(f"<{n}{fmt}", *values)
    shape_txt = "(" + "".join(f"{s}, " for s in shape) + ")" if len(shape) == 1 else f"({', '.join(map(str, shape))})"
    header = f"{{'descr': '{NPY_DESCR[kind]}', 'fortran_order': {fortran}, 'shape': {shape_txt}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body)


def random_inputs(case, rng, fraction):
    """Writes some inputs as .npy files (a share in Fortran order: strided views); returns
    {param: file name}."""
    files = {}
    for name, t in case.inputs.items():
        if rng.random() >= fraction:
            continue
        shape = [case.shapes.get(d, d) if isinstance(d, str) else d for d in t["dims"]]
        n = 1
        for s in shape:
            n *= s
        if n > 200000:
            continue
        if t["dtype"] in INTS and t.get("index"):   # a gathered index: inside its dim
            vals = [rng.randint(0, case.shapes[GATHERED] - 1) for _ in range(n)]
        elif t["dtype"] in INTS:
            vals = [rng.randint(-8, 7) for _ in range(n)]
        elif t["dtype"] == "bool":
            vals = [rng.random() < 0.5 for _ in range(n)]
        else:
            vals = [rng.uniform(-2, 2) for _ in range(n)]
        files[name] = (t["dtype"], shape, vals, len(shape) >= 2 and rng.random() < 0.5)
    return files


# ---- running the stages

# An f32 add/sub/mul without .rn: ptxas may fuse it into an fma, which the interpreter's
# --arith=gpu would not follow (codegen emits only tir_fused_multiply's fmas).
CONTRACTIBLE = re.compile(r"^\s*(?:add|sub|mul)(?:\.ftz)?(?:\.sat)?\.f32\s.*$", re.M)
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")


def normalise(text):
    """A message without its numbers and generated names, for grouping."""
    text = re.sub(r"\b[a-z]+\d+\b", "X", text)
    text = re.sub(r"0x[0-9a-f]+", "N", text)
    return re.sub(r"\d+", "N", text).strip()


def crash_kind(rc, out):
    """The crash class of a tool run (an internal error or an IR verifier's report too), or
    None when it exited normally and cleanly."""
    m = re.search(r"(?:ERROR: )?(AddressSanitizer|LeakSanitizer): ([\w-]+)", out)
    if m or SANITIZER.search(out):
        frame = re.search(r"#\d+ 0x[0-9a-f]+ in (\w+) [^\n]*(?:src|codegen|autotune|runtime)/", out)
        what = m.group(2) if m else normalise(re.search(r"runtime error: ([^\n]*)", out).group(1)
                                               if "runtime error:" in out else "report")
        return f"sanitizer {what}" + (f" in {frame.group(1)}" if frame else "")
    m = re.search(r"LLVM ERROR: ([^\n]*)", out)
    if m:
        return "LLVM ERROR: " + normalise(m.group(1))[:120]
    m = re.search(r"Assertion [^\n]*failed", out)
    if m:
        return "assertion: " + normalise(m.group(0))[:120]
    if rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    if rc >= 128:
        return f"exit {rc}"
    m = re.search(r"internal(?: error)?:[^\n]*", out)   # codegen says "internal: ..."
    if m:
        return normalise(m.group(0))[:160]
    # the IR verifiers' reports: a checked program lowered or compiled to invalid IR
    m = re.search(r"error: ((?:kernel \w+: )*)(the LLVM module is invalid[^\n]*|tir: [^\n]*)", out)
    if m:
        return "invalid IR: " + normalise(m.group(2))[:150]
    return None


class Outcome:
    """ok (every stage passed), discard (a diagnostic the kernel or config earns), known
    (a crash of a kernel that uses a KNOWN_FAULTS construct), or fail."""

    def __init__(self, status, stage="", why="", detail="", commands=(), times=None):
        self.status, self.stage, self.why, self.detail, self.commands = status, stage, why, detail, commands
        self.times = times or {}

    @property
    def signature(self):
        return f"{self.stage}: {self.why}"


class Tools:
    def __init__(self, tilec, ptxas, scale=1.0):
        self.tilec, self.ptxas, self.scale = tilec, ptxas, scale


def run_tool(argv, cwd, timeout):
    try:
        p = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def register_pool_problems(ptx, regs):
    """setmaxnreg only moves registers within what the block was launched with: the producer
    warpgroup's .dec and the rest's .inc must fit ptxas's registers x threads, or .inc waits
    forever (a hang no CPU test sees otherwise)."""
    dec = re.findall(r"setmaxnreg\.dec\.sync\.aligned\.u32\s+(\d+)", ptx)
    inc = re.findall(r"setmaxnreg\.inc\.sync\.aligned\.u32\s+(\d+)", ptx)
    threads = re.search(r"\.maxntid\s+(\d+)", ptx)
    if not dec and not inc:
        return []
    if not (dec and inc and threads and regs):
        return ["setmaxnreg without its .dec/.inc pair, .maxntid or ptxas's register count"]
    n, launch = int(threads.group(1)), int(regs.group(1))
    need = 128 * max(map(int, dec)) + (n - 128) * max(map(int, inc))
    if need > launch * n:
        return [f"setmaxnreg asks {need} registers, the block is launched with {launch} x {n} = "
                f"{launch * n}: .inc would wait forever"]
    return []


def case_commands(case, tools, stages, npy_files=()):
    """(stage, argv) for each stage to run."""
    kfile, t = "k.tile", case.target
    cmds = []
    if "check" in stages:
        cmds.append(("check", [tools.tilec, "check", kfile, "--target", t]))
    if "build" in stages:
        cmds.append(("build", [tools.tilec, "build", kfile, "--kernel", case.kernel, "--emit=ptx",
                               "--target", t, "--config", case.config_text("build"), "-o", "k.ptx"]))
    if "ptxas" in stages and "build" in stages:
        cmds.append(("ptxas", [tools.ptxas, f"-arch={t}", "-v", "k.ptx", "-o", os.devnull]))
    if "interp" in stages:
        argv = [tools.tilec, "run", kfile, "--kernel", case.kernel, "--interpret", "--seed", str(case.seed)]
        syms = ",".join(f"{s}={v}" for s, v in case.shapes.items())
        if syms:
            argv += ["--shape", syms]
        if case.run_config:
            argv += ["--config", case.config_text("run")]
        for name, v in case.sets.items():
            argv += ["--set", f"{name}={v}"]
        for name in npy_files:
            argv += ["--in", f"{name}={name}.npy"]
        cmds.append(("interp", argv))
    return cmds


def run_case(case, tools, workdir, stages, known="avoid", npy_fraction=0.0):
    """Writes the case to workdir and runs its stages; returns an Outcome."""
    for old in os.listdir(workdir):
        os.unlink(os.path.join(workdir, old))
    for name, text in case.files.items():
        with open(os.path.join(workdir, name), "w") as f:
            f.write(text)
    npys = random_inputs(case, random.Random(case.seed), npy_fraction) if npy_fraction else {}
    for name, (dtype, shape, vals, fortran) in npys.items():
        write_npy(os.path.join(workdir, f"{name}.npy"), dtype, shape, vals, fortran)
    cmds = case_commands(case, tools, stages, npys)
    shown = [" ".join(shlex.quote(a) for a in argv) for _, argv in cmds]
    timeouts = {"check": 30, "build": 180, "ptxas": 300, "interp": 120}   # ptxas is slow on a 128x128 tile
    times = {}
    for stage, argv in cmds:
        t0 = time.time()
        rc, out = run_tool(argv, workdir, timeouts[stage] * (tools.scale if stage != "ptxas" else 1))
        times[stage] = time.time() - t0
        if rc is None:
            return Outcome("fail", stage, "timeout (a hang)", "", shown, times)
        crash = None if stage == "ptxas" else crash_kind(rc, out)
        if crash:
            status = "known" if known == "report" and case.features and stage == "build" else "fail"
            return Outcome(status, stage, crash, out[-6000:], shown, times)
        if rc == 0 and stage == "build":
            with open(os.path.join(workdir, "k.ptx")) as f:
                loose = CONTRACTIBLE.search(f.read())
            if loose:
                return Outcome("fail", stage, "PTX has an f32 op ptxas may contract: " + normalise(loose.group(0)),
                               "", shown, times)
        if rc == 0 and stage == "ptxas":
            with open(os.path.join(workdir, "k.ptx")) as f:
                pool = register_pool_problems(f.read(), re.search(r"Used (\d+) registers", out))
            if pool:
                return Outcome("fail", stage, pool[0], "", shown, times)
        if rc == 0:
            continue
        first = re.search(r"error: ([^\n]*)", out)
        msg = normalise(first.group(1)) if first else ""
        if stage == "ptxas":
            return Outcome("fail", stage, "ptxas rejected the PTX: " + normalise(out.strip().split("\n")[0])[:160],
                           out[-4000:], shown, times)
        if stage == "interp" and "outside the tensor" in out:
            return Outcome("fail", stage, "mask checker: " + msg[:160], out[-4000:], shown, times)
        if stage == "interp" and rc == 1 and re.search(r"the extent of (loop|grid variable) \S+ (divides by zero|overflows i64)", out):
            # the interpreter refuses an extent whose index arithmetic divides by zero or wraps
            # on these inputs (a scalar drawn as 0): a diagnostic the inputs earn, as the host
            # gives for a grid's extent
            return Outcome("discard", stage, "extent undefined on these inputs: " + msg[:120], out[-2000:], shown, times)
        if rc == 2 and re.search(r"is not allowed|a block size must be", out):
            return Outcome("discard", stage, "config value refused", out[-2000:], shown, times)
        if rc == 1 and first and stage in ("check", "build"):
            return Outcome("discard", stage, msg[:160], out[-3000:], shown, times)
        return Outcome("fail", stage, f"exit {rc}: {msg[:160]}", out[-4000:], shown, times)
    return Outcome("ok", commands=shown, times=times)


# ---- the minimiser

def balanced_groups(line):
    """(start, end) of every parenthesised group, with the call name before it."""
    out, stack = [], []
    for i, ch in enumerate(line):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            s = stack.pop()
            j = s
            while j > 0 and (line[j - 1].isalnum() or line[j - 1] == "_"):
                j -= 1
            out.append((j, i + 1, s))
    return out


def split_top(text, seps):
    """Splits at top-level occurrences of any separator (outside brackets)."""
    parts, depth, cur, i = [], 0, "", 0
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if depth == 0:
            hit = next((s for s in seps if text.startswith(s, i)), None)
            if hit:
                parts.append(cur)
                cur = ""
                i += len(hit)
                continue
        cur += ch
        i += 1
    parts.append(cur)
    return [p.strip() for p in parts]


def line_candidates(lines):
    """Smaller programs: one statement or block removed, an if unwrapped."""
    n = len(lines)
    for i in range(n - 1, 0, -1):
        s = lines[i].strip()
        if s.startswith("}") or s.startswith("kernel") or s.startswith("include"):
            continue
        if s.endswith("{"):
            depth, j = 0, i
            while j < n:
                depth += lines[j].count("{") - lines[j].count("}")
                if depth == 0:
                    break
                j += 1
            if s.startswith("for") and lines[i].startswith("    for") and not lines[i].startswith("     "):
                continue  # the grid loop stays
            yield lines[:i] + lines[j + 1:]
            if s.startswith("if"):
                body = [ln[4:] for ln in lines[i + 1:j] if ln.strip() != "} else {"]
                yield lines[:i] + body + lines[j + 1:]
        else:
            yield lines[:i] + lines[i + 1:]


def expr_candidates(lines):
    """One expression simplified: a call or a parenthesised operation replaced by one of
    its operands; a parameter dropped from the kernel's signature."""
    for i, line in enumerate(lines):
        if line.startswith("kernel"):
            head = line[line.index("(") + 1:line.rindex(")")]
            params = split_top(head, [","])
            for p in range(len(params)):
                rest = params[:p] + params[p + 1:]
                yield lines[:i] + [line[:line.index("(") + 1] + ", ".join(rest) + line[line.rindex(")"):]] + lines[i + 1:]
            continue
        for j, end, open_at in sorted(balanced_groups(line), key=lambda g: g[0] - g[1]):
            inner = line[open_at + 1:end - 1]
            name = line[j:open_at]
            if name in ("tile", "grid", "block", "zeros", "full", "kernel"):
                continue
            opts = split_top(inner, [","]) if name else split_top(inner, [" + ", " - ", " * ", " / ", " % ", " && ", " || ", " @ ", " ? ", " : "])
            if len(opts) < 2 and not name:
                continue
            for o in opts:
                if "=" in o:
                    continue
                yield lines[:i] + [line[:j] + (o if not name else f"({o})") + line[end:]] + lines[i + 1:]


def minimise(case, outcome, attempt, limit=400, seconds=180):
    """Shrinks the case's kernel text, its config and shapes while attempt(case) still
    gives the same failure signature (at most `limit` tries and about `seconds`). Returns
    (case, tries)."""
    want = outcome.signature
    tries = 0
    deadline = time.time() + seconds

    def same(c):
        nonlocal tries, limit
        tries += 1
        if time.time() > deadline:
            limit = tries
        o = attempt(c)
        return o.status in ("fail", "known") and o.signature == want

    def with_file(c, name, lines):
        d = copy.deepcopy(c)
        d.files[name] = "\n".join(lines) + "\n"
        return d

    progress = True
    while progress and tries < limit:
        progress = False
        for name in list(case.files):
            for gen in (line_candidates, expr_candidates):
                again = True
                while again and tries < limit:
                    again = False
                    lines = case.files[name].rstrip("\n").split("\n")
                    for cand in gen(lines):
                        if tries >= limit:
                            break
                        c = with_file(case, name, cand)
                        if same(c):
                            case, again, progress = c, True, True
                            break
        # the config and the launch: drop entries, shrink shapes
        for which in ("build_config", "run_config", "sets"):
            for key in list(getattr(case, which)):
                if tries >= limit:
                    break
                d = copy.deepcopy(case)
                del getattr(d, which)[key]
                if same(d):
                    case, progress = d, True
        for sym, v in list(case.shapes.items()):
            for smaller in (1, 2, v // 2):
                if tries >= limit or smaller >= case.shapes[sym] or smaller < 1:
                    continue
                d = copy.deepcopy(case)
                d.shapes[sym] = smaller
                if sym in d.build_config:
                    d.build_config[sym] = smaller
                if same(d):
                    case, progress = d, True
                    break
    return case, tries


# ---- the command line

def commit_seed(root):
    """A seed from the commit checked out (so CI covers new kernels on every commit), or
    1 outside git."""
    try:
        sha = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=30).stdout.strip()
        if re.fullmatch(r"[0-9a-f]{40}", sha):
            return int(hashlib.sha256(sha.encode()).hexdigest()[:8], 16), f"from commit {sha[:12]}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return 1, "fixed: not in a git checkout"


def sanitized_build(build):
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            return any(o.get("name") == "sanitize" and o.get("value") is True for o in json.load(f))
    except (OSError, ValueError):
        return False


def report_failure(i, seed, case, outcome, args, tools, stages, known, seconds):
    print(f"FAIL seed {seed} kernel {i}: {outcome.signature}")
    print(f"  reproduce: tests/codegen/random_kernels.py {args.build} --seed {seed} --only {i}")
    if case.features:
        print(f"  uses known-fault constructs: {', '.join(sorted(case.features))}")
    for cmd in outcome.commands:
        print(f"  $ {cmd}")
    for line in outcome.detail.strip().split("\n")[-25:]:
        print(f"  | {line}")
    for name, text in case.files.items():
        print(f"  --- {name}")
        print("  " + text.rstrip("\n").replace("\n", "\n  "))
    if args.minimise:
        tmp = tempfile.mkdtemp(prefix="tilec-min-")
        # the stages up to the failing one (ptxas needs build)
        upto = stages[:stages.index(outcome.stage) + 1] if outcome.stage in stages else stages
        if "ptxas" in upto and "build" not in upto:
            upto.append("build")
        try:
            small, tries = minimise(case, outcome, lambda c: run_case(c, tools, tmp, upto, known, 0.0),
                                    limit=args.minimise, seconds=seconds)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"  minimised ({tries} tries), same failure: --target {small.target} "
              f"--config {small.config_text('build')} --shape "
              f"{','.join(f'{s}={v}' for s, v in small.shapes.items())} "
              f"{' '.join(f'--set {k}={v}' for k, v in small.sets.items())}")
        for name, text in small.files.items():
            print(f"  --- {name}")
            print("  " + text.rstrip("\n").replace("\n", "\n  "))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--seed", default="1", help="a number, or 'commit' for one derived from git HEAD")
    ap.add_argument("--first", type=int, default=0, help="index of the first kernel (default 0)")
    ap.add_argument("--count", type=int, help="how many kernels")
    ap.add_argument("--budget", type=float, help="seconds to spend (instead of --count)")
    ap.add_argument("--only", type=int, help="run this kernel index alone, verbosely")
    ap.add_argument("--tilec")
    ap.add_argument("--stages", default="check,build,ptxas,interp")
    ap.add_argument("--known", choices=["avoid", "report", "fail"], default="avoid",
                    help="known faults (KNOWN_FAULTS): avoid their constructs (default), "
                         "write them and count their crashes apart, or fail on them")
    ap.add_argument("--minimise", type=int, default=300, metavar="TRIES",
                    help="shrink the first failing kernel of each class with at most TRIES runs (0: off)")
    ap.add_argument("--minimise-seconds", type=float, default=300,
                    help="time for all the minimising together (default 300)")
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("--keep", help="copy every failing case to this folder")
    ap.add_argument("--progress", type=float, default=0, metavar="SECONDS",
                    help="print a progress line this often (long runs)")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if args.seed == "commit":
        seed, why = commit_seed(root)
    else:
        seed, why = int(args.seed), "given"
    tilec = args.tilec or os.path.join(args.build, "tilec")
    ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
    stages = args.stages.split(",")
    if "ptxas" in stages and not os.path.exists(ptxas):
        print("random_kernels: ptxas not found")
        return 1
    sanitized = sanitized_build(args.build)
    tools = Tools(os.path.abspath(tilec), ptxas, scale=3.0 if sanitized else 1.0)
    gen_known = "report" if args.known != "avoid" else "avoid"
    if args.only is not None:
        indices = [args.only]
    elif args.count is not None:
        indices = range(args.first, args.first + args.count)
    else:
        indices = itertools.count(args.first)
    budget = args.budget if args.budget is not None else (None if args.count is not None or args.only is not None else 60)
    print(f"random_kernels: seed {seed} ({why}), {'sanitized' if sanitized else 'release'} build, "
          f"stages {','.join(stages)}, known faults: {args.known}"
          + (f", budget {budget:.0f} s" if budget else ""))
    sys.stdout.flush()
    start = time.time()
    counts = collections.Counter()
    discards = collections.Counter()
    knowns = collections.Counter()
    failures = []
    stage_time, slowest = collections.Counter(), collections.defaultdict(lambda: (0, None))
    last_progress = [start]
    lock = threading.Lock()
    it = iter(indices)

    def worker():
        tmp = tempfile.mkdtemp(prefix="tilec-rk-")
        try:
            while True:
                with lock:
                    if budget is not None and time.time() - start >= budget:
                        return
                    i = next(it, None)
                if i is None:
                    return
                case = generate(seed, i, known=gen_known)
                o = run_case(case, tools, tmp, stages, known="report" if args.known == "report" else "avoid",
                             npy_fraction=0.3)
                with lock:
                    counts[o.status] += 1
                    if args.progress and time.time() - last_progress[0] >= args.progress:
                        last_progress[0] = time.time()
                        print(f"progress: {sum(counts.values())} kernels in {time.time() - start:.0f} s, "
                              f"up to index {i}: {dict(counts)}")
                        sys.stdout.flush()
                    for st, sec in o.times.items():
                        stage_time[st] += sec
                        slowest[st] = max(slowest[st], (sec, i))
                    if o.status == "discard":
                        discards[o.signature] += 1
                    elif o.status == "known":
                        knowns[o.signature + f" [{', '.join(sorted(case.features))}]"] += 1
                    elif o.status == "fail":
                        failures.append((i, case, o))
                        if args.keep:
                            d = os.path.join(args.keep, f"seed{seed}-k{i}")
                            os.makedirs(d, exist_ok=True)
                            for name in os.listdir(tmp):
                                shutil.copy(os.path.join(tmp, name), d)
                    if args.only is not None:
                        print(f"kernel {i}: {o.status} {o.signature if o.status != 'ok' else ''}")
                        for cmd in o.commands:
                            print(f"  $ {cmd}")
                        if o.status != "ok":
                            print(o.detail)
                        for name, text in case.files.items():
                            print(f"--- {name}\n{text}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    failures.sort(key=lambda f: f[0])
    seen = set()
    minimise_until = time.time() + args.minimise_seconds
    for i, case, o in failures:
        first = o.signature not in seen
        seen.add(o.signature)
        if first or args.only is not None:
            report_failure(i, seed, case, o, args, tools, stages, args.known,
                           max(0, minimise_until - time.time()))
        else:
            print(f"FAIL seed {seed} kernel {i}: {o.signature} (same class as above)")
    total = sum(counts.values())
    print(f"rerun: tests/codegen/random_kernels.py {args.build} --seed {seed} --first {args.first} --count {total}"
          f"{' --known ' + args.known if args.known != 'avoid' else ''}")
    print(f"random_kernels: seed {seed}, kernels {args.first}..{args.first + total - 1 if total else args.first} "
          f"({total}) in {elapsed:.0f} s: {counts['ok']} through {', '.join(stages)}; "
          f"{counts['discard']} discarded, {counts['known']} known faults, {counts['fail']} failed")
    print("  time per stage: " + ", ".join(f"{st} {stage_time[st]:.0f} s (slowest {slowest[st][0]:.1f} s, "
                                            f"kernel {slowest[st][1]})" for st in stages if st in stage_time))
    for sig, n in discards.most_common():
        print(f"  discarded {n:4d}  {sig}")
    for sig, n in knowns.most_common():
        print(f"  known     {n:4d}  {sig}")
    classes = collections.Counter(o.signature for _, _, o in failures)
    for sig, n in classes.most_common():
        print(f"  FAILED    {n:4d}  {sig}")
    return 1 if failures or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
