"""ACGD inside PyTorch Lightning: manual optimization, one closure per step.

Run: ``python examples/lightning_gan.py [--precision 32-true|bf16-mixed|float16] [--steps N]``.
Lightning's ``16-mixed`` hands every step to a GradScaler, which needs ``.grad`` and refuses
closures, so it stops at the first step; for float16 the Trainer runs at ``32-true`` and the
closure autocasts to float16 itself, with the optimizer's own ``loss_scaling=True``
(``--precision float16`` here).
"""

from __future__ import annotations

import argparse

import lightning as L
import torch
from ring_gan import RingBatches, ogan_value, players
from torch.utils.data import DataLoader

from cgd_optim import ACGD


class GAN(L.LightningModule):
    """A GAN trained by ACGD under manual optimization: the closure returns the value, no backward()."""

    def __init__(self, lr: float = 1e-3, *, float16: bool = False) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.G, self.D = players()
        self.lr, self.float16 = lr, float16

    def configure_optimizers(self):
        return ACGD(self.G.parameters(), self.D.parameters(), lr=self.lr, loss_scaling=self.float16)

    def training_step(self, batch, batch_idx):
        real, z = batch

        def closure():
            with torch.autocast(real.device.type, dtype=torch.float16, enabled=self.float16):
                return ogan_value(self.G, self.D, real, z)

        value = self.optimizers().step(closure=closure)
        self.log("value", value.detach(), prog_bar=False)
        return value


def train(steps: int = 20, precision: str = "32-true") -> GAN:
    """``steps`` ACGD steps of the GAN through a Lightning Trainer; returns the trained module."""
    float16 = precision == "float16"
    model = GAN(float16=float16)
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        devices=1,
        precision="32-true" if float16 else precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, DataLoader(RingBatches(steps), batch_size=None))
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed", "float16"])
    args = parser.parse_args()
    model = train(args.steps, args.precision)
    real, z = RingBatches(1)[0]
    print(f"value after {args.steps} steps: {ogan_value(model.G, model.D, real, z).item():.4f}")
