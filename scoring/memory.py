"""Keeping freed memory for the next volume, so reading one costs no page faults.

Reading a TriALS volume allocates the whole image and SimpleITK's read buffer:
about 330 MB of fresh pages, each a fault the kernel has to map and zero, which
costs as much CPU as decompressing the file (measured on venous_0: 0.2–0.3 s of
system time per read against 0.1–0.25 s of user time). glibc hands blocks that
large back to the system as soon as they are freed, so every read starts over.

A process that reads volume after volume (the worker's scoring stage,
``podium-score``) can ask glibc to serve large blocks from its heap, from one
arena, and not to trim it: the next read reuses the same pages. The price is
that the process keeps the memory of its largest reads (about 1 GB with two
scoring threads on TriALS volumes) until it exits. This is a process-wide
setting: the library never applies it by itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

# mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8

_lock = threading.Lock()
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed large blocks for reuse (once per process).

    Returns
    -------
    bool
        Whether it was applied: False where the C library is not glibc.

    Examples
    --------
    >>> keep_freed_memory() in (True, False)
    True
    """
    global _applied  # noqa: PLW0603 (one process-wide setting, applied once)
    with _lock:
        if _applied is None:
            _applied = _mallopt()
        return _applied


def _mallopt() -> bool:
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): leave malloc alone
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # Large blocks from the heap, not mmap; one arena (thread arenas cannot grow past
    # 64 MiB, so a thread's image would go to mmap again); never trim the heap's top.
    return bool(
        mallopt(_M_MMAP_MAX, 0)
        and mallopt(_M_ARENA_MAX, 1)
        and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    )
