"""Timing, memory and host-read helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
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


@contextmanager
def cuda_peak_memory(device: torch.device):
    """Yields a dict whose ``"peak_bytes"`` is ``torch.cuda.max_memory_allocated`` above the
    starting level. (On the CPU the benchmark measures in a fresh process: memory_probe.py.)"""
    report: dict = {}
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    start = torch.cuda.memory_allocated(device)
    yield report
    synchronize(device)
    report["peak_bytes"] = torch.cuda.max_memory_allocated(device) - start
    report["kind"] = "cuda max_memory_allocated"
