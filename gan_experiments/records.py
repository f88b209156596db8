"""What a run writes: CSV tables (written whole or appended a row at a time, lists as JSON) and
the run folder with its log, checkpoint and final metrics."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import torch


def write_rows(rows: list[dict], path: Path, fieldnames: list[str] | None = None) -> None:
    """``rows`` as a CSV table; columns ``fieldnames`` (default: the first row's keys, in order)."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


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


class RunFolder:
    """A run folder: ``config.toml``, ``metrics.csv`` (and ``tensorboard/``), ``checkpoint.pt``
    (written atomically), ``metrics.json`` and the pictures; created by the constructor."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.checkpoint = self.path / "checkpoint.pt"

    def load_checkpoint(self) -> dict:
        if not self.checkpoint.exists():
            raise FileNotFoundError(f"--resume: no checkpoint in {self.path}")
        return torch.load(self.checkpoint, weights_only=False)

    def save_checkpoint(self, state: dict) -> None:
        """Write atomically: a crash while saving never leaves a truncated checkpoint."""
        partial = self.checkpoint.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, self.checkpoint)

    def open_log(self) -> RunLog:
        return RunLog(self.path)

    def rows(self) -> list[dict]:
        """metrics.csv's rows (values as strings); none when nothing was logged."""
        return read_rows(self.path / "metrics.csv")

    def write_metrics(self, final: dict) -> None:
        (self.path / "metrics.json").write_text(json.dumps(final, indent=1))
