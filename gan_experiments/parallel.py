"""One model trained by several processes under ``torchrun``: the process group, who writes,
which rows of a batch are this rank's.

Every rank draws the same global batch, noise and other random numbers of a step from the run's
seeded streams and evaluates the objective on its own slice; the optimizers average gradients and
Hessian-vector products over the group (``cgd_optim``'s ``process_group="auto"``; the torch
optimizers' ``.grad`` in :func:`gan_experiments.optimizers.set_gradients`). A W-process run then
follows the 1-process run of the same config and seed. Rank 0 alone writes the run folder and
evaluates; the others wait for it with :func:`wait`. Without ``torchrun`` (no ``WORLD_SIZE``
above 1 in the environment) nothing here communicates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
from torch import Tensor

EVALUATION_WAIT_S = 3600.0  # ranks waiting for rank 0's evaluation (first-use classifier training, FID)


@dataclass
class Place:
    """This process's place: ``rank`` of ``world``; ``wait_group`` is a gloo group whose timeout
    is sized for waiting on rank 0's evaluations, not for training collectives."""

    rank: int = 0
    world: int = 1
    wait_group: Any = None

    @property
    def writes(self) -> bool:
        """Rank 0 writes the run folder, the log, TensorBoard events and pictures, and shows progress."""
        return self.rank == 0

    def shard(self, tensor: Tensor) -> Tensor:
        """This rank's rows of a global batch (the global batch size divides by the world size)."""
        if self.world == 1:
            return tensor
        rows = tensor.shape[0] // self.world
        return tensor[self.rank * rows : (self.rank + 1) * rows]


_place = Place()


def place() -> Place:
    return _place


def launched() -> bool:
    """Started by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def restarted() -> bool:
    """A group restarted by ``torchrun --max-restarts`` (it resumes from the last checkpoint)."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0


def resolve_device(device: str) -> str:
    """``auto``: CUDA if available, else the CPU; under torchrun a CUDA device is ``cuda:LOCAL_RANK``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if launched() and torch.device(device).type == "cuda":
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def start(device: str, timeout_s: float) -> Place:
    """Join the process group torchrun set up (NCCL for CUDA, gloo for the CPU; ``timeout_s`` for
    training collectives, so a dead rank fails the others instead of hanging them). Idempotent."""
    global _place
    if not launched() or _place.world > 1:
        return _place
    import torch.distributed as dist

    if torch.device(device).type == "cuda":
        torch.cuda.set_device(torch.device(device))
    if not dist.is_initialized():
        backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        dist.init_process_group(
            backend,
            timeout=timedelta(seconds=timeout_s),
            store=_attempt_store(rank, world),
            rank=rank,
            world_size=world,
        )
    wait_group = dist.new_group(backend="gloo", timeout=timedelta(seconds=EVALUATION_WAIT_S))
    _place = Place(dist.get_rank(), dist.get_world_size(), wait_group)
    return _place


def _attempt_store(rank: int, world: int):
    """torchrun's store, with keys of this attempt only: a group restarted by ``--max-restarts``
    must not read the addresses its dead predecessors published (seen here: "Connection refused"
    at the restarted group's connect)."""
    import torch.distributed as dist

    agent_hosts = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    store = dist.TCPStore(
        os.environ["MASTER_ADDR"],
        int(os.environ["MASTER_PORT"]),
        world,
        is_master=rank == 0 and not agent_hosts,
        timeout=timedelta(seconds=300),
        multi_tenant=True,
    )
    return dist.PrefixStore(f"gan_experiments/attempt_{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)


def wait() -> None:
    """Every rank meets here (after rank 0's evaluations and checkpoints)."""
    if _place.world > 1:
        import torch.distributed as dist

        dist.barrier(group=_place.wait_group)


def agreed(value):
    """Rank 0's ``value`` on every rank (e.g. a run folder named by the time)."""
    if _place.world == 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0, group=_place.wait_group)
    return box[0]


def stop() -> None:
    """Leave the process group (end of a torchrun command)."""
    global _place
    if _place.world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
        _place = Place()
