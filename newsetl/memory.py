"""Keep a long run's memory to what is live.

Two things let a run's RSS climb batch after batch though little stays live
(measured on four syndicated BBC copies, 8,900 articles, docs/benchmarks.md):

- Reference cycles. Prefect's process-pool futures form cycles (a chained future and the
  done-callback closure on the process future it waits for), so a shard's result, pickled
  and unpickled, lives until a full garbage collection, which Python seldom runs in a
  process with several hundred thousand objects. At publish the main process still held
  168 MB of past shard results (memray); it had grown by 370 MB over the run.
- Freed heap kept by glibc in per-thread arenas.

`freeze_startup_objects` moves what exists at flow start (imported modules, models,
Prefect's machinery) out of the collector's sight, so that a full collection per batch
walks only the run's own objects (0.3 s a batch before, a few ms after);
`release_free_memory` collects and trims.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None (macOS, musl, Windows: nothing to do)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


def freeze_startup_objects() -> None:
    """Exempt every object alive now from later garbage collections (they live for the
    whole process anyway)."""
    gc.collect()
    gc.freeze()


def release_free_memory(collect: bool = True) -> bool:
    """Collect garbage cycles (unless collect=False), then return free heap pages to the
    OS; True when the allocator could do it."""
    if collect:
        gc.collect()
    fn = _malloc_trim()
    return bool(fn is not None and fn(0))
