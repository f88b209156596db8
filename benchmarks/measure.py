"""Timing, memory and host-read helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import threading
import time
from contextlib import contextmanager
from typing import Callable

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, object]:
    """Wall time of ``fn()`` with the device drained before and after; (seconds, result)."""
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return time.perf_counter() - start, result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


@contextmanager
def peak_memory(device: torch.device, interval: float = 0.0005):
    """Yields a dict whose ``"peak_bytes"`` is the peak memory above the starting level.

    CUDA: ``torch.cuda.max_memory_allocated`` after a reset. CPU: the resident set size,
    sampled by a background thread every ``interval`` seconds (a lower bound on the true peak).
    """
    report: dict = {}
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        yield report
        synchronize(device)
        report["peak_bytes"] = torch.cuda.max_memory_allocated(device) - start
        report["kind"] = "cuda max_memory_allocated"
        return
    start = _rss_bytes()
    peak = [start]
    running = [True]

    def sample() -> None:
        while running[0]:
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield report
    finally:
        running[0] = False
        thread.join()
        peak[0] = max(peak[0], _rss_bytes())
        report["peak_bytes"] = peak[0] - start
        report["kind"] = "cpu resident set size (sampled)"


def tune_malloc() -> bool:
    """Ask glibc to keep freed memory (no mmap for large blocks, no trimming); True if it could.

    By default glibc serves blocks above a (dynamic) threshold with mmap and returns freed
    heap tops to the kernel, so every large tensor of a backward pass is page-faulted in anew.
    Measured here it makes a DCGAN ACGD step about 1.6x slower; it slows every optimizer.
    The same effect from the shell: MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 2**30)) and bool(libc.mallopt(m_trim_threshold, 2**62))
