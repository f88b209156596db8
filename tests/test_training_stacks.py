"""cgd_optim in the stacks GAN users train with: PyTorch Lightning (manual optimization), Hugging
Face accelerate, torch.compile; the examples/ folder runs."""

import copy
import runpy
import sys
from pathlib import Path

import pytest
import torch
from dependencies import required

from cgd_optim import ACGD, SimGD

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))
L = required("lightning")
accelerate = required("accelerate")
ring_gan = pytest.importorskip("ring_gan")  # examples/ (on the path above)
lightning_gan = pytest.importorskip("lightning_gan")
accelerate_gan = pytest.importorskip("accelerate_gan")


def plain_loop(steps: int):
    """The same ACGD steps on the same batches without any framework."""
    G, D = ring_gan.players()
    optimizer = ACGD(G.parameters(), D.parameters(), lr=1e-3)
    batches = ring_gan.RingBatches(steps)
    for k in range(steps):
        real, z = batches[k]
        optimizer.step(lambda real=real, z=z: ring_gan.ogan_value(G, D, real, z))
    return G, D


def parameters(*modules):
    return [p.detach() for m in modules for p in m.parameters()]


def test_lightning_manual_optimization_at_32_true_is_bitwise_the_plain_loop():
    model = lightning_gan.train(5, "32-true")
    G, D = plain_loop(5)
    assert all(torch.equal(a, b) for a, b in zip(parameters(model.G, model.D), parameters(G, D)))


@pytest.mark.parametrize("precision", ["bf16-mixed", "float16"])
def test_lightning_bf16_mixed_and_float16_with_loss_scaling_train_in_their_precision(precision):
    """The low-precision forward reaches the closure (the run differs from 32-true's) and the
    players move as at 32-true (ACGD's first steps divide each gradient by its own size, so only
    the direction is compared; float16's first step overflows at the initial scale and is skipped)."""
    model = lightning_gan.train(5, precision)
    G, D = plain_loop(5)
    start = parameters(*ring_gan.players())
    moved = torch.cat([(a - b).reshape(-1) for a, b in zip(parameters(model.G, model.D), start)])
    reference = torch.cat([(a - b).reshape(-1) for a, b in zip(parameters(G, D), start)])
    assert bool(torch.isfinite(moved).all()) and not torch.equal(moved, reference)
    assert float(torch.nn.functional.cosine_similarity(moved, reference, dim=0)) > 0.8


def test_lightnings_16_mixed_grad_scaler_path_stops_at_the_first_step_with_nothing_changed():
    from lightning.pytorch.plugins import MixedPrecision

    model = lightning_gan.GAN()
    start = copy.deepcopy(parameters(model.G, model.D))
    trainer = L.Trainer(
        max_steps=3,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        plugins=[MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu"))],
    )
    with pytest.raises(AssertionError, match="_scale is None"):  # torch's GradScaler: it needs scaler.scale(loss)
        trainer.fit(model, torch.utils.data.DataLoader(ring_gan.RingBatches(3), batch_size=None))
    assert all(torch.equal(a, b) for a, b in zip(start, parameters(model.G, model.D)))


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """accelerate keeps one process-wide state; each test builds its own Accelerator."""
    yield
    accelerate.state.AcceleratorState._reset_state(reset_partial_state=True)


@pytest.mark.parametrize("mixed_precision", ["no", "bf16"])
def test_accelerate_prepared_networks_and_optimizer_train_as_the_plain_loop(mixed_precision):
    G, D = accelerate_gan.train(5, mixed_precision)
    G0, D0 = plain_loop(5)
    start = parameters(*ring_gan.players())
    moved = torch.cat([(a - b).reshape(-1) for a, b in zip(parameters(G, D), start)])
    reference = torch.cat([(a - b).reshape(-1) for a, b in zip(parameters(G0, D0), start)])
    if mixed_precision == "no":
        assert torch.equal(moved, reference)
    else:  # accelerate's bf16 autocast reaches the closure
        assert not torch.equal(moved, reference)
        assert float(torch.nn.functional.cosine_similarity(moved, reference, dim=0)) > 0.8


def test_accelerate_accumulate_steps_only_on_the_synchronising_micro_batch():
    accelerator = accelerate.Accelerator(cpu=True, gradient_accumulation_steps=2)
    G, D = ring_gan.players()
    optimizer = ACGD(G.parameters(), D.parameters(), lr=1e-3)
    G, D, optimizer = accelerator.prepare(G, D, optimizer)
    moved, evaluated = [], []
    for k in range(4):
        real, z = ring_gan.RingBatches(4)[k]
        before = [p.clone() for p in parameters(G)]
        with accelerator.accumulate(G):
            optimizer.step(lambda real=real, z=z, k=k: evaluated.append(k) or ring_gan.ogan_value(G, D, real, z))
        moved.append(not all(torch.equal(a, b) for a, b in zip(before, parameters(G))))
    assert moved == [False, True, False, True] and evaluated == [1, 3]  # micro-batches 0 and 2 never seen


def test_a_compiled_player_is_refused_by_acgd_naming_torch_compile_and_trains_with_simgd():
    G, D = ring_gan.players()
    compiled = torch.compile(G, backend="aot_eager")
    real, z = ring_gan.RingBatches(1)[0]
    optimizer = ACGD(G.parameters(), D.parameters(), lr=1e-3)
    start = copy.deepcopy(parameters(G, D))
    with pytest.raises(RuntimeError, match=r"torch\.compile-d module.*double backward.*leave the players uncompiled"):
        optimizer.step(lambda: ring_gan.ogan_value(compiled, D, real, z))
    assert all(torch.equal(a, b) for a, b in zip(start, parameters(G, D))) and not optimizer.state
    simgd = SimGD(G.parameters(), D.parameters(), lr=1e-3)
    simgd.step(lambda: ring_gan.ogan_value(compiled, D, real, z))
    assert not all(torch.equal(a, b) for a, b in zip(start, parameters(G, D)))


@pytest.mark.parametrize("script", ["plain_loop.py", "property_test.py"])
def test_the_examples_run(script, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [script, "--steps", "5"])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert "after 5 steps" in capsys.readouterr().out
