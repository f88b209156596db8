"""ACGD in a plain PyTorch loop, with the torch.optim conventions: param groups with their own
learning rate, decoupled weight decay, a scheduler, the step's gradients left in ``.grad`` for a
gradient-norm log, and a checkpoint that resumes.

Run: ``python examples/plain_loop.py [--steps N]``.
"""

from __future__ import annotations

import argparse

import torch
from ring_gan import RingBatches, ogan_value, players

from cgd_optim import ACGD


def train(steps: int):
    G, D = players()
    head, body = list(G[2].parameters()), [*G[0].parameters()]
    optimizer = ACGD(
        [{"params": body}, {"params": head, "lr": 5e-4}],  # the generator's last layer at half the rate
        D.parameters(),
        lr=1e-3,
        weight_decay=1e-4,  # decoupled (AdamW-style), each group with its own lr
        keep_gradients=True,  # .grad holds the step's gradients afterwards
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)  # acts on every group
    batches = RingBatches(steps)
    for k in range(steps):
        real, z = batches[k]
        value = optimizer.step(lambda real=real, z=z: ogan_value(G, D, real, z))
        scheduler.step()
        if k % 50 == 0:
            norm = torch.nn.utils.get_total_norm([p.grad for p in G.parameters()])
            print(
                f"step {k}: value {value.item():.4f}, |grad G| {norm:.3f} "
                f"(step_stats: {optimizer.step_stats['grad_norm_min']:.3f})"
            )
    return G, D, optimizer


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    G, D, optimizer = train(args.steps)
    checkpoint = {"G": G.state_dict(), "D": D.state_dict(), "optimizer": optimizer.state_dict()}
    real, z = RingBatches(1)[0]
    print(
        f"value after {args.steps} steps: {ogan_value(G, D, real, z).item():.4f} "
        f"(checkpoint holds {len(checkpoint['optimizer']['param_groups'])} param groups)"
    )
