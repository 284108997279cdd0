"""Giving freed memory back to the system between turns.

CTranslate2 and onnxruntime allocate and free large buffers on every decode (Whisper's encoder output, its
decoder's logits). glibc keeps what was freed in its heaps for reuse, so the process's resident memory grows
with every shape it has seen and never comes down: 327 MB after a few turns and second looks, 277 MB after
malloc_trim(0) (scripts/bench_loop.py measures the whole loop). Only glibc has malloc_trim; elsewhere this
does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
_trim = None


def _load():
    global _trim
    if _trim is None:
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name) if name else None
            _trim = getattr(libc, "malloc_trim", None) or False
        except OSError:
            _trim = False
    return _trim


def give_back() -> bool:
    """Return the free memory of the C heaps to the system (a few ms). False where that cannot be done."""
    trim = _load()
    if not trim:
        return False
    trim(0)
    return True
