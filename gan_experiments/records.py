"""What a run writes: CSV tables (written whole or appended a row at a time, lists as JSON) and
the run folder with its log, checkpoint and final metrics."""

from __future__ import annotations

import csv
import json
import os
import pickle
import shutil
import warnings
from pathlib import Path

import torch

from .errors import RunFolderError


def write_rows(rows: list[dict], path: Path, fieldnames: list[str] | None = None) -> None:
    """``rows`` as a CSV table; columns ``fieldnames`` (default: the first row's keys, in order)."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def grouped(rows: list[dict], key: str) -> dict:
    """The rows of each value of ``row[key]``, values in the order they first appear, rows in theirs
    (the first and last row of a group: ``grouped(rows, key)[value][0]`` and ``[-1]``)."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def append_row(path: Path, row: dict) -> None:
    """One row appended to the table at ``path`` (its header first when the file is new)."""
    flat = {k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()}
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(flat))
        if new:
            writer.writeheader()
        writer.writerow(flat)


def read_rows(path: Path) -> list[dict]:
    """The rows of the table at ``path`` (values as strings, as csv reads them); none when it does not exist."""
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


class RunLog:
    """metrics.csv (one row per evaluation, appended, so it survives a resume) and, when the
    tensorboard package is installed, the same scalars as TensorBoard events in ``tensorboard/``."""

    def __init__(self, out: Path) -> None:
        self.path = out / "metrics.csv"
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            self.writer = None
        else:
            self.writer = SummaryWriter(str(out / "tensorboard"))

    def record(self, row: dict) -> None:
        append_row(self.path, row)
        if self.writer is not None:
            for key, value in row.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.writer.add_scalar(key, value, row["step"])

    def rows(self) -> list[dict]:
        return read_rows(self.path)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


RUN_FILES = ("config.toml", "checkpoint.pt", "metrics.csv", "metrics.json")  # any of them: the folder holds a run


def read_checkpoint(path: Path) -> dict:
    """``torch.load`` of a checkpoint this project wrote; RunFolderError naming the file when it does not read."""
    try:
        return torch.load(path, weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as error:
        raise RunFolderError(
            f"the checkpoint {path} is damaged and cannot be read ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'})"
        ) from None


class RunFolder:
    """A run folder: ``config.toml``, ``run.json`` (which config ran, and whether as a dry run),
    ``metrics.csv`` (and ``tensorboard/``), ``checkpoint.pt`` (written atomically, the one before
    it kept as ``checkpoint.previous.pt``), ``metrics.json`` and the pictures. :meth:`check` refuses, before anything
    is written, to
    overwrite a run that is not being resumed; :meth:`create` makes the folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checkpoint = self.path / "checkpoint.pt"
        self.previous_checkpoint = self.path / "checkpoint.previous.pt"
        self._saved_step = None  # the step of the checkpoint this object wrote last

    def holds_run(self) -> bool:
        return any((self.path / name).exists() for name in RUN_FILES)

    def check(self, *, resume: bool, overwrite: bool) -> None:
        """``resume``: the folder must hold a run; otherwise it must not, unless ``overwrite``."""
        if resume and not (self.path / "config.toml").is_file():
            raise RunFolderError(
                f"--resume: {self.path} holds no run to continue (no config.toml); start one "
                f"with --out {self.path} and without --resume"
            )
        if not resume and not overwrite and self.holds_run():
            raise RunFolderError(
                f"{self.path} already holds a run: continue it with --resume, or replace it with "
                "--overwrite (its checkpoint, metrics and pictures are deleted), or choose another --out"
            )

    def continuation(self) -> tuple[bool, bool]:
        """``(resume, overwrite)`` for a stopped run to go on in this folder: from its checkpoint, or,
        stopped before its first (killed at its start), from the beginning, the folder replaced."""
        saved = self.checkpoint.exists()
        return saved, not saved

    def create(self, *, overwrite: bool = False) -> None:
        """Make the folder; ``overwrite``: an earlier run in it is deleted first."""
        if overwrite and self.holds_run():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)

    def load_checkpoint(self) -> dict:
        """The newest checkpoint that reads; a damaged ``checkpoint.pt`` (a disk error, a copy cut
        short) falls back to ``checkpoint.previous.pt`` with a warning naming both, and with no
        readable one the error names the file and what to do."""
        if not self.checkpoint.exists():
            raise RunFolderError(f"--resume: no checkpoint in {self.path} (the run was stopped before its first)")
        try:
            return read_checkpoint(self.checkpoint)
        except RunFolderError as damaged:
            if not self.previous_checkpoint.exists():
                raise RunFolderError(
                    f"{damaged}; there is no earlier checkpoint to resume from: start the run again with --overwrite"
                ) from None
            warnings.warn(
                f"{damaged}; resuming from the checkpoint before it, {self.previous_checkpoint}",
                RuntimeWarning,
                stacklevel=2,
            )
            return read_checkpoint(self.previous_checkpoint)

    def write_record(self, record: dict) -> None:
        """run.json: the name of the config that ran, whether it was a dry run, the steps asked."""
        (self.path / "run.json").write_text(json.dumps(record, indent=1))

    def record(self) -> dict:
        """run.json's content; empty for folders written before it existed."""
        path = self.path / "run.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def save_checkpoint(self, state: dict) -> None:
        """Write atomically (a crash while saving never leaves a truncated checkpoint), keeping the
        one before as ``checkpoint.previous.pt`` (what a damaged checkpoint falls back to)."""
        partial = self.checkpoint.with_suffix(".partial")
        torch.save(state, partial)
        if self.checkpoint.exists() and state.get("step") != self._saved_step:  # the same step again: replace it
            os.replace(self.checkpoint, self.previous_checkpoint)
        os.replace(partial, self.checkpoint)
        self._saved_step = state.get("step")

    def open_log(self) -> RunLog:
        return RunLog(self.path)

    def rows(self) -> list[dict]:
        """metrics.csv's rows (values as strings); none when nothing was logged."""
        return read_rows(self.path / "metrics.csv")

    def keep_rows_through(self, step: int) -> None:
        """Drop metrics.csv's rows after ``step`` (logged after the checkpoint a restarted run resumes
        from, so that each step appears once)."""
        path, rows = self.path / "metrics.csv", self.rows()
        kept = [row for row in rows if int(float(row["step"])) <= step]
        if len(kept) < len(rows):
            write_rows(kept, path, list(rows[0]))

    def write_metrics(self, final: dict) -> None:
        (self.path / "metrics.json").write_text(json.dumps(final, indent=1))
