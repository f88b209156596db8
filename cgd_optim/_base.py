"""What every two-player optimizer shares: the players' groups, input checks, closure handling, the commit rule."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.optim import Optimizer

from .autodiff import gradients, zeros_for_none
from .distributed import check_process_group, reduce_finiteness_, resolve_process_group
from .groups import check_disjoint_and_alike, player_groups
from .scaling import after_step, initial_state, loss_scaling_options
from .scaling import statistics as scaling_statistics

_players_doc = """min_params: iterable of tensors of the min player (x, e.g. the generator); it descends f.
            Or a list of param-group dicts, as torch.optim takes: ``{"params": ..., "lr": ...}``
            with the group's own ``lr``, ``weight_decay`` (and, for ACGD, ``beta``, ``eps``).
        max_params: iterable of tensors (or param-group dicts) of the max player (y, e.g. the
            discriminator); it ascends f.
        lr: step size of both players unless ``lr_min`` / ``lr_max`` is given.
        lr_min: step size of the min player (:math:`\\eta_x`), overriding ``lr``.
        lr_max: step size of the max player (:math:`\\eta_y`), overriding ``lr``.
        process_group: (keyword-only) data-parallel training: ``"auto"`` (default) averages the
            gradients and every mixed Hessian-vector product over the default
            ``torch.distributed`` group when one is initialized with more than one process
            (resolved at every step), ``None`` never communicates, a ``ProcessGroup`` uses that
            group. Each rank's closure evaluates its own equal-size shard of the batch; every rank
            then takes the full-batch step (docs/distributed.md).
        weight_decay: (keyword-only) decoupled weight decay (AdamW's): each parameter also moves
            by :math:`-\\mathrm{lr} \\cdot \\mathrm{weight\\_decay} \\cdot p` with its group's lr, the
            game's step computed at the undecayed point; per group; default 0 (off).
        keep_gradients: (keyword-only) ``True`` leaves each step's gradients
            (:math:`\\nabla_x f_{min}`, :math:`\\nabla_y f_{max}` at the step's start) in ``.grad``
            for loggers and hooks; default ``False`` (``.grad`` untouched).
        loss_scaling: (keyword-only) ``True`` or a :class:`~cgd_optim.scaling.LossScaling` for
            float16 closures: gradients and mixed products of S f, divided by S; a non-finite step
            is skipped (nothing changes but the scale, which is lowered) instead of raising
            FloatingPointError (:mod:`cgd_optim.scaling`). Default ``False``."""

_closure_doc = """The closure returns f (zero-sum: x minimizes f, y maximizes f) or a pair
    ``(f_min, f_max)`` (general-sum: x minimizes f_min, y maximizes f_max); it must not call
    ``backward``.  ``step`` also accepts the loss tensor (or pair) itself.  Gradients come from
    ``torch.autograd.grad``; ``p.grad`` is never read, and written only with ``keep_gradients=True``."""


def check_positive(name: str, value: Any) -> None:
    """A step size: a positive number or, as torch.optim accepts, a positive 0-dim floating point tensor."""
    if value is None:
        return
    if isinstance(value, Tensor):
        if value.dim() != 0 or not value.is_floating_point():
            raise ValueError(
                f"Invalid {name}: a tensor {name} must be a 0-dim floating point tensor, got shape "
                f"{tuple(value.shape)} of {value.dtype}"
            )
        number = float(value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"Invalid {name}: expected a positive number (or a 0-dim tensor), got {type(value).__name__} {value!r}"
        )
    else:
        number = value
    if not number > 0.0:
        raise ValueError(f"Invalid {name} value: {value}")


def step_size(lr: float | Tensor) -> float:
    """A group's ``lr`` as a number (a 0-dim tensor lr, e.g. one a scheduler fills, is read: keep it on the CPU)."""
    return float(lr) if isinstance(lr, Tensor) else lr


def _require_influence(grads: list, player: str, objective: str) -> None:
    """A player none of whose parameters reaches its objective would never move: say why, before
    anything changes (parameters of a player that the objective does not use count as zero)."""
    if all(g is None for g in grads):
        raise ValueError(
            f"no parameter of the {player} player ({player}_params) influences its objective {objective} (it has no "
            f"autograd graph to them): is its "
            "output detached in the closure (e.g. D(G(z).detach()), the habit of two-optimizer GAN loops), or are "
            "the players passed the wrong way round? Parameters and optimizer state are unchanged"
        )


def step_statistics(
    iterations: Tensor, relative_residual: Tensor, hvp_count: int | Tensor, converged: Tensor, **extra: Tensor
) -> dict[str, Tensor]:
    """The ``step_stats`` of a step: its solver's ``iterations``, ``relative_residual``,
    ``hvp_count`` (mixed Hessian-vector products made) and ``converged``, plus a class's own
    entries, all 0-dim tensors (read by the caller when it wants them, not by the step)."""
    if not isinstance(hvp_count, Tensor):
        hvp_count = torch.tensor(hvp_count)
    return {
        "iterations": iterations,
        "relative_residual": relative_residual,
        "hvp_count": hvp_count,
        "converged": converged,
        **extra,
    }


class TwoPlayerOptimizer(Optimizer):
    """Base class: a zero-sum or general-sum game between a min player and a max player.

    Holds the ``param_groups`` of both players, the min player's first, each marked with its
    ``"player"`` and its own ``"lr"`` (so ``torch.optim.lr_scheduler`` schedulers scale each):
    two groups when each player is given as tensors, one per dict when given as param groups;
    and ``step_stats``: a dict of 0-dim tensors describing the last step.

    A subclass declares what its states hold, so that ``load_state_dict`` can tell its states
    from another class's without this class knowing any subclass:

    - ``hyperparameters``: the keys its ``param_groups`` hold besides ``params``, ``player`` and
      ``lr`` (a saved group with a key that another class declares is that class's state);
    - ``later_options``: those of them added after states were first saved, with the default a
      state saved without them ran with;
    - ``row_state_keys``: per-parameter state that stacks vectors of the parameter's size as rows;
    - ``constructor_attributes``: options it keeps as attributes rather than in its groups, which
      a pickled optimizer keeps too (``torch.optim.Optimizer`` pickles only its groups and state);
    - ``group_options``: the options a group dict of ``min_params`` / ``max_params`` may set
      besides ``lr`` and ``weight_decay`` (checked by :meth:`check_group`).
    """

    hyperparameters: tuple[str, ...] = ()
    later_options: ClassVar[dict[str, Any]] = {}
    row_state_keys: tuple[str, ...] = ()
    constructor_attributes: tuple[str, ...] = ("keep_gradients", "loss_scaling")  # attributes, pickled too
    group_options: tuple[str, ...] = ()  # what a group dict may set besides lr and weight_decay
    _declared: ClassVar[set[str]] = set()  # every subclass's hyperparameters, collected as the subclasses are defined

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        TwoPlayerOptimizer._declared.update(cls.hyperparameters)

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        defaults: dict[str, Any],
        lr_min: float | None,
        lr_max: float | None,
        *,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        check_positive("lr", defaults["lr"])
        self.loss_scaling = loss_scaling_options(loss_scaling)
        check_process_group(process_group)
        check_positive("lr_min", lr_min)
        check_positive("lr_max", lr_max)
        options = (*self.group_options, "weight_decay")
        groups = [
            *player_groups(min_params, "min", defaults["lr"] if lr_min is None else lr_min, options),
            *player_groups(max_params, "max", defaults["lr"] if lr_max is None else lr_max, options),
        ]
        for group in groups:
            if weight_decay:  # the constructor's value, where a group dict did not set its own
                group.setdefault("weight_decay", weight_decay)
            self.check_group(group)
        check_disjoint_and_alike(
            [p for g in groups for p in g["params"]], [g["player"] for g in groups for _ in g["params"]]
        )
        self._sealed = False
        super().__init__(groups, defaults)
        self._sealed = True
        self._warned_max_iter = False
        self.step_stats: dict[str, Tensor] = {}
        self.process_group = process_group  # an attribute, not a hyperparameter: state_dict stays picklable
        self.keep_gradients = keep_gradients

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.update({name: getattr(self, name) for name in self.constructor_attributes if hasattr(self, name)})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("process_group", "auto")
        self.__dict__.setdefault("_warned_max_iter", False)
        self.__dict__.setdefault("step_stats", {})
        self.__dict__.setdefault("keep_gradients", False)
        self.__dict__.setdefault("loss_scaling", None)
        self._sealed = True

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group to a player, as torch.optim does (e.g. a layer unfrozen later): the dict names
        its ``"player"`` (``"min"`` or ``"max"``); options it leaves out are those of that player's
        first group."""
        if not getattr(self, "_sealed", False):  # the constructor's groups, already checked
            super().add_param_group(param_group)
            return
        player = param_group.get("player") if isinstance(param_group, dict) else None
        if player not in ("min", "max"):
            raise ValueError(
                f"{type(self).__name__}.add_param_group needs the group's player: add 'player': 'min' (the "
                "minimizing player, e.g. the generator) or 'player': 'max' to the dict"
            )
        first = next(group for group in self.param_groups if group["player"] == player)
        options = (*self.group_options, "weight_decay")
        (group,) = player_groups([param_group], player, first["lr"], options)
        group = {**{key: first[key] for key in first if key not in ("params", "player")}, **group}
        self.check_group(group)
        everything = [*(p for g in self.param_groups for p in g["params"]), *group["params"]]
        check_disjoint_and_alike(
            everything,
            [*(g["player"] for g in self.param_groups for _ in g["params"]), *(player for _ in group["params"])],
        )
        super().add_param_group(group)

    def check_group(self, group: dict[str, Any]) -> None:
        """ValueError for a group option out of range (``lr`` > 0, ``weight_decay`` >= 0; subclasses
        check theirs)."""
        check_positive("lr", group["lr"])
        decay = group.get("weight_decay", 0.0)
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {decay!r}")

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """``torch.optim.Optimizer.load_state_dict``, after checking that the state is this
        optimizer's: two players in order, this class's hyperparameters, as many parameters per
        player and per-parameter state of the parameters' sizes; nothing changes when it is not."""
        state_dict = self.upgrade_state_dict(state_dict)
        self._check_loadable(state_dict)
        super().load_state_dict(state_dict)

    def upgrade_state_dict(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """A state saved by an earlier version in today's layout (a new dict; the argument is not
        changed): each of ``later_options`` missing from a saved group gets the default it then
        ran with. Subclasses that moved a key extend it."""
        groups = state_dict.get("param_groups", [])
        if not all(isinstance(group, dict) for group in groups):
            return state_dict
        filled = [
            {**{key: default for key, default in self.later_options.items() if key not in group}, **group}
            for group in groups[: len(self.param_groups)]
        ] + groups[len(self.param_groups) :]
        return {**state_dict, "param_groups": filled}

    def _check_loadable(self, state_dict: dict[str, Any]) -> None:
        name, saved = type(self).__name__, state_dict.get("param_groups", [])
        layout, saved_layout = [g["player"] for g in self.param_groups], [g.get("player") for g in saved]
        if not {"min", "max"} <= set(saved_layout):
            raise ValueError(
                f"{name}.load_state_dict: not the state of a two-player optimizer (its param_groups "
                "are not a min player's and a max player's)"
            )
        if saved_layout != layout:
            raise ValueError(
                f"{name}.load_state_dict: the state's param groups belong to the players {saved_layout}, this "
                f"optimizer's to {layout}: build it with the same groups per player"
            )
        for group, saved_group in zip(self.param_groups, saved):
            keys, saved_keys = set(group) - {"params", "weight_decay"}, set(saved_group) - {"params", "weight_decay"}
            missing, foreign = keys - saved_keys, (saved_keys - keys) & TwoPlayerOptimizer._declared
            if missing or foreign:
                raise ValueError(
                    f"{name}.load_state_dict: a state saved by another optimizer (it lacks {sorted(missing)}"
                    f" and has {sorted(foreign)}); load it into the class that saved it"
                )
            if len(saved_group["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: the {group['player']} player has {len(group['params'])} "
                    f"parameters here and {len(saved_group['params'])} in the state"
                )
            self._check_sizes(group, saved_group["params"], state_dict.get("state", {}))

    def _check_sizes(self, group: dict, indices: list, states: dict) -> None:
        for k, (p, index) in enumerate(zip(group["params"], indices)):
            for key, value in states.get(index, {}).items():
                if not isinstance(value, Tensor) or value.dim() == 0:
                    continue
                size = value.shape[-1] if key in self.row_state_keys and value.dim() == 2 else value.numel()
                if size != p.numel():
                    raise ValueError(
                        f"load_state_dict: parameter {k} of the {group['player']} player has {p.numel()} elements, "
                        f"its saved {key!r} {size}: the state of another model, or with the players swapped"
                    )

    def segments(self, player: str) -> list[tuple[dict[str, Any], list[Tensor]]]:
        """``(group, its trainable parameters)`` of each group of ``player`` (``"min"`` or ``"max"``)
        that has any, in group order: how a player's flat vectors split over its groups."""
        return [
            (group, trainable)
            for group in self.param_groups
            if group["player"] == player and (trainable := [p for p in group["params"] if p.requires_grad])
        ]

    def _players(self) -> tuple[list[Tensor], list[Tensor]]:
        """The trainable parameters of each player (those with requires_grad=False are skipped)."""
        players = []
        for player in ("min", "max"):
            trainable = [p for _, params in self.segments(player) for p in params]
            if not trainable:
                raise ValueError(f"the {player} player has no parameter with requires_grad=True")
            players.append(trainable)
        return players[0], players[1]

    def _decay_weights(self, player: str | None = None) -> None:
        """Decoupled weight decay (AdamW's): every trainable parameter of a group (of ``player``, or
        of both) with ``weight_decay`` > 0 is multiplied by 1 - lr * weight_decay, before the step
        is added."""
        for group in self.param_groups:
            if player is not None and group["player"] != player:
                continue
            decay = group.get("weight_decay", 0.0)
            if decay:
                trainable = [p for p in group["params"] if p.requires_grad]
                torch._foreach_mul_(trainable, 1.0 - step_size(group["lr"]) * decay)

    def loss_scale(self) -> float | None:
        """The scale S the next step multiplies the closure's value by (None: no loss scaling)."""
        if self.loss_scaling is None:
            return None
        return self.state.get("loss_scaling", initial_state(self.loss_scaling))["scale"]

    def _after_scaled_step(self, *, finite: bool) -> dict[str, Tensor]:
        """With loss scaling: the scaler's state after this step (skipped or not) and its
        ``step_stats`` entries (``loss_scale``, the scale this step used, and ``skipped_steps``)."""
        if self.loss_scaling is None:
            return {}
        state = self.state.get("loss_scaling", initial_state(self.loss_scaling))
        self.state["loss_scaling"] = after_step(state, self.loss_scaling, finite=finite)
        return scaling_statistics(state, self.state["loss_scaling"])

    def _leave_gradients(self, params: list[Tensor], grads: list[Tensor]) -> None:
        """``keep_gradients=True``: the step's gradients into ``.grad``, for loggers and hooks."""
        if self.keep_gradients:
            for p, g in zip(params, grads):
                p.grad = g.detach().clone()

    def _evaluate(self, closure: Callable[[], Any] | Tensor | tuple) -> tuple[Any, Tensor, Tensor, bool]:
        """Call the closure once: (what it returned, f_min, f_max, zero_sum). A closure that writes
        ``.grad`` (calls ``backward``) is refused, its ``.grad`` writes undone."""
        if callable(closure):
            params = [p for group in self.param_groups for p in group["params"]]
            grads = [p.grad for p in params]
            with torch.enable_grad():
                returned = closure()
            if any(p.grad is not g for p, g in zip(params, grads)):
                for p, g in zip(params, grads):
                    p.grad = g
                raise ValueError(
                    f"the closure called backward() (or zero_grad(), or wrote .grad): {type(self).__name__} needs a "
                    "closure that only computes and returns the objective; remove backward() and zero_grad() from "
                    "it (gradients come from torch.autograd.grad). Parameters and optimizer state are unchanged"
                )
        else:
            returned = closure
        if isinstance(returned, Tensor):
            return returned, returned, returned, True
        if isinstance(returned, (tuple, list)) and len(returned) == 2 and all(isinstance(t, Tensor) for t in returned):
            return returned, returned[0], returned[1], False
        raise TypeError(
            "the closure must return a scalar tensor f or a pair of scalar tensors (f_min, f_max), "
            f"got {type(returned).__name__}"
        )

    @staticmethod
    def _game_gradients(
        f_min: Tensor, f_max: Tensor, xs: list[Tensor], ys: list[Tensor], zero_sum: bool, create_graph: bool
    ):
        r"""(:math:`\nabla_x f_{min}`, :math:`\nabla_y f_{max}`, :math:`\nabla_x f_{max}`, :math:`\nabla_y f_{min}`).

        Zero-sum: one backward pass over both players.  General-sum: one pass per objective.
        The last two carry the graphs that mixed Hessian-vector products differentiate.
        """
        with torch.enable_grad():
            if zero_sum:
                raw = gradients(f_min, xs + ys, create_graph=create_graph)
                _require_influence(raw[: len(xs)], "min", "f")
                _require_influence(raw[len(xs) :], "max", "f")
                both = zeros_for_none(raw, xs + ys)
                grad_x, grad_y = both[: len(xs)], both[len(xs) :]
                return grad_x, grad_y, grad_x, grad_y
            # f_min and f_max usually share nodes (D's output): keep the graph for the second pass
            raw_min = gradients(f_min, xs + ys, create_graph=create_graph, retain_graph=True)
            _require_influence(raw_min[: len(xs)], "min", "f_min")
            raw_max = gradients(f_max, xs + ys, create_graph=create_graph)
            _require_influence(raw_max[len(xs) :], "max", "f_max")
            of_min, of_max = zeros_for_none(raw_min, xs + ys), zeros_for_none(raw_max, xs + ys)
            return of_min[: len(xs)], of_max[len(xs) :], of_max[: len(xs)], of_min[len(xs) :]

    @staticmethod
    def _read_values(*values: Tensor) -> list[float]:
        """The one device read of a step: flags and statistics fused into a single transfer."""
        return torch.stack([v.reshape(()).to(torch.float64) for v in values]).tolist()

    @staticmethod
    def _finiteness(*tensors: Tensor) -> Tensor:
        """A 0-dim tensor: 0 when every element of every tensor is finite, NaN otherwise (no device read).

        A tensor's extremes (``torch.aminmax``, which propagates NaN) are finite exactly when all
        of it is; e * 0 is 0 for a finite e and NaN for an infinite or NaN one, and a sum of zeros
        cannot overflow. One reduction per tensor, read with the step's other values.
        """
        extremes = []
        for t in tensors:
            if t.dim() == 0:
                extremes.append(t)
            elif t.numel() > 0:
                extremes.extend(torch.aminmax(t))
        if not extremes:
            return torch.zeros(())
        return (torch.stack(extremes) * 0).sum()

    def _communicator(self):
        """This step's process group (``process_group`` resolved now), or None: no communication."""
        return resolve_process_group(self.process_group)

    def _all_finite(self, *tensors: Tensor, group=None) -> bool:
        """Whether every element is finite on every rank of ``group`` (one device read)."""
        return math.isfinite(self._read_values(reduce_finiteness_(self._finiteness(*tensors), group))[0])

    def _finite_unless_scaled(self, *tensors: Tensor, group, where: str | None = None) -> bool:
        """Whether every element is finite on every rank of ``group`` (one device read). A
        non-finite value raises FloatingPointError (naming ``where`` it was met, when given) unless
        loss scaling is on, which skips the step instead: then False."""
        if self._all_finite(*tensors, group=group):
            return True
        if self.loss_scale() is None:
            self._raise_non_finite(where)
        return False

    def _raise_non_finite(self, where: str | None = None) -> None:
        if where is not None:
            raise FloatingPointError(
                f"{type(self).__name__}: {where} is not finite (the objective, a gradient or the update); "
                "parameters and optimizer state are left unchanged"
            )
        raise FloatingPointError(
            f"{type(self).__name__}: the objective, a gradient or the update is not finite; "
            "parameters and optimizer state are left unchanged"
        )

    def _warn_max_iter(self, solver: str, max_iter: int) -> None:
        if not self._warned_max_iter:
            self._warned_max_iter = True
            warnings.warn(
                f"{type(self).__name__}: {solver} reached max_iter={max_iter} before the tolerance; the step "
                "used its last iterate (see step_stats['relative_residual']). This warning is shown once.",
                RuntimeWarning,
                stacklevel=3,
            )
