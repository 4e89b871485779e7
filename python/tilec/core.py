"""core.py — bundles, kernels and programs through libtile with ctypes only: a kernel's or a
program's signature read from the bundle, shape symbols bound from argument shapes (and so
the shapes of the outputs a binding allocates), launches through tile_launch and
tile_launch_program (a program's workspace kept per device and stream), and `compile`, which
runs `tilec build` into a cache keyed by the source's hash."""
import ctypes as C
import hashlib
import os
import shutil
import subprocess
import threading

from . import _libtile as L
from ._libtile import TileError

_STATUS = {name: i for i, name in enumerate(L.STATUS_NAMES)}
_TYPESTR = {"<f4": "f32", "<f2": "f16", "<i4": "i32", "<i8": "i64", "|b1": "bool", "|i1": "i8",
            "<i2": "i16", "|u1": "u8", "<u4": "u32"}


def _fail(status_name, message):
    return TileError(_STATUS[status_name], message)


class Param:
    """One kernel parameter. kind: "tensor", "reduce" (a tensor that is a reduction target),
    "scalar" or "const"; dims: ints (literal sizes) and strs (shape symbols); written/read:
    whether the kernel stores to / reads the tensor (None: a bundle older than format 3)."""

    def __init__(self, info, symbols):
        self.name = info.name.decode()
        self.dtype = L.DTYPES[info.dtype]
        self.reduce = L.REDUCES[info.reduce]
        base = L.KINDS[info.kind]
        self.kind = "reduce" if self.reduce else base
        self.is_tensor = base == "tensor"
        self.dims = tuple(symbols[-d - 1] if d < 0 else int(d) for d in info.dims[:info.rank])
        self.written = None if info.written < 0 else bool(info.written)
        self.read = None if info.read < 0 else bool(info.read)
        self.const_values = tuple(info.const_values[i] for i in range(info.nconst_values))
        if self.kind == "const" and self.dtype == "bool":
            self.const_values = (False, True)

    @property
    def is_output(self):
        """A tensor the kernel writes and never reads: a binding may allocate it."""
        return self.is_tensor and self.written is True and self.read is False

    @property
    def is_mutated(self):
        """A tensor the kernel writes (or may write: unknown in an old bundle)."""
        return self.is_tensor and self.written is not False

    def __repr__(self):
        text = f"{self.name}: {'const ' if self.kind == 'const' else ''}{self.dtype}"
        if self.kind == "const" and self.dtype != "bool" and self.const_values:
            text += " in {" + ", ".join(str(v) for v in self.const_values) + "}"
        if self.is_tensor:
            text += "[" + ", ".join(str(d) for d in self.dims) + "]"
        if self.reduce:
            text += f" reduce({self.reduce})"
        if self.is_tensor and self.written is not None and self.read is not None:
            text += " inout" if self.written and self.read else " out" if self.written else " in"
        return text


class DeviceTensor:
    """A device pointer with its dtype (a tile dtype name), shape and strides in elements
    (None: contiguous), for callers without an array library."""

    def __init__(self, ptr, dtype, shape, strides=None):
        if dtype not in L.DTYPES:
            raise _fail("TILE_ERR_ARG", f"unknown dtype '{dtype}' (one of {', '.join(L.DTYPES)})")
        self.ptr, self.dtype, self.shape = int(ptr), dtype, tuple(int(s) for s in shape)
        self.strides = None if strides is None else tuple(int(s) for s in strides)


def _as_device_tensor(value, param):
    if isinstance(value, DeviceTensor):
        return value
    cai = getattr(value, "__cuda_array_interface__", None)
    if cai is None:
        raise _fail("TILE_ERR_ARG", f"parameter {param.name} is a tensor: pass a device array "
                    f"(__cuda_array_interface__) or a tilec.DeviceTensor, not {type(value).__name__}")
    dtype = _TYPESTR.get(cai["typestr"])
    if dtype is None:
        raise _fail("TILE_ERR_ARG", f"parameter {param.name}: element type {cai['typestr']} is "
                    "not one of tilec's")
    size = {"f32": 4, "f16": 2, "i32": 4, "i64": 8, "bool": 1, "i8": 1, "i16": 2, "u8": 1, "u32": 4}[dtype]
    strides = cai.get("strides")
    return DeviceTensor(cai["data"][0], dtype, cai["shape"],
                        None if strides is None else [s // size for s in strides])


class _Signature:
    """What kernels and programs share: the signature libtile reads from the bundle, shape
    symbols bound from tensor shapes, and arguments checked and packed into tile_args (one
    implementation for both, and for tilec.torch)."""
    what = "kernel"

    def _read_signature(self, index, param_count, symbol_count, param, symbol_name):
        handle = self.bundle._handle
        self.symbols = tuple(symbol_name(handle, index, s).decode()
                             for s in range(symbol_count(handle, index)))
        params = []
        for i in range(param_count(handle, index)):
            info = L.ParamInfo()
            status = param(handle, index, i, C.byref(info))
            if status:
                raise TileError(status, f"{self.what} {self.name}: parameter {i} unreadable")
            params.append(Param(info, self.symbols))
        self.params = tuple(params)

    @property
    def outputs(self):
        return tuple(p for p in self.params if p.is_output)

    def param(self, name):
        for p in self.params:
            if p.name == name:
                return p
        raise _fail("TILE_ERR_ARG", f"{self.what} {self.name} has no parameter '{name}'")

    def bind_symbols(self, shapes):
        """Shape symbols from the tensors' shapes ({param name: shape}); a rank, a literal
        size or two values of one symbol that disagree is a TileError (TILE_ERR_SHAPE)."""
        bound = {}
        for name, shape in shapes.items():
            p = self.param(name)
            if not p.is_tensor:
                raise _fail("TILE_ERR_ARG", f"{self.what} {self.name}: {name} is a {p.kind}, "
                            "not a tensor")
            shape = tuple(shape)
            if len(shape) != len(p.dims):
                raise _fail("TILE_ERR_SHAPE", f"{self.what} {self.name}: {name} has rank "
                            f"{len(p.dims)} ({p!r}), given a tensor of rank {len(shape)}")
            for d, (want, got) in enumerate(zip(p.dims, shape)):
                if isinstance(want, str):
                    seen = bound.setdefault(want, (got, name, d))
                    if seen[0] != got:
                        raise _fail("TILE_ERR_SHAPE", f"{self.what} {self.name}: symbol {want} "
                                    f"is {seen[0]} in {seen[1]} (dim {seen[2]}) but {got} in "
                                    f"{name} (dim {d})")
                elif want != got:
                    raise _fail("TILE_ERR_SHAPE", f"{self.what} {self.name}: {name} dim {d} "
                                f"must be {want}, given {got}")
        return {s: v[0] for s, v in bound.items()}

    def output_shapes(self, shapes):
        """The shape of every output (written, never read) not in `shapes`, from the symbols
        the given tensors bind. An output dim whose symbol no input binds is a TileError."""
        symbols = self.bind_symbols(shapes)
        out = {}
        for p in self.outputs:
            if p.name in shapes:
                continue
            missing = [d for d in p.dims if isinstance(d, str) and d not in symbols]
            if missing:
                raise _fail("TILE_ERR_SHAPE", f"{self.what} {self.name}: output {p.name}'s "
                            f"size {', '.join(missing)} is bound by no input: pass {p.name}")
            out[p.name] = tuple(symbols[d] if isinstance(d, str) else d for d in p.dims)
        return out

    def arguments(self, args, kwargs):
        """Positional and keyword arguments to one value per parameter, in signature order."""
        if len(args) > len(self.params):
            raise _fail("TILE_ERR_ARG", f"{self.what} {self.name} takes {len(self.params)} "
                        f"arguments, {len(args)} given")
        values = dict(zip((p.name for p in self.params), args))
        for name, value in kwargs.items():
            self.param(name)
            if name in values:
                raise _fail("TILE_ERR_ARG", f"{self.what} {self.name}: {name} given twice")
            values[name] = value
        missing = [p.name for p in self.params if p.name not in values]
        if missing:
            raise _fail("TILE_ERR_ARG", f"{self.what} {self.name}: missing {', '.join(missing)}")
        return [values[p.name] for p in self.params]

    def check_const(self, p, value):
        if p.const_values and int(value) not in p.const_values:
            raise _fail("TILE_ERR_CONST", f"{self.what} {self.name}: {p.name} = {value}; the "
                        f"bundle has {', '.join(str(v) for v in p.const_values)}")

    def value_arg(self, a, p, v):
        """Fills the TileArg `a` of a scalar or const parameter `p` with `v` (a const checked
        against the bundle's values)."""
        if p.kind == "scalar":
            a.kind = L.SCALAR
            if p.dtype in ("f32", "f16", "bf16", "f8e4m3", "f8e5m2"):
                a.f = float(v)
            else:
                a.i = int(v)
        else:
            self.check_const(p, v)
            a.kind, a.i = L.CONST, int(v)

    def device_tensor_arg(self, a, p, v):
        """Fills the TileArg `a` of tensor parameter `p` from a DeviceTensor or a device array."""
        t = _as_device_tensor(v, p)
        if len(t.shape) > L.MAX_RANK:
            raise _fail("TILE_ERR_SHAPE", f"{self.what} {self.name}: {p.name} of rank {len(t.shape)}")
        a.kind, a.dtype, a.data, a.rank = L.TENSOR, L.DTYPES.index(t.dtype), t.ptr, len(t.shape)
        a.has_strides = t.strides is not None
        for d, n in enumerate(t.shape):
            a.shape[d] = n
            a.strides[d] = t.strides[d] if t.strides is not None else 0

    def pack(self, values, tensor_arg):
        """One tile_arg per parameter (values in signature order): tensors by
        tensor_arg(a, p, v), scalars and consts by value_arg."""
        targs = (L.TileArg * max(len(values), 1))()
        for a, p, v in zip(targs, self.params, values):
            a.name = p.name.encode()
            a.dtype = L.DTYPES.index(p.dtype)
            if p.is_tensor:
                tensor_arg(a, p, v)
            else:
                self.value_arg(a, p, v)
        return targs


class Kernel(_Signature):
    """A kernel of a loaded bundle: its signature, and a launch through libtile."""

    def __init__(self, bundle, index):
        lib = L.lib()
        self.bundle, self.index = bundle, index
        self.name = lib.tile_bundle_kernel_name(bundle._handle, index).decode()
        self._read_signature(index, lib.tile_kernel_param_count, lib.tile_kernel_symbol_count,
                             lib.tile_kernel_param, lib.tile_kernel_symbol_name)

    def __repr__(self):
        return f"kernel {self.name}(" + ", ".join(map(repr, self.params)) + ")"

    def launch(self, *args, stream=None, **kwargs):
        """Launches on `stream` (a CUstream as an int; None: the legacy default stream).
        Tensors are tilec.DeviceTensor or device arrays; scalars numbers; consts int/bool."""
        values = self.arguments(args, kwargs)
        targs = self.pack(values, self.device_tensor_arg)
        self.bundle._check(L.lib().tile_launch(self.bundle._ctx.handle, self.bundle._handle,
                                               self.name.encode(), targs, len(values),
                                               stream or None))

    __call__ = launch


class _LibtileWorkspace:
    """Device memory from tile_workspace_alloc for launches on one stream; release() waits
    for that stream, then frees it."""

    def __init__(self, bundle, nbytes, stream):
        ptr = C.c_void_p()
        bundle._check(L.lib().tile_workspace_alloc(bundle._ctx.handle, nbytes, stream or None,
                                                   C.byref(ptr)))
        self.bundle, self.ptr, self.bytes, self.stream = bundle, ptr.value, nbytes, stream

    def release(self):
        self.bundle._check(L.lib().tile_workspace_free(self.bundle._ctx.handle, self.ptr,
                                                       self.stream or None))


class _Workspaces:
    """A bundle's program workspaces: one per (device, stream), allocated at the first launch
    there that needs one and grown (the old one freed, the new one just large enough) when a
    launch needs more; shared by the bundle's programs, whose launches on one stream run one
    after the other. `lock` is held from the lookup to the launch's enqueue, so one thread
    never frees a workspace another is handing to libtile; threads on different streams get
    different workspaces."""

    def __init__(self):
        self.lock = threading.Lock()
        self.held = {}   # (device, stream) -> a workspace with ptr, bytes and release()

    def sizes(self):
        with self.lock:
            return {key: w.bytes for key, w in self.held.items()}

    def release_all(self):
        with self.lock:
            held, self.held = self.held, {}
        for w in held.values():
            w.release()


class Program(_Signature):
    """A program of a loaded bundle (docs/language.md, "Programs"): its signature, inputs
    then outputs, checked as a kernel's, and a launch of all its calls through one
    tile_launch_program, its intermediates in the bundle's workspace for the device and
    stream."""
    what = "program"

    def __init__(self, bundle, index):
        lib = L.lib()
        self.bundle, self.index = bundle, index
        self.name = lib.tile_bundle_program_name(bundle._handle, index).decode()
        self._read_signature(index, lib.tile_program_param_count, lib.tile_program_symbol_count,
                             lib.tile_program_param, lib.tile_program_symbol_name)
        self.ninputs = lib.tile_program_input_count(bundle._handle, index)

    @property
    def inputs(self):
        return self.params[:self.ninputs]

    @property
    def outputs(self):
        return self.params[self.ninputs:]

    def __repr__(self):
        return (f"program {self.name}(" + ", ".join(map(repr, self.inputs)) + ") -> (" +
                ", ".join(map(repr, self.outputs)) + ")")

    def _workspace_bytes(self, targs):
        n = C.c_size_t()
        self.bundle._check(L.lib().tile_program_workspace_bytes(
            self.bundle._ctx.handle, self.bundle._handle, self.name.encode(), targs,
            len(self.params), C.byref(n)))
        return n.value

    def workspace_bytes(self, *args, **kwargs):
        """The bytes of workspace a launch with these arguments needs (only the tensors'
        shapes are read): tbn_workspace_plan's peak, as `tilec build --emit=buffers`."""
        return self._workspace_bytes(self.pack(self.arguments(args, kwargs),
                                               self.device_tensor_arg))

    def enqueue(self, targs, stream, device, allocate):
        """Launches packed arguments on `stream` of `device`, in the bundle's workspace for
        them, made by allocate(bytes) (an object with ptr, bytes and release()) when there is
        none or it is too small."""
        need = self._workspace_bytes(targs)
        spaces = self.bundle._workspaces
        with spaces.lock:
            key = (device, stream or 0)
            held = spaces.held.get(key)
            if need and (held is None or held.bytes < need):
                if held is not None:
                    held.release()
                    del spaces.held[key]
                held = spaces.held[key] = allocate(need)
            ptr, size = (held.ptr, held.bytes) if need else (None, 0)
            self.bundle._check(L.lib().tile_launch_program(
                self.bundle._ctx.handle, self.bundle._handle, self.name.encode(), targs,
                len(self.params), ptr, size, stream or None))

    def launch(self, *args, stream=None, **kwargs):
        """Launches every call on `stream` (a CUstream as an int; None: the legacy default
        stream) of the calling thread's current CUDA context, inputs then outputs as
        tilec.DeviceTensor or device arrays, scalars numbers; the workspace comes from
        tile_workspace_alloc."""
        values = self.arguments(args, kwargs)
        targs = self.pack(values, self.device_tensor_arg)
        device = C.c_int(-1)
        self.bundle._check(L.lib().tile_current_device(self.bundle._ctx.handle, C.byref(device)))
        self.enqueue(targs, stream, device.value,
                     lambda n: _LibtileWorkspace(self.bundle, n, stream))

    __call__ = launch


class Context:
    """A libtile context. Without a driver it still loads bundles (launches then fail with
    TILE_ERR_NO_DEVICE, whose message `no_device` keeps)."""

    def __init__(self):
        lib = L.lib()
        self.handle = C.c_void_p()
        status = lib.tile_context_create(C.byref(self.handle), None)
        self.no_device = None
        if status == _STATUS["TILE_ERR_NO_DEVICE"]:
            self.no_device = lib.tile_error_message(self.handle).decode()
        elif status:
            raise TileError(status, "cannot create a libtile context")

    def message(self):
        return L.lib().tile_error_message(self.handle).decode()

    def __del__(self):
        if getattr(self, "handle", None) and L._lib:
            L._lib.tile_context_destroy(self.handle)
            self.handle = None


_default_context = None


def default_context():
    global _default_context
    if _default_context is None:
        _default_context = Context()
    return _default_context


class Bundle:
    """A loaded bundle: `kernels` maps names to Kernel objects, `programs` to Program objects
    (each also an attribute); `workspaces()` the programs' workspaces held, by (device,
    stream), and their bytes."""

    def __init__(self, path, context=None):
        self._ctx = context or default_context()
        self.path = os.fspath(path)
        self._workspaces = _Workspaces()
        self._handle = C.c_void_p()
        self._check(L.lib().tile_bundle_load_file(self._ctx.handle, self.path.encode(),
                                                  C.byref(self._handle)))
        lib = L.lib()
        self.kernels = {k.name: k for k in (Kernel(self, i)
                                            for i in range(lib.tile_bundle_kernel_count(self._handle)))}
        self.programs = {p.name: p for p in (Program(self, i)
                                             for i in range(lib.tile_bundle_program_count(self._handle)))}

    def workspaces(self):
        return self._workspaces.sizes()

    def release_workspaces(self):
        """Frees the programs' workspaces (each after its stream's work); a later launch
        allocates again."""
        self._workspaces.release_all()

    def _check(self, status):
        if status:
            raise TileError(status, self._ctx.message())

    def __getattr__(self, name):
        for entries in (self.__dict__.get("kernels", {}), self.__dict__.get("programs", {})):
            if name in entries:
                return entries[name]
        raise AttributeError(f"bundle {self.__dict__.get('path')} has no kernel or program "
                             f"'{name}'")

    def preload(self):
        """Loads every module this GPU runs: needed before capturing launches in a CUDA graph."""
        self._check(L.lib().tile_bundle_preload(self._ctx.handle, self._handle))

    def __del__(self):
        if getattr(self, "_handle", None) and L._lib:
            try:
                self._workspaces.release_all()
            except TileError:
                pass   # a context without a driver, or a stream gone: nothing more to do
            L._lib.tile_bundle_free(self._handle)
            self._handle = None


def load(path, context=None):
    """Loads a bundle written by `tilec build` (checked; no module is loaded yet)."""
    return Bundle(path, context)


class CompileError(Exception):
    """`tilec build` failed: its exit status and what it printed."""

    def __init__(self, status, stderr):
        self.status, self.stderr = status, stderr
        super().__init__(f"tilec build exited {status}:\n{stderr}")


def find_tilec():
    """The compiler: $TILEC, else `tilec` on PATH."""
    path = os.environ.get("TILEC") or shutil.which("tilec")
    if not path:
        raise CompileError(2, "tilec (the compiler) is not on PATH: install it (meson install "
                           "in the repository) or set TILEC to its path")
    return path


def _config_text(config):
    if config is None or isinstance(config, str):
        return config or ""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (list, tuple)):
            return "|".join(value(x) for x in v)
        return str(v)
    return ",".join(f"{k}={value(v)}" for k, v in config.items())


def cache_dir():
    return os.environ.get("TILEC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tilec", "python")


def compile(path, config=None, target=None, context=None, force=False):
    """Builds FILE.tile with `tilec build` (config: a dict or "K=V,..."; target: a name or a
    list) into a cache keyed by the hash of the source, the options and the compiler's
    version, and loads the bundle. `force` rebuilds."""
    tilec = find_tilec()
    with open(path, "rb") as f:
        source = f.read()
    targets = [target] if isinstance(target, str) else list(target or [])
    args = []
    if _config_text(config):
        args += ["--config", _config_text(config)]
    for t in targets:
        args += ["--target", t]
    version = subprocess.run([tilec, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256(b"\0".join([source, "\0".join(args).encode(), version.encode()]))
    stem = os.path.splitext(os.path.basename(path))[0]
    folder = os.path.join(cache_dir(), key.hexdigest()[:32])
    out = os.path.join(folder, stem + ".tbn")
    if force or not os.path.exists(out):
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f"{stem}.{os.getpid()}.tbn")
        p = subprocess.run([tilec, "build", os.fspath(path), "-o", tmp] + args,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise CompileError(p.returncode, p.stderr)
        os.replace(tmp, out)   # a whole bundle or none, for concurrent builds
    return load(out, context)
