"""_libtile.py — ctypes declarations of libtile's C API (runtime/tile.h), the shared library
shipped in this package (or $TILEC_LIBTILE), and TileError, libtile's status and message."""
import ctypes as C
import os

MAX_RANK = 8
# tile.h's enums, in their order
STATUS_NAMES = ("TILE_OK", "TILE_ERR_NO_DEVICE", "TILE_ERR_BUNDLE", "TILE_ERR_ARCH",
                "TILE_ERR_SHAPE", "TILE_ERR_ARG", "TILE_ERR_CONST", "TILE_ERR_CAPTURE",
                "TILE_ERR_LAUNCH", "TILE_ERR_MEMORY", "TILE_ERR_IO", "TILE_ERR_CHECK",
                "TILE_ERR_INDEX")
DTYPES = ("f32", "f16", "bf16", "f8e4m3", "f8e5m2", "i32", "i64", "bool", "i8", "i16", "u8", "u32")
KINDS = ("tensor", "scalar", "const")
REDUCES = (None, "sum", "max", "min")
TENSOR, SCALAR, CONST = 0, 1, 2


class TileError(Exception):
    """A libtile call failed: `status` (an int, tile.h's tile_status), `status_name`
    ("TILE_ERR_SHAPE") and libtile's message."""

    def __init__(self, status, message):
        self.status = status
        self.status_name = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else "TILE_ERR_?"
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


class TileArg(C.Structure):   # tile.h's tile_arg
    _fields_ = [("kind", C.c_int), ("dtype", C.c_int), ("name", C.c_char_p),
                ("data", C.c_void_p), ("rank", C.c_int),
                ("shape", C.c_int64 * MAX_RANK), ("strides", C.c_int64 * MAX_RANK),
                ("has_strides", C.c_bool), ("f", C.c_double), ("i", C.c_int64)]


class ParamInfo(C.Structure):   # tile.h's tile_param_info
    _fields_ = [("name", C.c_char_p), ("kind", C.c_int), ("dtype", C.c_int), ("rank", C.c_int),
                ("dims", C.c_int64 * MAX_RANK), ("reduce", C.c_int), ("written", C.c_int),
                ("read", C.c_int), ("const_values", C.POINTER(C.c_int64)),
                ("nconst_values", C.c_int)]


def _declare(lib):
    p, i, s = C.c_void_p, C.c_int, C.c_char_p
    sigs = {
        "tile_status_string": (s, [i]),
        "tile_context_create": (i, [C.POINTER(p), p]),
        "tile_context_destroy": (None, [p]),
        "tile_error_message": (s, [p]),
        "tile_device_count": (i, [p]),
        "tile_bundle_load_file": (i, [p, s, C.POINTER(p)]),
        "tile_bundle_free": (None, [p]),
        "tile_bundle_preload": (i, [p, p]),
        "tile_bundle_kernel_count": (i, [p]),
        "tile_bundle_kernel_name": (s, [p, i]),
        "tile_kernel_param_count": (i, [p, i]),
        "tile_kernel_symbol_count": (i, [p, i]),
        "tile_kernel_param": (i, [p, i, i, C.POINTER(ParamInfo)]),
        "tile_kernel_symbol_name": (s, [p, i, i]),
        "tile_launch": (i, [p, p, s, C.POINTER(TileArg), i, p]),
        "tile_bundle_program_count": (i, [p]),
        "tile_bundle_program_name": (s, [p, i]),
        "tile_program_param_count": (i, [p, i]),
        "tile_program_input_count": (i, [p, i]),
        "tile_program_symbol_count": (i, [p, i]),
        "tile_program_param": (i, [p, i, i, C.POINTER(ParamInfo)]),
        "tile_program_symbol_name": (s, [p, i, i]),
        "tile_program_workspace_bytes": (i, [p, p, s, C.POINTER(TileArg), i,
                                             C.POINTER(C.c_size_t)]),
        "tile_launch_program": (i, [p, p, s, C.POINTER(TileArg), i, p, C.c_size_t, p]),
        "tile_current_device": (i, [p, C.POINTER(i)]),
        "tile_workspace_alloc": (i, [p, C.c_size_t, p, C.POINTER(p)]),
        "tile_workspace_free": (i, [p, p, p]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


def library_path():
    return os.environ.get("TILEC_LIBTILE") or os.path.join(os.path.dirname(__file__), "libtile.so")


_lib = None


def lib():
    global _lib
    if _lib is None:
        _lib = _declare(C.CDLL(library_path()))
    return _lib
