"""Writing a result table to a user's file, atomically: the file is complete or untouched.

A file is written beside its target under a temporary name and moved over it in one step
(``os.replace``), so a full disk or a killed process never leaves a half-written export where
the user expects one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from clearlane.errors import ValidationError

FORMATS = (".csv", ".parquet")


def table_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the file name; anything else is refused.

    >>> table_format(Path("lanes.PARQUET"))
    'parquet'
    >>> table_format(Path("lanes.xlsx"))
    Traceback (most recent call last):
    ...
    clearlane.errors.ValidationError: output 'lanes.xlsx' must end in .csv or .parquet
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValidationError(f"output {str(path)!r} must end in .csv or .parquet")
    return suffix[1:]


def write_table(frame: pl.DataFrame, path: Path, kind: str | None = None) -> Path:
    """Write ``frame`` to ``path`` atomically, as ``kind`` (``csv`` or ``parquet``; by default
    from the suffix, see :func:`table_format`); returns the path."""
    kind = kind or table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        if kind == "csv":
            frame.write_csv(temporary)
        else:
            frame.write_parquet(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
