"""Tables a run writes: CSV rows, written whole or appended one at a time (lists as JSON)."""

from __future__ import annotations

import csv
import json
from pathlib import Path


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
