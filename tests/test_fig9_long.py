"""ICR Fig. 9 at a long horizon: the width of the MNIST networks, the critic's diagnostics, the
pilot's plateau rule, the divergence rule and the arms of the long grid."""

import json
import math
from pathlib import Path

import pytest
import torch

from gan_experiments.config import ConfigError, bundled_configs, resolve_config
from gan_experiments.experiment import build
from gan_experiments.icr import fig9
from gan_experiments.losses import as_min_max
from gan_experiments.models.icr_mnist import ICRMNISTDiscriminator, ICRMNISTGenerator
from gan_experiments.records import RunFolder
from gan_experiments.registry import check

LONG_ARMS = sorted(name for name in bundled_configs() if name.endswith("_mnistlong"))
ROOT = Path(__file__).resolve().parents[1]
HORIZON = 10_000  # the protocol's: the floor, since the pilot found no plateau (docs/experiments.md)


def table_parameter_counts(d: int, latent: int = 96) -> tuple[int, int]:
    """Tables 1-2 of App. A.3 with every channel and hidden unit count scaled by d / 64."""
    hidden, grid = 16 * d, 2 * d * 7 * 7
    generator = (
        (latent + 1) * hidden
        + 2 * hidden  # Linear, BN
        + (hidden + 1) * grid
        + 2 * grid  # Linear, BN
        + 2 * d * d * 16
        + d
        + 2 * d  # ConvT 4x4, BN
        + d * 16
        + 1  # ConvT 4x4 to one channel
    )
    discriminator = (
        (25 + 1) * (d // 2)  # Conv 5x5 from one channel
        + (d // 2 * 25 + 1) * d  # Conv 5x5
        + (d * 16 + 1) * hidden  # Linear from d x 4 x 4
        + hidden
        + 1
    )
    return generator, discriminator


@pytest.mark.parametrize("width", [64, 8])
def test_the_width_scales_every_layer_of_tables_1_and_2(width):
    generator, discriminator = ICRMNISTGenerator(width=width), ICRMNISTDiscriminator(width=width)
    counts = tuple(sum(p.numel() for p in m.parameters()) for m in (generator, discriminator))
    assert counts == table_parameter_counts(width)
    if width == 64:  # the tables themselves: 1024 hidden units, 128 x 7 x 7, 32 and 64 channels
        # by hand from the tables: 97*1024 + 2048 + 1025*6272 + 12544 + (131072 + 64) + 128 + 1025, and
        # (25 + 1)*32 + (800 + 1)*64 + 1025*1024 + 1025
        assert counts == (6_675_009, 1_102_721)
        assert discriminator.features[0].out_channels == 32 and discriminator.head[0].out_features == 1024
        assert generator.dense[3].out_features == 128 * 49
    images = generator(torch.randn(3, 96))
    assert images.shape == (3, 1, 28, 28) and discriminator(images).shape == (3,)
    with pytest.raises(ValueError, match="even width of at least 2, got 7"):
        ICRMNISTGenerator(width=7)


def test_the_default_width_draws_the_same_weights_as_before_the_key():
    torch.manual_seed(3)
    default = ICRMNISTGenerator().state_dict()
    torch.manual_seed(3)
    tables = ICRMNISTGenerator(width=64).state_dict()
    assert all(torch.equal(default[k], tables[k]) for k in default)


def diagnosed_run(overrides=()):
    config, _ = resolve_config("standard_ring8", ["run.critic_diagnostics=true", 'run.loss="wgan"', *overrides])
    return build(config)


def test_the_critic_diagnostics_are_the_games_value_and_touch_nothing():
    run = diagnosed_run()  # spectral normalisation: a forward pass in training mode moves its vectors
    run.session.train_step()
    before = {k: v.clone() for k, v in run.players.state_dict().items()}
    real, z, draws = run.diagnostic_batch()
    values = run.players.critic_diagnostics(real, z, draws)
    assert all(torch.equal(before[k], v) for k, v in run.players.state_dict().items())
    # the WGAN value at the batch is the gap of the critic's means, and its gradient the generator's
    with torch.no_grad():
        real_again, z_again, _ = run.diagnostic_batch()
    assert torch.equal(real, real_again) and torch.equal(z, z_again)  # a fixed batch
    from gan_experiments.models import buffers_kept

    with buffers_kept(run.players):
        f = as_min_max(run.players.objective(real, z))[0]
        gradients = torch.autograd.grad(f, run.players.min_parameters())
    assert values["critic_real"] - values["critic_fake"] == pytest.approx(f.item(), rel=1e-6, abs=1e-7)
    norm = math.sqrt(sum(float(g.square().sum()) for g in gradients))
    assert values["generator_gradient_norm"] == pytest.approx(norm, rel=1e-6)


def test_a_run_with_the_diagnostics_trains_exactly_as_one_without():
    runs = {key: diagnosed_run([f"run.critic_diagnostics={key}"]) for key in ("true", "false")}
    for _ in range(3):
        for key, run in runs.items():
            run.session.train_step()
            row = run.evaluate(run.session.step_count)
            assert set(fig9.CRITIC) <= set(row) if key == "true" else not set(fig9.CRITIC) & set(row)
    states = {key: run.players.state_dict() for key, run in runs.items()}
    assert all(torch.equal(states["true"][k], states["false"][k]) for k in states["false"])


def test_the_diagnostics_are_refused_where_the_players_have_no_single_critic():
    with pytest.raises(ConfigError, match=r"run\.critic_diagnostics = true in a .sgan. run: only standard"):
        check(resolve_config("sgan_fig3_ring8", ["run.critic_diagnostics=true"])[0])


def rows_of(scores, start=100, every=100, **extra):
    return [{"step": start + every * k, fig9.SCORE: s, **extra} for k, s in enumerate(scores)]


def test_the_plateau_rule_finds_where_a_ramp_has_flattened():
    # IS = min(step / 1000, 8): the mean of five evaluations reaches 7.8 at step 8,000 and 8 at 8,400;
    # a change below 3 % over [3H/4, H] needs S(3H/4) > 8 / 1.03 = 7.77, i.e. 3H/4 >= 8,000: H = 10,700
    ramp = rows_of([min((100 + 100 * k) / 1000, 8.0) for k in range(200)])
    assert fig9.flat_horizon([ramp], minimum=10_000) == 10_700
    assert fig9.flat_horizon([ramp], minimum=12_000) == 12_000
    assert fig9.last_quarter_change(ramp, 10_600) == pytest.approx((8 - 7.7) / 7.7)
    rising = rows_of([1 + k / 20 for k in range(200)])  # never flat: +25 % over each last quarter
    assert fig9.flat_horizon([ramp, rising], minimum=10_000) is None


def test_the_divergence_rule():
    assert fig9.divergence(rows_of([1.0, 2.0, 4.0, 3.0, 2.1])) is None
    assert fig9.divergence(rows_of([1.0, 2.0, 4.0, 3.0, 1.9, 4.0])) == 500  # below half the peak so far
    nan_row = rows_of([1.0, 2.0, 2.5], f_min=1.0)
    nan_row[1]["f_min"] = math.nan
    assert fig9.divergence(nan_row) == 200


def test_the_long_arms_share_everything_but_loss_optimizer_and_regulariser():
    configs = {
        name.removeprefix("icr_fig9").removesuffix("_mnistlong"): resolve_config(name, [])[0] for name in LONG_ARMS
    }
    assert set(configs) == {"wganoutside", "wganadam", "baseline", "sn", "extraadam", "optimisticadam"}
    assert all(arm in fig9.ARMS for arm in configs)
    shared = {(str(c.model), c.run.steps, c.run.batch_size, c.run.eval_every, c.run.samples) for c in configs.values()}
    assert len(shared) == 1 and all(c.run.critic_diagnostics for c in configs.values())
    assert {c.model.width for c in configs.values()} == {8} and {c.optimizer.lr for c in configs.values()} == {1e-4}
    for rival, optimizer in (("extraadam", "extra_adam"), ("optimisticadam", "optimistic_adam")):
        c = configs[rival]
        assert (c.run.optimizer, c.run.loss, tuple(c.optimizer.betas), c.optimizer.eps) == (
            optimizer,
            "wgan",
            (0.5, 0.9),
            1e-8,
        )
    acgd = configs["wganoutside"].optimizer
    assert (acgd.eps_placement, acgd.eps, acgd.tol, acgd.atol, acgd.tol_convention) == (
        "outside",
        1e-5,
        1e-10,
        1e-16,
        "squared",
    )
    assert configs["baseline"].optimizer.critic_steps == 5 and configs["sn"].loss.spectral_norm


def test_the_long_grids_table_counts_divergence_and_the_rivals(tmp_path):
    levels = {"wganoutside": 6.0, "wganadam": 3.0, "baseline": 4.0, "sn": 4.5, "extraadam": 5.0, "optimisticadam": 7.0}
    grid = {}
    for arm, level in levels.items():
        for seed in range(3):
            scores = [min(level, level * k / 10) + 0.01 * seed for k in range(1, 41)]
            if arm == "wganadam" and seed == 1:
                scores[-3:] = [1.0, 1.0, 1.0]  # collapses: below half its peak at the 38th evaluation
            grid.setdefault(arm, {})[seed] = [
                {
                    **row,
                    fig9.DISTANCE: 100 / row[fig9.SCORE],
                    "critic_real": 1.0 + k,
                    "critic_fake": -1.0 - k,
                    "generator_gradient_norm": 0.5 + k,
                    "seconds": k,
                    "gradient_evaluations": 2 * k,
                }
                for k, row in enumerate(rows_of(scores))
            ]
    summary = fig9.summary(grid)  # the fig9 command's summary (its drawing is tested with the 400-iteration grid)
    assert summary["arms"]["wganadam"]["diverged_at"] == {"0": None, "1": 3800, "2": None}
    assert summary["arms"]["sn"]["last_quarter_change"]["0"] == 0.0
    assert summary["arms"]["optimisticadam"]["peaks"] == pytest.approx({"0": 7.0, "1": 7.01, "2": 7.02})
    assert summary["rivals"]["extraadam"] == {"seeds": 3, "acgd_ahead": 3, "rival_ahead": 0}
    assert summary["rivals"]["optimisticadam"] == {"seeds": 3, "acgd_ahead": 0, "rival_ahead": 3}
    assert summary["verdicts"]["wganoutside"]["verdict"] == "reproduced"
    printed = fig9.table(summary)
    assert "against WGAN-NOREG+OptimisticAdam: ahead by more than the spread in 0 of 3 seeds, behind in 3" in printed
    assert "| - / 3800 / - |" in printed
    assert fig9.draw_critic(grid, tmp_path / "critic.png") and (tmp_path / "critic.png").stat().st_size > 0
    assert not fig9.draw_critic({"sn": {0: rows_of([1.0, 2.0])}}, tmp_path / "none.png")


def test_the_committed_long_grid_reached_the_horizon_and_is_what_the_docs_report():
    """Every arm's committed runs (seeds 0-2) reach the protocol's horizon under their bundled config,
    and docs/experiments.md's verdict line and table are what ``fig9`` reads from them."""
    results = ROOT / "benchmarks" / "results" / "icr_fig9_mnist_long"
    grid = fig9.load_grid(results)
    assert sorted(f"icr_fig9{arm}_mnistlong" for arm in grid) == LONG_ARMS
    for arm, runs in grid.items():
        assert sorted(runs) == [0, 1, 2], arm
        assert [rows[-1]["step"] for rows in runs.values()] == [HORIZON] * 3, arm
        for seed in runs:
            recorded = resolve_config(
                str(results / f"icr_fig9{arm}_mnistlong" / "default" / f"seed{seed}" / "config.toml"), []
            )
            bundled = resolve_config(f"icr_fig9{arm}_mnistlong", ['run.device="cpu"', f"run.seed={seed}"])
            assert recorded[0] == bundled[0], (arm, seed)
    result = fig9.summary(grid)
    docs = (ROOT / "docs" / "experiments.md").read_text()
    verdict = result["verdicts"]["wganoutside"]["verdict"]
    assert f"**Verdict (ICR Fig. 9, MNIST, long horizon):** {verdict}\n" in docs
    for line in fig9.table(result).splitlines():
        assert line in docs, line


class BilinearPlayers(torch.nn.Module):
    """f(x, y) = xᵀB y + aᵀx + bᵀy as a framework's players (zero-sum, no data)."""

    def __init__(self, seed: int, n: int = 5, m: int = 4):
        super().__init__()
        draws = torch.Generator().manual_seed(seed)
        self.x = torch.nn.Parameter(torch.randn(n, generator=draws, dtype=torch.float64))
        self.y = torch.nn.Parameter(torch.randn(m, generator=draws, dtype=torch.float64))
        self.register_buffer("B", torch.randn(n, m, generator=draws, dtype=torch.float64))
        self.register_buffer("a", torch.randn(n, generator=draws, dtype=torch.float64))
        self.register_buffer("b", torch.randn(m, generator=draws, dtype=torch.float64))

    def min_parameters(self):
        return [self.x]

    def max_parameters(self):
        return [self.y]

    def objective(self, real, z, noise=None):
        return self.x @ self.B @ self.y + self.a @ self.x + self.b @ self.y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", ["CGD", "ACGD"])
def test_the_coupling_is_the_closed_form_of_a_bilinear_game(seed, method):
    """On f = xᵀBy + aᵀx + bᵀy, D_xy f = B: the coupling is λ_max(A_x^½ B A_y Bᵀ A_x^½) and the
    competitive step is the closed form of ACGD's Algorithm 1 with diagonal step sizes A."""
    import cgd_optim
    from gan_experiments.icr.coupling import coupling

    players = BilinearPlayers(seed)
    optimizer = getattr(cgd_optim, method)([players.x], [players.y], lr_min=0.3, lr_max=0.2)
    result = coupling(players, optimizer, None, None, lanczos_steps=5)
    grad_x, grad_y = players.B @ players.y.detach() + players.a, players.B.T @ players.x.detach() + players.b
    if method == "CGD":
        eta_x, eta_y = torch.full_like(grad_x, 0.3), torch.full_like(grad_y, 0.2)
    else:  # the first step: v̂ = g², eta = lr / (|g| + eps)
        eps = optimizer.defaults["eps"]
        eta_x, eta_y = 0.3 / (grad_x.abs() + eps), 0.2 / (grad_y.abs() + eps)
    root, coupled = eta_x.sqrt(), eta_x.sqrt()[:, None] * players.B * eta_y.sqrt()
    assert result["coupling"] == pytest.approx(float(torch.linalg.matrix_norm(coupled, 2)) ** 2, rel=1e-9)
    system = torch.eye(5, dtype=torch.float64) + coupled @ coupled.T
    dx = -root * torch.linalg.solve(system, root * (grad_x + players.B @ (eta_y * grad_y)))
    dy = eta_y * (grad_y + players.B.T @ dx)
    plain_x, plain_y = -eta_x * grad_x, eta_y * grad_y
    assert result["min_step_change"] == pytest.approx(float((dx - plain_x).norm() / plain_x.norm()), rel=1e-6)
    assert result["max_step_change"] == pytest.approx(float((dy - plain_y).norm() / plain_y.norm()), rel=1e-6)
    assert optimizer.state_dict()["state"] == {}  # measured, not stepped


def test_the_coupling_of_a_run_folder_reads_its_checkpoint_and_changes_nothing(tmp_path, capsys):
    from gan_experiments.config import dumps
    from gan_experiments.icr import coupling

    small = ["run.batch_size=16", "model.generator_hidden=16", "loss.spectral_norm=false", 'run.loss="wgan"']
    config = resolve_config("standard_ring8", ['run.optimizer="acgd"', *small])[0]
    trained = build(config)
    for _ in range(2):
        trained.session.train_step()
    folder = RunFolder(tmp_path / "acgd")
    folder.create()
    (folder.path / "config.toml").write_text(dumps(config))
    folder.save_checkpoint(trained.session.state_dict())
    saved = folder.checkpoint.read_bytes()
    assert coupling.main([str(folder.path), "--lanczos", "8", "--json", str(tmp_path / "c.json")]) == 0
    assert "acgd: step 2, coupling |K|^2" in capsys.readouterr().out
    measured = json.loads((tmp_path / "c.json").read_text())[str(folder.path)]
    assert folder.checkpoint.read_bytes() == saved
    # the restored run measures what the run that wrote the checkpoint measures
    direct = coupling.coupling(trained.players, trained.session.optimizer, *trained.diagnostic_batch(), lanczos_steps=8)
    assert measured == {"step": 2, **direct} and measured["coupling"] > 0
    adam = build(resolve_config("standard_ring8", small)[0])
    with pytest.raises(TypeError, match=r"competitive optimizer \(CGD, ACGD\), got AdamPair"):
        coupling.coupling(adam.players, adam.session.optimizer, *adam.diagnostic_batch())
