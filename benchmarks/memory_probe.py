"""Peak resident memory of one optimizer step, measured in a fresh process (CPU).

    python -m benchmarks.memory_probe PROBLEM {ours,cgds}

Prints JSON: the peak resident set size (VmHWM of /proc/self/status) reached by one step above
the level after building the game and evaluating its value once, in bytes. A fresh process per
measurement keeps one optimizer's high-water mark from hiding the other's (getrusage's ru_maxrss
would not do: Linux carries it over from the parent across fork and exec).
"""

from __future__ import annotations

import json
import sys
import warnings

import torch


def main(argv: list[str]) -> dict:
    from . import acgd_vs_cgds as bench
    from . import problems

    name, which = argv
    instance = problems.PROBLEMS[name](torch.float32, 0)
    options = dict(**bench.PAPER, tol=1e-6, atol=1e-10)
    runner = (
        bench.Ours(instance, **options) if which == "ours" else bench.Theirs(instance, bench.CountingHvp(), **options)
    )
    batch = instance.batch(0)
    instance.value(batch).backward()  # the memory a plain training step already needs
    for p in instance.min_params + instance.max_params:
        p.grad = None
    before = high_water_mark()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner.step(batch)
    return {"peak_bytes": high_water_mark() - before, "kind": "cpu VmHWM increase in a fresh process"}


def high_water_mark() -> int:
    """Peak resident set size of this process so far, in bytes (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status (not Linux?)")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
