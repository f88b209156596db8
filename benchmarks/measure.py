"""Timing, memory and host-read helpers shared by the benchmarks."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager

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


def ratio_of_medians_interval(
    a: list[float], b: list[float], level: float = 0.9, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of median(a) / median(b), each sample resampled on its own."""
    rng = random.Random(seed)
    ratios = sorted(median(rng.choices(a, k=len(a))) / median(rng.choices(b, k=len(b))) for _ in range(resamples))
    tail = int(resamples * (1 - level) / 2)
    return ratios[tail], ratios[resamples - 1 - tail]


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
