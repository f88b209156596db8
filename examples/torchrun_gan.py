"""ACGD data-parallel under torchrun: every rank evaluates its own equal shard of each batch, and the
optimizer averages gradients and mixed products over the ranks (``process_group="auto"``), so every
rank takes the full batch's step.

Run: ``torchrun --nproc_per_node=2 examples/torchrun_gan.py [--steps N]`` (gloo on the CPU; NCCL
and ``cuda:LOCAL_RANK`` on GPUs), or across machines with ``--nnodes`` and a c10d rendezvous
(docs/distributed.md). Without torchrun it runs in one process.
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from ring_gan import RingBatches, ogan_value, players

from cgd_optim import ACGD


def train(steps: int) -> tuple[float, float]:
    """(value on the first batch after training, sum of the generator's weights) on this rank."""
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if launched:
        dist.init_process_group("gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if launched else (0, 1)
    torch.set_num_threads(1)  # one thread per process: processes on one machine share its cores
    G, D = players()
    optimizer = ACGD(G.parameters(), D.parameters(), lr=1e-3)  # process_group="auto": the default group
    batches = RingBatches(steps)
    for k in range(steps):
        real, z = batches[k]  # the global batch, the same on every rank; each keeps its rows
        rows = real.shape[0] // world
        real, z = real[rank * rows : (rank + 1) * rows], z[rank * rows : (rank + 1) * rows]
        optimizer.step(lambda real=real, z=z: ogan_value(G, D, real, z))
    real, z = RingBatches(1)[0]
    result = ogan_value(G, D, real, z).item(), float(sum(p.detach().double().sum() for p in G.parameters()))
    if launched:
        dist.destroy_process_group()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    value, checksum = train(args.steps)
    print(
        f"rank {os.environ.get('RANK', '0')}: value after {args.steps} steps: {value:.6f}, G weights sum {checksum!r}"
    )
