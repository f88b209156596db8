"""ACGD data-parallel over NCCL: two processes, one GPU each, each on its half of the batch, against
one process on the whole batch (the GPU check's ``nccl`` part; the CPU's gloo runs are in
tests/test_distributed.py). Needs two CUDA devices."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
import torch.multiprocessing as mp

from benchmarks import problems
from cgd_optim import ACGD


def _run(rank: int, world: int, steps: int, out: Path) -> None:
    """``steps`` ACGD steps on the MLP GAN; the ranks each take an equal slice of the global batch."""
    device = torch.device("cuda", rank)
    instance = problems.mlp_gan(torch.float64, 0, hidden=64, batch_size=64, device=device)
    optimizer = ACGD(instance.min_params, instance.max_params, lr=0.05, tol=1e-12, max_iter=200)
    for step in range(steps):
        real, z = instance.batch(step)
        rows = real.shape[0] // world
        batch = (real[rank * rows : (rank + 1) * rows], z[rank * rows : (rank + 1) * rows])
        optimizer.step(lambda batch=batch: instance.value(batch))
    params = torch.cat([p.detach().reshape(-1) for p in [*instance.min_params, *instance.max_params]])
    torch.save(params.cpu(), out / f"rank{rank}_of_{world}.pt")


def _rank(rank: int, world: int, steps: int, out: str) -> None:
    import torch.distributed as dist

    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", init_method=f"file://{out}/store", rank=rank, world_size=world)
    try:
        _run(rank, world, steps, Path(out))
    finally:
        dist.destroy_process_group()


def compare(steps: int = 3) -> dict:
    """Two NCCL ranks against one process: are the ranks bitwise alike, and how far (relative to how
    far the players moved) are they from the one-process run?"""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        mp.spawn(_rank, args=(2, steps, scratch), nprocs=2, join=True)
        _run(0, 1, steps, out)
        ranks = [torch.load(out / f"rank{r}_of_2.pt") for r in (0, 1)]
        single = torch.load(out / "rank0_of_1.pt")
    fresh = problems.mlp_gan(torch.float64, 0, hidden=64, batch_size=64)  # the weights every run started from
    start = torch.cat([p.detach().reshape(-1) for p in [*fresh.min_params, *fresh.max_params]])
    moved = float((single - start).norm())
    return {
        "ranks_bitwise_equal": bool(torch.equal(ranks[0], ranks[1])),
        "gap_to_one_process_relative_to_move": float((ranks[0] - single).norm()) / moved,
        "steps": steps,
        "dtype": "float64",
    }
