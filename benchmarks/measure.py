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

