"""Data-parallel steps (process_group="auto") with two gloo processes: bitwise equal on both
ranks, equal to one process stepping on the whole batch to 1e-9, a NaN on one rank raised on both."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import distributed_cases as cases
import pytest
import torch

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(out: Path, world: int = 2) -> list[dict]:
    """Start the ranks, kill every one by pid after TIMEOUT_S (a hung collective cannot stall CI)."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "distributed_cases.py"), str(out), str(rank), str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for rank in range(world)
    ]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=TIMEOUT_S)[0].decode())
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        pytest.fail(f"the ranks did not finish within {TIMEOUT_S} s (killed)")
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output[-3000:]
    return [torch.load(out / f"rank{rank}.pt", weights_only=False) for rank in range(world)]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_ranks(tmp_path_factory.mktemp("ranks"))


def assert_nested(ours, reference, tensors_match, where=""):
    """The same nesting of dicts, lists and tuples; tensors by ``tensors_match``, the rest exactly equal."""
    if isinstance(reference, torch.Tensor):
        assert tensors_match(ours, reference), where
    elif isinstance(reference, dict):
        assert ours.keys() == reference.keys(), where
        for key in reference:
            assert_nested(ours[key], reference[key], tensors_match, f"{where}/{key}")
    elif isinstance(reference, (list, tuple)):
        assert len(ours) == len(reference), where
        for k, (x, y) in enumerate(zip(ours, reference)):
            assert_nested(x, y, tensors_match, f"{where}/{k}")
    else:
        assert ours == reference, where


def assert_bitwise_equal(a, b, where=""):
    assert_nested(a, b, torch.equal, where)


def within_1e9_of_its_norm(ours, reference) -> bool:
    """Floating tensors within 1e-9 of the reference's norm; others exactly equal."""
    if reference.is_floating_point() and reference.numel() > 0:
        return float((ours - reference).norm()) <= 1e-9 * max(float(reference.norm()), 1e-300)
    return torch.equal(ours, reference)


def assert_state_close(ours, reference, where=""):
    """Tensors within 1e-9 of their own norm; everything else exactly equal."""
    assert_nested(ours, reference, within_1e9_of_its_norm, where)


@pytest.mark.parametrize("name", [*cases.OPTIMIZERS, "acgd_ddp"])
def test_two_ranks_take_the_full_batch_step_bitwise_alike(ranks, name):
    assert_bitwise_equal(ranks[0][name], ranks[1][name])
    reference = cases.run(name.removesuffix("_ddp"), process_group=None)  # one process, the whole batch
    for player in (slice(0, 4), slice(4, 8)):  # G's four tensors, then D's
        ends, starts, ours = (
            result[player] for result in (reference["end"], reference["start"], ranks[0][name]["end"])
        )
        moved = torch.cat([(e - s).reshape(-1) for e, s in zip(ends, starts)]).norm()
        gap = torch.cat([(a - b).reshape(-1) for a, b in zip(ours, ends)]).norm()
        assert float(gap) <= 1e-9 * float(moved), (name, player)
    assert_state_close(ranks[0][name]["state"], reference["state"], name)
    # the solves' decisions are the full batch's; the residual itself sits at round-off (tol 1e-12)
    for key in ("iterations", "hvp_count", "converged"):
        assert_bitwise_equal(ranks[0][name]["stats"].get(key), reference["stats"].get(key), key)


def test_a_nan_on_one_rank_raises_on_both_and_changes_nothing(ranks):
    assert all(rank["non_finite"] == {"raised": True, "unchanged": True} for rank in ranks)


def test_process_group_none_does_not_communicate(ranks):
    for rank, result in enumerate(ranks):
        alone = cases.run("acgd", rank, 2, process_group=None)  # the shard, no other process
        assert_bitwise_equal(result["acgd_no_group"]["end"], alone["end"])


def test_a_group_initialized_after_the_optimizer_is_used_and_states_load_without_a_group(ranks):
    assert_bitwise_equal(ranks[0]["acgd_built_before_the_group"], ranks[0]["acgd"])
    G, D = cases.players()
    fresh = cases.OPTIMIZERS["acgd"][0](G, D, "auto")
    fresh.load_state_dict(ranks[0]["acgd"]["state"])  # saved under world size 2, loaded in one process
    assert fresh.process_group == "auto" and "process_group" not in fresh.param_groups[0]
    assert_bitwise_equal(fresh.state_dict(), ranks[0]["acgd"]["state"])  # everything saved was loaded
