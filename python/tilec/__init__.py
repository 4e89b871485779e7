"""tilec: load and call tilec kernel bundles from Python (ctypes and numpy; no torch needed).
`tilec.torch` (imported only by its user) registers kernels as torch.library ops."""
from ._libtile import TileError
from .core import (Bundle, CompileError, Context, DeviceTensor, Kernel, Param, cache_dir,
                   compile, find_tilec, load)

__all__ = ["Bundle", "CompileError", "Context", "DeviceTensor", "Kernel", "Param", "TileError",
           "cache_dir", "compile", "find_tilec", "load"]
