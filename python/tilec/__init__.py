"""tilec: load and call tilec bundles' kernels and programs from Python (ctypes and numpy;
no torch needed). `tilec.torch` (imported only by its user) registers them as torch.library
ops."""
from ._libtile import TileError
from .core import (Bundle, CompileError, Context, DeviceTensor, Kernel, Param, Program,
                   cache_dir, compile, find_tilec, load)

__all__ = ["Bundle", "CompileError", "Context", "DeviceTensor", "Kernel", "Param", "Program",
           "TileError", "cache_dir", "compile", "find_tilec", "load"]
