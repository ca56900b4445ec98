"""The one place numba options are set. Kernels do ``@njit(**JIT)``; never hardcode options."""

JIT = dict(cache=True, fastmath=False, nogil=True)
