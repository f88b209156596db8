r"""What each kind of mixed product costs, and whether another autograd route makes D_yx cheaper.

``python -m benchmarks.product_routes`` times, on the benchmark's neural games (median of
alternating repeats, CPU unless ``--device``):

- :math:`D_{xy} f\, v = \nabla_x(\nabla_y f^\top v)` and :math:`D_{yx} f\, u = \nabla_y(\nabla_x
  f^\top u)` by double backward, as the optimizers compute them. Their costs differ: every CG
  iteration needs one of each, but the right-hand side needs one more :math:`D_{xy}` product
  when the system is solved in the min player's space (Algorithm 1), one more :math:`D_{yx}`
  product in the max player's;
- the DCGAN again with its generator's batch norms replaced by identities (how much of the
  difference is batch norm's double backward);
- :math:`D_{yx} f\, u` as the transpose of the linear map :math:`v \mapsto D_{xy} f\, v` in a
  zero-sum game: one :math:`D_{xy}` product of a zero vector ``v0`` built with
  ``create_graph=True`` (once per step), then each product is ``autograd.grad(D_xy v0, v0, u)``.
"""

from __future__ import annotations

import argparse
import json

import torch
from torch import nn

from cgd_optim.autodiff import flatten, gradients, mixed_hvp_operator, zeros_for_none

from . import problems
from .measure import median, timed


def _without_batch_norm(instance: problems.Instance) -> problems.Instance:
    for module in instance.generator.modules():
        for name, child in module.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
    return instance


def measure(instance: problems.Instance, device: torch.device, repeats: int) -> dict:
    """Median seconds of each product on the first batch, and the transposed route's error."""
    xs, ys = instance.min_params, instance.max_params
    grads = zeros_for_none(gradients(instance.value(instance.batch(0)), xs + ys, create_graph=True), xs + ys)
    with torch.enable_grad():
        flat_x, flat_y = flatten(grads[: len(xs)]), flatten(grads[len(xs) :])
    product_xy, product_yx = mixed_hvp_operator(flat_y, xs), mixed_hvp_operator(flat_x, ys)
    v, u = torch.randn_like(flat_y).detach(), torch.randn_like(flat_x).detach()
    zero = torch.zeros_like(v, requires_grad=True)

    def build():
        with torch.enable_grad():
            return flatten(torch.autograd.grad(flat_y, xs, grad_outputs=zero, create_graph=True, retain_graph=True))

    build_s, linear_map = timed(build, device)

    def transposed():
        return torch.autograd.grad(linear_map, zero, grad_outputs=u, retain_graph=True)[0]

    times = {"D_xy": [], "D_yx": [], "D_yx_transposed": []}
    for _ in range(repeats):
        for key, fn in (
            ("D_xy", lambda: product_xy(v)),
            ("D_yx", lambda: product_yx(u)),
            ("D_yx_transposed", transposed),
        ):
            times[key].append(timed(fn, device)[0])
    reference, other = product_yx(u), transposed()
    return {
        **{f"{key}_s": median(values[1:]) for key, values in times.items()},
        "transposed_build_s": build_s,
        "transposed_relative_difference": float((reference - other).abs().max() / reference.abs().max()),
    }


def compare(device: torch.device, repeats: int = 11) -> dict:
    games = {
        "dcgan32": lambda: problems.dcgan(device=device),
        "dcgan32 without batch norm": lambda: _without_batch_norm(problems.dcgan(device=device)),
        "mlp_gan": lambda: problems.mlp_gan(device=device),
    }
    return {name: measure(build(), device, repeats) for name, build in games.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--out", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    results = compare(torch.device(args.device), args.repeats)
    for name, row in results.items():
        print(
            f"{name:28s} D_xy {row['D_xy_s'] * 1e3:7.2f} ms   D_yx {row['D_yx_s'] * 1e3:7.2f} ms "
            f"(x{row['D_yx_s'] / row['D_xy_s']:.2f})   D_yx transposed {row['D_yx_transposed_s'] * 1e3:7.2f} ms "
            f"+ {row['transposed_build_s'] * 1e3:.1f} ms once, relative difference "
            f"{row['transposed_relative_difference']:.1e}"
        )
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
