"""ACGD under Hugging Face accelerate: ``Accelerator.prepare`` the networks and the optimizer, and
step with a closure (``accelerator.backward`` is not used: the optimizer takes its own gradients).

Run: ``python examples/accelerate_gan.py [--mixed-precision no|bf16] [--steps N]``. Gradient
accumulation (``accelerator.accumulate``) does not apply: it sums ``.grad`` over micro-batches,
which a closure-driven optimizer never reads, and accelerate's wrapper calls the optimizer only on
the micro-batch where it synchronises, so the other micro-batches' closures are never evaluated
(a k times larger batch in the closure is the equivalent). For float16, run
``mixed_precision="no"``, autocast inside the closure and build the optimizer with
``loss_scaling=True``.
"""

from __future__ import annotations

import argparse

from accelerate import Accelerator
from ring_gan import RingBatches, ogan_value, players

from cgd_optim import ACGD


def train(steps: int = 20, mixed_precision: str = "no", *, seed: int = 0):
    """``steps`` ACGD steps of the ring GAN prepared by accelerate; returns (G, D)."""
    accelerator = Accelerator(cpu=True, mixed_precision=mixed_precision)
    G, D = players(seed)
    optimizer = ACGD(G.parameters(), D.parameters(), lr=1e-3)
    G, D, optimizer = accelerator.prepare(G, D, optimizer)
    batches = RingBatches(steps)
    for k in range(steps):
        real, z = (t.to(accelerator.device) for t in batches[k])
        optimizer.step(lambda real=real, z=z: ogan_value(G, D, real, z))
    return accelerator.unwrap_model(G), accelerator.unwrap_model(D)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--mixed-precision", default="no", choices=["no", "bf16"])
    args = parser.parse_args()
    G, D = train(args.steps, args.mixed_precision)
    real, z = RingBatches(1)[0]
    print(f"value after {args.steps} steps: {ogan_value(G, D, real, z).item():.4f}")
