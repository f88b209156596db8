"""What data-parallel training costs: collectives, bytes and step time at 1 and 2 CPU processes.

    python -m benchmarks.distributed [--steps 5] [--warmup 2] [--problems mlp_gan dcgan32]
                                     [--out benchmarks/results/distributed_cpu.json]

For ACGD (paper settings: lr 1e-4, tol 1e-6 on the residual norm) and the simultaneous Adam pair of
acgd_vs_cgds (its ``.grad`` averaged over the ranks),
on the MLP GAN and the ICR DCGAN (float32, the benchmark's global batch, sliced over the ranks),
each configuration runs in fresh processes with one thread each (gloo for 2): median step time,
all_reduce calls per step and the bytes each rank contributes per step.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import torch

from . import problems
from .acgd_vs_cgds import Ours, SimultaneousAdam
from .measure import median, timed


class CountingAllReduce:
    """Counts ``torch.distributed.all_reduce`` calls and the bytes of the tensors reduced."""

    def __init__(self) -> None:
        import torch.distributed as dist

        self.calls, self.bytes, original = 0, 0, dist.all_reduce

        def counted(tensor, *args, **kwargs):
            self.calls += 1
            self.bytes += tensor.numel() * tensor.element_size()
            return original(tensor, *args, **kwargs)

        dist.all_reduce = counted


def shard(batch, rank: int, world: int):
    rows = batch[0].shape[0] // world
    return tuple(t[rank * rows : (rank + 1) * rows] for t in batch)


def measure(problem: str, optimizer: str, rank: int, world: int, steps: int, warmup: int, counter) -> dict:
    instance = problems.PROBLEMS[problem](torch.float32, 0)
    runner = (
        Ours(instance, lr=1e-4, beta=0.99, eps=1e-5, tol=1e-6, max_iter=50)
        if optimizer == "acgd"
        else SimultaneousAdam(instance, lr=1e-4)
    )
    times, calls, sent = [], [], []
    for k in range(warmup + steps):
        batch = shard(instance.batch(k), rank, world)
        before = (counter.calls, counter.bytes) if counter else (0, 0)
        seconds, _ = timed(lambda: runner.step(batch), torch.device("cpu"))
        if k >= warmup:
            times.append(seconds)
            calls.append(counter.calls - before[0] if counter else 0)
            sent.append(counter.bytes - before[1] if counter else 0)
    return {"step_s": median(times), "all_reduce_per_step": median(calls), "bytes_per_step": median(sent)}


def worker(out: str, rank: int, world: int, port: int, steps: int, warmup: int, names: list[str]) -> None:
    torch.set_num_threads(1)
    counter = None
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world, timeout=timedelta(seconds=600)
        )
        counter = CountingAllReduce()
    results = {f"{p}/{o}": measure(p, o, rank, world, steps, warmup, counter) for p in names for o in ("acgd", "adam")}
    if rank == 0:
        Path(out).write_text(json.dumps(results))


def launch(world: int, args) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "rank0.json")
        command = [
            sys.executable,
            "-m",
            "benchmarks.distributed",
            "--worker",
            out,
            str(world),
            str(port),
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--problems",
            *args.problems,
        ]
        procs = [
            subprocess.Popen([*command, "--rank", str(rank)], env={**os.environ, "OMP_NUM_THREADS": "1"})
            for rank in range(world)
        ]
        for proc in procs:
            if proc.wait(timeout=3600) != 0:
                raise RuntimeError(f"a worker of world size {world} failed")
        return json.loads(Path(out).read_text())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--problems", nargs="+", default=["mlp_gan", "dcgan32"])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", nargs=3, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rank", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        out, world, port = args.worker
        worker(out, args.rank, int(world), int(port), args.steps, args.warmup, args.problems)
        return {}
    results = {world: launch(world, args) for world in (1, 2)}
    print(
        f"{'problem/optimizer':22s} {'1 proc s':>9s} {'2 procs s':>10s} {'speed-up':>9s} {'all_reduce/step':>16s} "
        f"{'MB/step/rank':>13s}"
    )
    for key in results[1]:
        one, two = results[1][key], results[2][key]
        print(
            f"{key:22s} {one['step_s']:9.3f} {two['step_s']:10.3f} {one['step_s'] / two['step_s']:8.2f}x "
            f"{two['all_reduce_per_step']:16.0f} {two['bytes_per_step'] / 1e6:13.2f}"
        )
    if args.out is not None:
        args.out.write_text(
            json.dumps({"settings": {"steps": args.steps, "warmup": args.warmup}, "results": results}, indent=2)
        )
    return results


if __name__ == "__main__":
    main()
