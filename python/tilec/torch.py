"""tilec.torch — a loaded bundle's kernels and programs as torch.library custom ops (needs
torch; `import tilec` alone never imports it). Per kernel or program K two ops:
torch.ops.tilec.K, functional (every parameter but the outputs; returns the outputs,
allocated with shapes from the symbols the inputs bind), and torch.ops.tilec.K_out (every
parameter, the outputs written in place). Tensors it writes are declared mutated in both
schemas; a fake (meta) implementation derived from the signature serves FakeTensorMode and
torch.compile. ops(bundle) gives one callable per kernel and program:
ops(b).attention(q, k, v, scale=..., causal=True[, out=o]). A program's workspace is a torch
tensor of the caching allocator, one per (device, stream) for the bundle."""
import ctypes as C

import torch

from . import _libtile as L
from .core import Program, TileError, _fail

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16,
          "f8e4m3": torch.float8_e4m3fn, "f8e5m2": torch.float8_e5m2, "i32": torch.int32,
          "i64": torch.int64, "bool": torch.bool, "i8": torch.int8, "i16": torch.int16,
          "u8": torch.uint8}
if hasattr(torch, "uint32"):   # torch 2.3 and later
    DTYPES["u32"] = torch.uint32
FLOATS = ("f32", "f16", "bf16", "f8e4m3", "f8e5m2")
NAMESPACE = "tilec"
_library = None
_registered = {}   # op name -> [kernel, signature text]: the kernel the op launches now


def _schema_type(p):
    if p.kind == "scalar":
        return "float" if p.dtype in FLOATS else ("bool" if p.dtype == "bool" else "int")
    if p.kind == "const":
        return "bool" if p.dtype == "bool" else "int"
    return "Tensor"


def schemas(kernel):
    """The functional and the _out op's schemas, e.g.
    "(Tensor q, Tensor k, Tensor v, float scale, bool causal) -> Tensor"."""
    alias = iter("abcdefghijklmnopqrstuvwxyz")
    marks = {p.name: f"({next(alias)}!)" for p in kernel.params if p.is_mutated}
    def arg(p):
        return f"{_schema_type(p)}{marks.get(p.name, '') if p.is_tensor else ''} {p.name}"
    inputs = ", ".join(arg(p) for p in kernel.params if not p.is_output)
    outs = kernel.outputs
    ret = "()" if not outs else "Tensor" if len(outs) == 1 else \
        "(" + ", ".join("Tensor" for _ in outs) + ")"
    return f"({inputs}) -> {ret}", "(" + ", ".join(arg(p) for p in kernel.params) + ") -> ()"


def check(kernel, values, real):
    """Dtypes, ranks, devices and shape symbols of a call (values: param name -> value).
    Returns the symbols. `real`: tensors must be on a CUDA device."""
    device, shapes = None, {}
    for p in kernel.params:
        v = values.get(p.name)
        if not p.is_tensor or v is None:
            continue
        if not isinstance(v, torch.Tensor):
            raise _fail("TILE_ERR_ARG", f"{kernel.what} {kernel.name}: {p.name} must be a "
                        f"tensor, given {type(v).__name__}")
        if v.dtype != DTYPES[p.dtype]:
            raise _fail("TILE_ERR_ARG", f"{kernel.what} {kernel.name}: {p.name} is {p.dtype} "
                        f"({DTYPES[p.dtype]}), given {v.dtype}")
        if real and v.device.type != "cuda":
            raise _fail("TILE_ERR_ARG", f"{kernel.what} {kernel.name}: {p.name} is on "
                        f"{v.device}; tilec kernels take CUDA tensors")
        if device is None:
            device = (p.name, v.device)
        elif v.device != device[1]:
            raise _fail("TILE_ERR_ARG", f"{kernel.what} {kernel.name}: {p.name} is on "
                        f"{v.device} but {device[0]} on {device[1]}")
        shapes[p.name] = tuple(v.shape)
    return kernel.bind_symbols(shapes), device[1] if device else None


def _allocate(kernel, values, device, alloc):
    outs = kernel.output_shapes({n: tuple(v.shape) for n, v in values.items()
                                 if isinstance(v, torch.Tensor)})
    return [alloc(outs[p.name], dtype=DTYPES[p.dtype], device=device) for p in kernel.outputs]


def _tensor_arg(a, p, t):
    a.kind, a.data, a.rank, a.has_strides = L.TENSOR, t.data_ptr(), t.dim(), True
    for d in range(t.dim()):
        a.shape[d], a.strides[d] = t.shape[d], t.stride(d)   # strides in elements, as torch's


class _TorchWorkspace:
    """A program's workspace as a uint8 tensor of torch's caching allocator, on the stream it
    serves (so its bytes return to that stream's pool, in stream order, when it is dropped)."""

    def __init__(self, nbytes, device):
        self.tensor = torch.empty(nbytes, dtype=torch.uint8, device=device)
        self.ptr, self.bytes = self.tensor.data_ptr(), nbytes

    def release(self):
        self.tensor = None


def launch(kernel, values):
    """Launches a kernel or a program with torch tensors (values: param name -> value) on
    torch's current stream of the tensors' device."""
    _, device = check(kernel, values, real=True)
    targs = kernel.pack([values[p.name] for p in kernel.params], _tensor_arg)
    with torch.cuda.device(device):
        stream = torch.cuda.current_stream(device).cuda_stream
        if isinstance(kernel, Program):
            kernel.enqueue(targs, stream, device.index,
                           lambda n: _TorchWorkspace(n, device))
            return
        kernel.bundle._check(L.lib().tile_launch(
            kernel.bundle._ctx.handle, kernel.bundle._handle, kernel.name.encode(), targs,
            len(kernel.params), C.c_void_p(stream)))


def _register(kernel):
    global _library
    if _library is None:
        _library = torch.library.Library(NAMESPACE, "FRAGMENT")
    functional, out = schemas(kernel)
    name = kernel.name
    known = _registered.get(name)
    if known:
        if known[1] != (functional, out):
            raise _fail("TILE_ERR_ARG", f"torch.ops.{NAMESPACE}.{name} is already registered "
                        f"with another signature {known[1][0]}; this bundle's is {functional}")
        known[0] = kernel   # same signature: the op launches the newest bundle's kernel
        return
    _registered[name] = [kernel, (functional, out)]
    inputs = [p.name for p in kernel.params if not p.is_output]
    names = [p.name for p in kernel.params]

    def functional_impl(*args):
        k = _registered[name][0]
        values = dict(zip(inputs, args))
        _, device = check(k, values, real=True)
        outs = _allocate(k, values, device, torch.empty)
        values.update(zip((p.name for p in k.outputs), outs))
        launch(k, values)
        return None if not outs else outs[0] if len(outs) == 1 else tuple(outs)

    def functional_fake(*args):
        k = _registered[name][0]
        values = dict(zip(inputs, args))
        _, device = check(k, values, real=False)
        outs = _allocate(k, values, device, torch.empty)
        return None if not outs else outs[0] if len(outs) == 1 else tuple(outs)

    def out_impl(*args):
        launch(_registered[name][0], dict(zip(names, args)))

    def out_fake(*args):
        check(_registered[name][0], dict(zip(names, args)), real=False)

    _library.define(name + functional)
    _library.define(name + "_out" + out)
    _library.impl(name, functional_impl, "CUDA")
    _library.impl(name + "_out", out_impl, "CUDA")
    torch.library.register_fake(f"{NAMESPACE}::{name}", functional_fake, lib=_library)
    torch.library.register_fake(f"{NAMESPACE}::{name}_out", out_fake, lib=_library)


class _Call:
    """ops(bundle).K(*args, out=None, **kwargs): the functional op, or with out= (a tensor, or
    a tuple for several outputs) the _out op, which returns the outputs given."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.functional = getattr(getattr(torch.ops, NAMESPACE), kernel.name)
        self.out = getattr(getattr(torch.ops, NAMESPACE), kernel.name + "_out")

    def __call__(self, *args, out=None, **kwargs):
        k = self.kernel
        inputs = [p for p in k.params if not p.is_output]
        if len(args) > len(inputs):
            raise _fail("TILE_ERR_ARG", f"{k.what} {k.name} takes {len(inputs)} inputs, "
                        f"{len(args)} given (outputs go in out=)")
        values = dict(zip((p.name for p in inputs), args))
        for n, v in kwargs.items():
            if n in values or n not in {p.name for p in inputs}:
                raise _fail("TILE_ERR_ARG", f"{k.what} {k.name}: unexpected or repeated "
                            f"argument {n} (outputs go in out=)")
            values[n] = v
        missing = [p.name for p in inputs if p.name not in values]
        if missing:
            raise _fail("TILE_ERR_ARG", f"{k.what} {k.name}: missing {', '.join(missing)}")
        if out is None:
            return self.functional(*[values[p.name] for p in inputs])
        outs = (out,) if isinstance(out, torch.Tensor) else tuple(out)
        if len(outs) != len(k.outputs):
            raise _fail("TILE_ERR_ARG", f"{k.what} {k.name} has {len(k.outputs)} outputs "
                        f"({', '.join(p.name for p in k.outputs)}), out= gives {len(outs)}")
        values.update(zip((p.name for p in k.outputs), outs))
        self.out(*[values[p.name] for p in k.params])
        return out


class ops:
    """The kernels and programs of a bundle as torch ops: one attribute per kernel and per
    program (see _Call)."""

    def __init__(self, bundle):
        for entry in list(bundle.kernels.values()) + list(bundle.programs.values()):
            _register(entry)
            setattr(self, entry.name, _Call(entry))


def attention_function(bundle):
    """The bundle's `attention` kernel as a transformers attention function:
    (module, query [B, H, M, D], key/value [B, KV, N, D], attention_mask, scaling, dropout,
    **kwargs) -> (out [B, M, H, D], None). Grouped-query heads (H a multiple of KV) read K and
    V through stride-0 views, never copied. What the kernel cannot do is an error, never
    ignored: dropout, a sliding window, a soft-cap, a mask other than the causal one (or none),
    and causal attention of several queries over a longer key cache (the kernel's causal mask
    is the square one; a single query attends to every key)."""
    kernel = ops(bundle).attention

    def attend(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        b, h, m, d = query.shape
        kv, n = key.shape[1], key.shape[2]
        causal = bool(getattr(module, "is_causal", True))
        for what in ("sliding_window", "softcap"):
            if kwargs.get(what):
                raise _fail("TILE_ERR_ARG", f"tilec attention: {what}={kwargs[what]!r} is not "
                            "in the bundle's kernel")
        if dropout:
            raise _fail("TILE_ERR_ARG", f"tilec attention: dropout={dropout} is not in the "
                        "bundle's kernel (use model.eval())")
        if kv == 0 or h % kv:
            raise _fail("TILE_ERR_SHAPE", f"tilec attention: {h} query heads over {kv} key/value "
                        "heads (grouped-query attention needs a multiple)")
        if causal and m == 1:
            causal = False   # the last position sees every key
        elif causal and m != n:
            raise _fail("TILE_ERR_SHAPE", f"tilec attention: causal attention of {m} queries "
                        f"over {n} keys (a key cache) needs the mask aligned to the last query, "
                        "which the bundle's kernel does not have")
        if attention_mask is not None:
            keep = attention_mask if attention_mask.dtype == torch.bool else attention_mask == 0
            keep = keep[..., -m:, :n]
            want = torch.ones(m, n, dtype=torch.bool, device=keep.device)
            if causal:
                want = want.tril()
            if keep.shape[-2:] != want.shape or not bool((keep == want).all()):
                raise _fail("TILE_ERR_ARG", "tilec attention: an attention mask other than the "
                            "causal one (padding, a custom mask) is not in the bundle's kernel")
        out = torch.empty(b, m, h, d, dtype=query.dtype, device=query.device)
        view = out.transpose(1, 2)
        group = h // kv
        scale = scaling if scaling is not None else d ** -0.5
        for i in range(b):   # per batch entry: KV heads as Z, each head's group as H
            kernel(query[i].unflatten(0, (kv, group)), key[i][:, None].expand(kv, group, n, d),
                   value[i][:, None].expand(kv, group, n, d), scale=scale, causal=causal,
                   out=view[i].unflatten(0, (kv, group)))
        return out, None
    return attend


def hf_attention(bundle, name="tilec"):
    """Registers attention_function(bundle) with transformers' AttentionInterface (and its
    mask function, where transformers has AttentionMaskInterface) under `name`, and returns
    the name: `model = AutoModelForCausalLM.from_config(cfg, attn_implementation=name)`."""
    fn = attention_function(bundle)
    try:
        import transformers
    except ImportError:
        raise _fail("TILE_ERR_ARG", "tilec.torch.hf_attention needs the transformers package")
    transformers.AttentionInterface.register(name, fn)
    try:   # transformers >= 4.53 builds each implementation's mask by its own function
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
        AttentionMaskInterface.register(name, sdpa_mask)
    except ImportError:
        pass
    return name


__all__ = ["DTYPES", "TileError", "attention_function", "check", "hf_attention", "launch",
           "ops", "schemas"]
