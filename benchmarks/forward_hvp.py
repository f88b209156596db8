"""Forward-over-reverse mixed HVPs (torch.func.jvp of torch.func.grad) against double backward.

The forward-over-reverse product needs each player as a function of its parameters
(``torch.func.functional_call`` on the modules), which a parameter list and a closure do not
give: this is why it was investigated here as a measurement before becoming an optimizer option.
Batch norm's running-statistics update is switched off on copies of the modules
(``torch.func.replace_all_batch_norm_modules_``): the value is unchanged in train mode.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call, grad, jvp, replace_all_batch_norm_modules_

from cgd_optim.autodiff import flatten, gradients, mixed_hvp_operator, zeros_for_none

from . import problems
from .measure import median, timed


class _Bound(nn.Module):
    """Calls ``module`` with the given parameter dict instead of its own."""

    def __init__(self, module: nn.Module, params: dict) -> None:
        super().__init__()
        self.module, self.params = module, params

    def forward(self, *args):
        return functional_call(self.module, self.params, args)


def forward_over_reverse(instance, batch, vector_x: torch.Tensor) -> torch.Tensor:
    r""":math:`D_{yx} f\, v_x` as the directional derivative of :math:`\nabla_y f` along :math:`v_x`."""
    G, D = instance.generator, instance.discriminator
    x_params = {k: v.detach() for k, v in G.named_parameters()}
    y_params = {k: v.detach() for k, v in D.named_parameters()}
    tangent = dict(zip(x_params, torch.split(vector_x, [v.numel() for v in x_params.values()])))
    tangent = {k: t.view_as(x_params[k]) for k, t in tangent.items()}

    def grad_y(xp):
        return grad(lambda yp: instance.value_fn(_Bound(G, xp), _Bound(D, yp), batch))(y_params)

    _, product = jvp(grad_y, (x_params,), (tangent,))
    return flatten(list(product.values()))


def compare(device: torch.device, repeats: int = 5) -> dict:
    """Median time of one D_yx f v product by both methods on the benchmark's neural games."""
    results = {}
    for name in ("dcgan32", "mlp_gan"):
        instance = problems.PROBLEMS[name](torch.float32, 0, device=device)
        generator = copy.deepcopy(instance.generator)
        replace_all_batch_norm_modules_(generator)  # in place: no running-statistics update
        instance.generator = generator
        batch = instance.batch(0)
        xs, ys = instance.min_params, instance.max_params
        grads = zeros_for_none(gradients(instance.value(batch), xs + ys, create_graph=True), xs + ys)
        vector = torch.randn(sum(p.numel() for p in xs), device=device)
        hvp_yx = mixed_hvp_operator(grads[: len(xs)], ys)  # built once, as the solver does
        double, forward = [], []
        for _ in range(repeats):
            seconds, reverse_product = timed(lambda: hvp_yx(vector), device)
            double.append(seconds)
            seconds, forward_product = timed(lambda: forward_over_reverse(instance, batch, vector), device)
            forward.append(seconds)
        results[name] = {
            "double_backward_s": median(double),
            "forward_over_reverse_s": median(forward),
            "ratio": median(forward) / median(double),
            "max_abs_difference": float((reverse_product - forward_product).abs().max()),
        }
    return results
