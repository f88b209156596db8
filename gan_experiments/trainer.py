"""The one training loop every run goes through.

:class:`Trainer` steps a session (anything with ``train_step()``, ``step_count``,
``state_dict()`` and ``load_state_dict()``: a :class:`~gan_experiments.session.GameSession`,
SGAN's session of many pairs) up to a number of steps, with a progress bar; given a run folder it
also evaluates every ``eval_every`` steps (and at the last step) into ``metrics.csv``, checkpoints every
``checkpoint_every`` steps, at the end and on Ctrl-C, and closes the log. Without a folder it
writes nothing (the main job). Under torchrun only rank 0 has the folder; every rank calls
``wait`` after each evaluation and checkpoint, so the others wait for rank 0 there. It knows no
framework and no optimizer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

from .records import RunFolder


class Trainer:
    """``fit(steps)`` trains ``session`` to ``steps`` steps (counted from its ``step_count``, so a
    resumed session continues); ``evaluate(step)`` returns the metrics row of an evaluation."""

    def __init__(
        self,
        session,
        *,
        folder: RunFolder | None = None,
        evaluate: Callable[[int], dict] | None = None,
        eval_every: int = 1000,
        checkpoint_every: int = 1000,
        wait: Callable[[], None] | None = None,
        progress: bool = True,
    ) -> None:
        self.session, self.folder, self.evaluate = session, folder, evaluate
        self.eval_every, self.checkpoint_every = eval_every, checkpoint_every
        self.wait, self.progress = wait, progress

    def fit(self, steps: int, *, evaluate_every_step: bool = False, label: str | None = None) -> None:
        """Train to ``steps``; ``evaluate_every_step`` (a dry run) evaluates after each step."""
        log = self.folder.open_log() if self.folder is not None else None
        label = label if label is not None else (self.folder.path.name if self.folder is not None else "")
        self._logged, values = None, None
        try:
            with tqdm(
                total=steps,
                initial=self.session.step_count,
                desc=label,
                file=sys.stderr,
                leave=False,
                mininterval=1.0,
                disable=steps < 100 or not self.progress,
            ) as progress:
                while self.session.step_count < steps:
                    values = self.session.train_step()
                    progress.update()
                    self._after_step(values, log, evaluate_every_step)
            if log is not None and values is not None and self._logged != self.session.step_count:
                self._log_final(values, log)
        except KeyboardInterrupt:
            self.save_checkpoint()  # resume with --resume
            raise
        finally:
            if log is not None:
                log.close()
        self.save_checkpoint()

    def _after_step(self, values: dict, log, evaluate_every_step: bool) -> None:
        step = self.session.step_count
        evaluates, checkpoints = step % self.eval_every == 0 or evaluate_every_step, step % self.checkpoint_every == 0
        if evaluates and log is not None:
            self._record(values, log)
        if checkpoints:
            self.save_checkpoint()
        if (evaluates or checkpoints) and self.wait is not None:
            self.wait()

    def _record(self, values: dict, log) -> None:
        if self.evaluate is not None:
            row = self.evaluate(self.session.step_count)
            log.record(
                {
                    **row,
                    "f_min": values["f_min"],
                    "f_max": values["f_max"],
                    **{k: values[k] for k in ("hvp_count", "gradient_evaluations", "seconds") if k in values},
                }
            )
            self._logged = self.session.step_count

    def _log_final(self, values: dict, log) -> None:
        """The last step is always in metrics.csv (and curves.png), also off the evaluation cadence."""
        self._record(values, log)
        print(
            f"step {self.session.step_count} is off the evaluation cadence (run.eval_every = {self.eval_every}): "
            "its evaluation is logged as the last row of metrics.csv",
            file=sys.stderr,
        )

    def save_checkpoint(self) -> None:
        if self.folder is not None:
            self.folder.save_checkpoint(self.session.state_dict())
