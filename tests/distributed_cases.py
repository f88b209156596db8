"""The optimizers' data-parallel cases, run by two gloo processes (``python tests/distributed_cases.py
OUT RANK PORT``) and, as the full-batch reference, in the test process itself.

A float64 MLP GAN without batch norm; the global batch of 32 is a function of the step, and rank
r of W evaluates rows [r 32/W, (r + 1) 32/W).
"""

from __future__ import annotations

import copy
import os
import sys
from datetime import timedelta

import torch
from torch import nn

from cgd_optim import ACGD, CGD, LCGD, OGDA, SGA, ConOpt, ExtraAdam, ExtraSGD, OptimisticAdam, ProximalMinimax, SimGD
from cgd_optim.testing import state_differences

BATCH, STEPS = 32, 3


def players(seed: int = 0):
    torch.manual_seed(seed)
    G = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2)).double()
    D = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    return G, D


def batch(step: int, rank: int | None = None, world: int = 1):
    g = torch.Generator().manual_seed(100 + step)
    real = torch.randn(BATCH, 2, generator=g, dtype=torch.float64) + 1.0
    z = torch.randn(BATCH, 4, generator=g, dtype=torch.float64)
    if rank is None:
        return real, z
    rows = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
    return real[rows], z[rows]


def wgan(G, D, real, z):
    return D(real).mean() - D(G(z)).mean()


def non_saturating(G, D, real, z):
    """(f_min, f_max): G minimizes -log D(G(z)), D maximizes the OGAN value."""
    fake = D(G(z))
    return nn.functional.softplus(-fake).mean(), -(
        nn.functional.softplus(-D(real)).mean() + nn.functional.softplus(fake).mean()
    )


OPTIMIZERS = {
    "acgd": (
        lambda G, D, pg: ACGD(G.parameters(), D.parameters(), lr=0.05, tol=1e-12, max_iter=200, process_group=pg),
        wgan,
    ),
    "acgd_recycle": (
        lambda G, D, pg: ACGD(
            G.parameters(), D.parameters(), lr=0.05, tol=1e-12, max_iter=200, recycle=3, process_group=pg
        ),
        wgan,
    ),
    "cgd": (
        lambda G, D, pg: CGD(G.parameters(), D.parameters(), lr=0.1, tol=1e-12, max_iter=200, process_group=pg),
        wgan,
    ),
    "cgd_general_sum": (
        lambda G, D, pg: CGD(G.parameters(), D.parameters(), lr=0.1, tol=1e-12, max_iter=200, process_group=pg),
        non_saturating,
    ),
    "simgd": (lambda G, D, pg: SimGD(G.parameters(), D.parameters(), lr=0.05, process_group=pg), wgan),
    "simgd_alternating": (
        lambda G, D, pg: SimGD(G.parameters(), D.parameters(), lr=0.05, alternating=True, process_group=pg),
        wgan,
    ),
    # the game-aware first-order methods: gradients (and their Hessian-vector products) averaged
    "lcgd": (lambda G, D, pg: LCGD(G.parameters(), D.parameters(), lr=0.05, rmsprop=0.9, process_group=pg), wgan),
    "sga": (lambda G, D, pg: SGA(G.parameters(), D.parameters(), lr=0.05, process_group=pg), wgan),
    "conopt": (lambda G, D, pg: ConOpt(G.parameters(), D.parameters(), lr=0.05, process_group=pg), wgan),
    "ogda": (lambda G, D, pg: OGDA(G.parameters(), D.parameters(), lr=0.05, process_group=pg), wgan),
    "extra_sgd": (lambda G, D, pg: ExtraSGD(G.parameters(), D.parameters(), lr=0.05, process_group=pg), wgan),
    "extra_adam": (lambda G, D, pg: ExtraAdam(G.parameters(), D.parameters(), lr=0.01, process_group=pg), wgan),
    "optimistic_adam": (
        lambda G, D, pg: OptimisticAdam(G.parameters(), D.parameters(), lr=0.01, process_group=pg),
        wgan,
    ),
    "proximal": (
        lambda G, D, pg: ProximalMinimax(
            D,
            min_optimizer=torch.optim.Adam(G.parameters(), lr=1e-2),
            max_optimizer=torch.optim.Adam(D.parameters(), lr=1e-2),
            lam=0.1,
            inner_steps=3,
            process_group=pg,
        ),
        wgan,
    ),
}


def run(
    name: str, rank: int | None = None, world: int = 1, process_group="auto", ddp: bool = False, built=None
) -> dict:
    """STEPS steps of optimizer ``name``: the players' start and end, the state, the last step_stats.
    ``built``: (G, D, optimizer) made earlier (before the process group existed)."""
    make, value = OPTIMIZERS[name]
    G, D = players() if built is None else built[:2]
    start = [p.detach().clone() for p in [*G.parameters(), *D.parameters()]]
    if ddp:
        G, D = nn.parallel.DistributedDataParallel(G), nn.parallel.DistributedDataParallel(D)
    optimizer = make(G, D, process_group) if built is None else built[2]
    for step in range(STEPS):
        real, z = batch(step, rank, world)
        closure = lambda: value(G, D, real, z)  # noqa: E731
        optimizer.step(closure, real) if name == "proximal" else optimizer.step(closure)
    return {
        "start": start,
        "end": [p.detach().clone() for p in [*G.parameters(), *D.parameters()]],
        "state": optimizer.state_dict(),
        "stats": dict(getattr(optimizer, "step_stats", {})),
    }


def run_non_finite(rank: int, world: int) -> dict:
    """One good ACGD step, then a step where only rank 1's batch holds a NaN: does this rank raise,
    and are its parameters and state as they were?"""
    G, D = players()
    optimizer = ACGD(G.parameters(), D.parameters(), lr=0.05)
    real, z = batch(0, rank, world)
    optimizer.step(lambda: wgan(G, D, real, z))
    before = ([p.detach().clone() for p in [*G.parameters(), *D.parameters()]], copy.deepcopy(optimizer.state_dict()))
    real = real.clone()
    if rank == 1:
        real[0, 0] = float("nan")
    try:
        optimizer.step(lambda: wgan(G, D, real, z))
        raised = False
    except FloatingPointError:
        raised = True
    after = [p.detach() for p in [*G.parameters(), *D.parameters()]]
    unchanged = all(torch.equal(a, b) for a, b in zip(before[0], after)) and not state_differences(
        before[1], optimizer.state_dict()
    )
    return {"raised": raised, "unchanged": unchanged}


def worker(out: str, rank: int, port: int, world: int = 2) -> None:
    torch.set_num_threads(1)
    import torch.distributed as dist

    G, D = players()
    early = (G, D, OPTIMIZERS["acgd"][0](G, D, "auto"))  # built before the group: "auto" resolves at each step
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world, timeout=timedelta(seconds=60)
    )
    results = {name: run(name, rank, world) for name in OPTIMIZERS}
    results["acgd_ddp"] = run("acgd", rank, world, ddp=True)
    results["acgd_no_group"] = run("acgd", rank, world, process_group=None)
    results["acgd_built_before_the_group"] = run("acgd", rank, world, built=early)
    results["non_finite"] = run_non_finite(rank, world)
    dist.barrier()
    dist.destroy_process_group()
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    worker(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
