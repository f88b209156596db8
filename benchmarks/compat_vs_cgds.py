"""cgd_optim.compat (ACGD, BCGD, GACGD) against the ICR authors' cgds, side by side in one process.

    python -m benchmarks.compat_vs_cgds [--steps 8] [--warmup 2] [--width 32] [--device cpu]
                                        [--out benchmarks/results/compat_vs_cgds_cpu.json]

On the ICR DCGAN (float32, WGAN loss, batch 64) from identical weights on identical batches,
with the authors' training-script settings (lr 1e-4 both players, tol 1e-10, atol 1e-14 on the
squared residual; GACGD at most 50 GMRES iterations, its default being the system's size), each
step of ours and of theirs alternates which goes first. It reports median step times, their
ratio with a 90 % bootstrap interval, Hessian-vector products (HVPs) per step and how far the two
runs' parameters are apart at the end (relative to the distance moved).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import warnings
from pathlib import Path

import torch

from cgd_optim import compat

from . import problems
from .acgd_vs_cgds import CountingHvp, flat_params
from .measure import median, ratio_of_medians_interval, timed

SCRIPT = dict(tol=1e-10, atol=1e-14)


def pairs(lr: float) -> dict:
    """name -> (make ours, make theirs, general-sum) for one DCGAN instance each."""
    import CGDs

    two = dict(lr_max=lr, lr_min=lr, **SCRIPT)
    joint = dict(lr_x=lr, lr_y=lr, max_iter=50, **SCRIPT)
    return {
        "ACGD": (
            lambda g: compat.ACGD(g.max_params, g.min_params, **two),
            lambda g: CGDs.ACGD(g.max_params, g.min_params, **two),
            False,
        ),
        "BCGD": (
            lambda g: compat.BCGD(g.max_params, g.min_params, **two),
            lambda g: CGDs.BCGD(g.max_params, g.min_params, **two),
            False,
        ),
        "GACGD": (
            lambda g: compat.GACGD(g.min_params, g.max_params, **joint),
            lambda g: CGDs.GACGD(g.min_params, g.max_params, **joint),
            True,
        ),
    }


def step_once(optimizer, game, step: int, general: bool) -> None:
    value = game.value(game.batch(step))
    with contextlib.redirect_stdout(io.StringIO()):  # cgds prints
        optimizer.step(value, -value) if general else optimizer.step(value)


def compare(name: str, args, counter: CountingHvp) -> dict:
    make_ours, make_theirs, general = pairs(args.lr)[name]
    build = lambda: problems.dcgan(torch.float32, 0, width=args.width, device=args.device)  # noqa: E731
    games = {"ours": build(), "theirs": build()}
    optimizers = {"ours": make_ours(games["ours"]), "theirs": make_theirs(games["theirs"])}
    times, hvps = {"ours": [], "theirs": []}, {"ours": [], "theirs": []}
    start = flat_params(games["ours"])
    device = torch.device(args.device)
    for step in range(args.warmup + args.steps):
        order = ("ours", "theirs") if step % 2 == 0 else ("theirs", "ours")
        for who in order:
            before = counter.calls
            seconds, _ = timed(lambda: step_once(optimizers[who], games[who], step, general), device)
            if step >= args.warmup:
                times[who].append(seconds)
                hvps[who].append(
                    int(optimizers[who].step_stats["hvp_count"]) if who == "ours" else counter.calls - before
                )
    moved = flat_params(games["ours"]) - start
    low, high = ratio_of_medians_interval(times["theirs"], times["ours"])
    return {
        "ours_s": median(times["ours"]),
        "theirs_s": median(times["theirs"]),
        "speedup": median(times["theirs"]) / median(times["ours"]),
        "speedup_interval_90": [low, high],
        "hvps_ours": hvps["ours"],
        "hvps_theirs": hvps["theirs"],
        "final_relative_difference": float(
            (flat_params(games["ours"]) - flat_params(games["theirs"])).norm() / moved.norm()
        ),
    }


def cgds_against_itself(args) -> float:
    """|theirs(1 thread) - theirs(2 threads)| / |moved| after all steps: how far float32 round-off
    alone (a different summation order) takes two runs of cgds's own ACGD apart."""
    make_theirs = pairs(args.lr)["ACGD"][1]
    games = [problems.dcgan(torch.float32, 0, width=args.width, device=args.device) for _ in range(2)]
    optimizers = [make_theirs(game) for game in games]
    start, threads = flat_params(games[0]), torch.get_num_threads()
    try:
        for step in range(args.warmup + args.steps):
            for count, (game, optimizer) in zip((1, 2), zip(games, optimizers)):
                torch.set_num_threads(count)
                step_once(optimizer, game, step, False)
    finally:
        torch.set_num_threads(threads)
    moved = flat_params(games[0]) - start
    return float((flat_params(games[0]) - flat_params(games[1])).norm() / moved.norm())


def counting_every_class() -> CountingHvp:
    """CountingHvp also in the modules of cgds's BCGD and GACGD, which import Hvp_vec themselves."""
    import CGDs.acgd
    import CGDs.cgd
    import CGDs.gmres_acgd

    counter = CountingHvp()
    CGDs.cgd.Hvp_vec = CGDs.gmres_acgd.Hvp_vec = CGDs.acgd.Hvp_vec
    return counter


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compat_vs_cgds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    counter = counting_every_class()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {name: compare(name, args, counter) for name in ("ACGD", "BCGD", "GACGD")}
        itself = cgds_against_itself(args) if args.device == "cpu" else float("nan")
    print(f"ICR DCGAN width {args.width}, float32, {args.device}, {args.steps} steps after {args.warmup}:")
    print(
        f"{'class':6s} {'ours s':>8s} {'cgds s':>8s} {'speed-up (90% CI)':>22s} "
        f"{'HVPs ours/cgds (median)':>24s} {'|diff|/|moved|':>15s}"
    )
    for name, r in results.items():
        interval = "[{:.2f}, {:.2f}]".format(*r["speedup_interval_90"])
        products = f"{median(r['hvps_ours']):.0f} / {median(r['hvps_theirs']):.0f}"
        print(
            f"{name:6s} {r['ours_s']:8.3f} {r['theirs_s']:8.3f} {r['speedup']:8.2f}x {interval:>13s} "
            f"{products:>24s} {r['final_relative_difference']:15.2e}"
        )
    print(f"cgds's ACGD against itself, 1 thread vs 2 (float32 summation order only): |diff|/|moved| {itself:.2e}")
    if args.out is not None:
        args.out.write_text(
            json.dumps(
                {
                    "settings": vars(args) | {"out": str(args.out)},
                    "results": results,
                    "cgds_acgd_1_vs_2_threads": itself,
                },
                indent=2,
            )
        )
    return results


if __name__ == "__main__":
    main()
