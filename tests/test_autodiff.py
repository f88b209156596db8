"""Mixed Hessian-vector products against dense Hessians from torch.func and central differences."""

import torch
from torch.func import hessian

from cgd_optim.autodiff import (
    flat_or_concatenated,
    flatten,
    gradients,
    mixed_hvp,
    mixed_hvp_operator,
    unflatten,
    zeros_for_none,
)
from cgd_optim.games import QuadraticGame
from cgd_optim.testing import leaves


def objective(x1, x2, y):
    return torch.tanh(x1 @ y[:3]) * x2.sum() + (x1**2).sum() * torch.sin(y).sum() + x2[0] * y[3] ** 3


def test_mixed_hvp_matches_the_dense_mixed_hessian():
    g = torch.Generator().manual_seed(0)
    x1, x2, y = (torch.randn(n, generator=g, dtype=torch.float64, requires_grad=True) for n in (3, 2, 4))
    f = objective(x1, x2, y)
    grads = zeros_for_none(gradients(f, [x1, x2, y], create_graph=True), [x1, x2, y])
    joint = lambda z: objective(z[:3], z[3:5], z[5:])  # noqa: E731
    full = hessian(joint)(torch.cat([x1, x2, y]).detach())
    d_xy, d_yx = full[:5, 5:], full[5:, :5]
    v_y = torch.randn(4, generator=g, dtype=torch.float64)
    v_x = torch.randn(5, generator=g, dtype=torch.float64)
    torch.testing.assert_close(mixed_hvp(grads[2:], [x1, x2], v_y), d_xy @ v_y)
    torch.testing.assert_close(mixed_hvp(grads[:2], [y], v_x), d_yx @ v_x)
    # the operator also takes the flat gradient, concatenated by the caller inside the graph
    with torch.enable_grad():
        flat_y, flat_x = flatten(grads[2:]), flatten(grads[:2])
    torch.testing.assert_close(mixed_hvp_operator(flat_y, [x1, x2])(v_y), d_xy @ v_y)
    torch.testing.assert_close(mixed_hvp_operator(flat_x, [y])(v_x), d_yx @ v_x)


def test_parameters_without_a_path_give_zero_blocks():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    unused = torch.randn(2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, dtype=torch.float64, requires_grad=True)
    f = (x * y).sum()  # bilinear: grad_y f = x has no y-dependence
    grads = zeros_for_none(gradients(f, [x, unused, y], create_graph=True), [x, unused, y])
    assert torch.count_nonzero(grads[1]) == 0
    v = torch.arange(3.0, dtype=torch.float64)
    torch.testing.assert_close(
        mixed_hvp(grads[2:], [x, unused], v), torch.cat([v, torch.zeros(2, dtype=torch.float64)])
    )
    # f is linear in `unused`: its gradient has no graph, so it contributes nothing
    torch.testing.assert_close(
        mixed_hvp(grads[:2], [y], torch.ones(5, dtype=torch.float64)), torch.ones(3, dtype=torch.float64)
    )


def test_flat_views_round_trip():
    tensors = [torch.randn(2, 3), torch.randn(()), torch.randn(4)]
    flat = flatten(tensors)
    assert flat.shape == (11,)
    for original, view in zip(tensors, unflatten(flat, tensors)):
        torch.testing.assert_close(view, original)
        assert view.data_ptr() >= flat.data_ptr()  # views into the flat buffer, not copies


def test_flat_or_concatenated_reuses_only_the_exact_flat_tensor_behind_unflatten_views():
    like = [torch.randn(2, 3), torch.randn(()), torch.randn(4)]
    flat = torch.randn(11)
    views = unflatten(flat, like)
    assert flat_or_concatenated(views, like) is flat  # no copy
    larger = torch.randn(20)
    cases = [
        (views[::-1], like[::-1]),  # another order
        ([views[0], None, views[2]], like),  # a piece missing: zeros there
        (unflatten(larger[:11], like), like),  # views of part of a larger tensor
        (unflatten(larger[3:14], like), like),  # ... at an offset
        ([v.clone() for v in views], like),  # copies
    ]
    for pieces, shapes in cases:
        result = flat_or_concatenated(pieces, shapes)
        expected = flatten([torch.zeros_like(t) if p is None else p for p, t in zip(pieces, shapes)])
        assert torch.equal(result, expected)
        assert all(p is None or result.data_ptr() != p.data_ptr() for p in pieces)  # a fresh concatenation


def test_the_transpose_of_the_d_xy_map_is_d_yx_on_the_benchmark_networks():
    """benchmarks/product_routes.py's third route: in a zero-sum game D_yx f = (D_xy f)^T, so the
    vector-Jacobian product of v -> D_xy f v (built with create_graph, through batch norm's double
    backward in the DCGAN's generator) with u is D_yx f u."""
    from benchmarks import problems
    from benchmarks.product_routes import measure

    torch.manual_seed(0)
    for instance in (
        problems.dcgan(torch.float64, width=4, batch_size=4),
        problems.mlp_gan(torch.float64, hidden=8, batch_size=8),
    ):
        row = measure(instance, torch.device("cpu"), repeats=1)
        assert row["transposed_relative_difference"] < 1e-12


def test_mixed_hvp_matches_central_differences_of_the_gradient():
    # D_xy f v = d/dh grad_x f(x, y + h v) at h = 0; the central difference's error is O(h^2)
    g = torch.Generator().manual_seed(1)
    x1, x2, y = (torch.randn(n, generator=g, dtype=torch.float64, requires_grad=True) for n in (3, 2, 4))
    v_y, v_x = torch.randn(4, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)
    grads = zeros_for_none(gradients(objective(x1, x2, y), [x1, x2, y], create_graph=True), [x1, x2, y])
    h = 1e-5

    def grad_x_at(y_shifted):
        return flatten(torch.autograd.grad(objective(x1, x2, y_shifted), [x1, x2]))

    def grad_y_at(x_shifted):
        y_leaf = y.detach().requires_grad_()
        return torch.autograd.grad(objective(x_shifted[:3], x_shifted[3:], y_leaf), y_leaf)[0]

    along_y = (grad_x_at(y.detach() + h * v_y) - grad_x_at(y.detach() - h * v_y)) / (2 * h)
    x = torch.cat([x1, x2]).detach()
    along_x = (grad_y_at(x + h * v_x) - grad_y_at(x - h * v_x)) / (2 * h)
    torch.testing.assert_close(mixed_hvp(grads[2:], [x1, x2], v_y), along_y, rtol=1e-7, atol=1e-8)
    torch.testing.assert_close(mixed_hvp(grads[:2], [y], v_x), along_x, rtol=1e-7, atol=1e-8)


def test_the_objectives_second_derivatives_pass_gradgradcheck():
    g = torch.Generator().manual_seed(2)
    inputs = tuple(torch.randn(n, generator=g, dtype=torch.float64, requires_grad=True) for n in (3, 2, 4))
    assert torch.autograd.gradgradcheck(objective, inputs)
    game = QuadraticGame.random(3, 2, seed=0)
    assert torch.autograd.gradgradcheck(
        game.value, leaves(torch.randn(3, dtype=torch.float64), torch.randn(2, dtype=torch.float64))
    )
