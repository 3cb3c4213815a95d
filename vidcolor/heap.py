"""Keep the memory the model frees for its next batch (glibc), instead of handing it back to the kernel.

On a CPU the model allocates and frees its tensors batch after batch. glibc returns freed blocks of 128 KB
to 32 MB to the kernel, so the next batch's tensors fault in fresh pages, which the kernel zeroes first:
680-1,000 page faults per 480p frame on this project's machine (glibc slides its thresholds as blocks come
and go, keeping at most 64 MB). Kept, the same blocks are reused: 4-5% less CPU per frame, for the model
stage and end to end alike; peak memory up to 5% higher, and still flat over a film (docs/throughput.md,
session 23). It is a setting of the whole process: a program that colorizes on a CPU through the Python
API keeps up to 512 MB of freed memory per heap for its own later use too.
"""
from __future__ import annotations

import ctypes
import functools
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # glibc's largest: bigger blocks are still mapped and unmapped one by one
TRIM_THRESHOLD = 512 << 20  # free memory kept at the top of a heap before it is given back


@functools.cache
def keep_freed_memory() -> bool:
    """Once per process; whether it took. A C library without glibc's mallopt (musl says no; macOS has
    none) keeps its own behaviour."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
