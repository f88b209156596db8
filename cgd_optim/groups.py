"""A player's parameter groups, as torch.optim takes them: pure helpers of the two-player optimizers.

Each player is given as an iterable of tensors (one group, the player's ``lr``) or as a list of
dicts ``{"params": ..., "lr": ..., ...}`` (several groups, each with its own options, like any
``torch.optim`` optimizer's ``params``). Every group carries ``"player"`` (``"min"`` or
``"max"``). A step works on the trainable parameters of each player in group order, and a group's
per-coordinate options become a flat vector over them (:func:`per_coordinate`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

ROLES = {"min": "min_params", "max": "max_params"}


def as_tensors(params: Iterable[Tensor], role: str) -> list[Tensor]:
    """The tensors of one group, checked: leaves, not a single tensor, not empty."""
    if isinstance(params, Tensor):
        raise TypeError(f"{role} should be an iterable of tensors, got a single tensor; wrap it in a list")
    params = list(params)
    if not params:
        raise ValueError(f"{role} is empty: each player needs at least one parameter")
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{role} must contain tensors, got {type(p).__name__}")
        if not p.is_leaf:
            raise ValueError(f"{role} contains a non-leaf tensor; optimize leaf parameters")
    return params


def player_groups(params: Any, player: str, lr: Any, options: Sequence[str]) -> list[dict[str, Any]]:
    """The param groups of one player: one ``{"params", "player", "lr"}`` for an iterable of tensors,
    or one per dict of a list of dicts, each with the keys it gives among ``params``, ``lr`` and
    ``options`` (its ``lr`` defaulting to the player's); any other key is a ValueError naming it."""
    role = ROLES[player]
    if isinstance(params, Tensor):
        return [{"params": as_tensors(params, role), "player": player, "lr": lr}]
    params = list(params)
    if not params or not all(isinstance(entry, dict) for entry in params):
        if any(isinstance(entry, dict) for entry in params):
            raise TypeError(f"{role}: give tensors or a list of dicts (param groups), not a mixture")
        return [{"params": as_tensors(params, role), "player": player, "lr": lr}]
    groups = []
    for k, entry in enumerate(params):
        unknown = set(entry) - {"params", "lr", "player", *options}
        if unknown:
            raise ValueError(
                f"{role}[{k}] has the keys {sorted(unknown)}, which a group of this optimizer does not take; "
                f"a group may set {', '.join(['lr', *options])}"
            )
        if entry.get("player", player) != player:
            raise ValueError(f"{role}[{k}] says player={entry['player']!r}: it is a group of the {player} player")
        group = {key: value for key, value in entry.items() if key != "params"}
        groups.append(
            {
                "params": as_tensors(entry.get("params", ()), f"{role}[{k}]['params']"),
                **group,
                "player": player,
                "lr": entry.get("lr", lr),
            }
        )
    return groups


def check_disjoint_and_alike(tensors: list[Tensor], players: list[str]) -> None:
    """No tensor twice (within a player or across them), one device, one floating dtype."""
    seen: dict[int, str] = {}
    for p, player in zip(tensors, players):
        if id(p) in seen:
            if seen[id(p)] == player:
                raise ValueError("a parameter appears twice in the same player")
            raise ValueError("the same tensor is in both players (min_params and max_params must be disjoint)")
        seen[id(p)] = player
    devices = {p.device for p in tensors}
    if len(devices) > 1:
        raise ValueError(f"all parameters must be on one device, got {sorted(map(str, devices))}")
    dtypes = {p.dtype for p in tensors}
    if len(dtypes) > 1:
        raise ValueError(f"all parameters must share one dtype, got {sorted(map(str, dtypes))}")
    if not all(p.is_floating_point() for p in tensors):
        raise ValueError("parameters must be floating point tensors")


def per_coordinate(values: list[float], segments: list[list[Tensor]], like: Tensor) -> Tensor:
    """One value per group as a flat tensor over the groups' parameters (``like``'s dtype and
    device); a 0-dim tensor when every group has the same value (what one group gives)."""
    if all(value == values[0] for value in values):
        return torch.tensor(values[0], dtype=like.dtype, device=like.device)
    return torch.cat(
        [like.new_full((sum(p.numel() for p in params),), value) for value, params in zip(values, segments)]
    )
