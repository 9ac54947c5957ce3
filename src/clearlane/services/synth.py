"""Use cases: generate a synthetic data set, write it to files, and optionally ingest it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from clearlane.errors import ValidationError
from clearlane.synth import MECHANISMS, SynthConfig, SynthFiles, SynthResult, generate
from clearlane.synth.generator import STEPS, assemble, draw_all

if TYPE_CHECKING:
    from clearlane.services.ingest import IngestReport
    from clearlane.store.workspace import Workspace

Progress = Callable[[float, float | None], None]


@dataclass(frozen=True)
class SynthRun:
    """A generated data set and the files it was written to."""

    result: SynthResult
    files: SynthFiles


def write_synthetic(
    config: SynthConfig,
    folder: Path | str,
    format: Literal["parquet", "csv"] = "parquet",
    progress: Progress | None = None,
) -> SynthRun:
    """Generate ``config`` and write ``declarations.<fmt>`` and ``truth.<fmt>`` to ``folder``.

    ``progress(done, total)`` counts generation steps plus one for writing.
    """
    total = STEPS + 1

    def step(done: float, _total: float | None = None) -> None:
        if progress is not None:
            progress(done, total)

    result = generate(config, progress=step)
    files = result.write(folder, format=format)
    step(total)
    return SynthRun(result, files)


def write_synthetic_parts(
    config: SynthConfig,
    folder: Path | str,
    rows_per_part: int = 1_000_000,
    progress: Progress | None = None,
) -> SynthFiles:
    """:func:`write_synthetic` in Parquet for data sets larger than memory allows at once: the
    frames are assembled and written ``rows_per_part`` items at a time, so memory holds the
    draws (a few numeric arrays per item) and one part, not the whole frames. The files hold
    the same rows as ``write_synthetic``'s.

    ``progress(done, total)`` counts the generation steps, then the parts.
    """
    import pyarrow.parquet as pq

    if rows_per_part < 1:
        raise ValidationError(f"rows_per_part must be ≥ 1; got {rows_per_part}")
    parts = max(1, -(-config.n_items // rows_per_part))
    total = STEPS - 1 + parts

    def step(done: float, _total: float | None = None) -> None:
        if progress is not None:
            progress(min(done, STEPS - 1), total)

    draws = draw_all(config, progress=step)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = SynthFiles(folder / "declarations.parquet", folder / "truth.parquet")
    writers: list[Any] = [None, None]
    try:
        for k, start in enumerate(range(0, config.n_items, rows_per_part)):
            frames = assemble(draws, slice(start, min(config.n_items, start + rows_per_part)))
            for i, frame in enumerate(frames):
                table = frame.to_arrow()
                if writers[i] is None:
                    writers[i] = pq.ParquetWriter(files[i], table.schema, compression="zstd")
                writers[i].write_table(table)
            if progress is not None:
                progress(STEPS - 1 + k + 1, total)
    finally:
        for writer in writers:
            if writer is not None:
                writer.close()
    return files


def ingest_synthetic(
    workspace: Workspace, files: SynthFiles, progress: Progress | None = None
) -> IngestReport:
    """Ingest the declarations file into ``workspace`` with the shipped ``canonical`` profile.

    The truth file is not ingested: it is the answer key, kept beside the data for evaluation.
    """
    from clearlane.ingest.profile import load_profile
    from clearlane.services.ingest import ingest_file

    return ingest_file(workspace, files.declarations, load_profile("canonical"), progress=progress)


@dataclass(frozen=True)
class SynthSummary:
    """What `clearlane synth` reports of a data set: items, declarations, the inspected share
    of items and :func:`mechanism_summary`'s table."""

    items: int
    declarations: int
    inspected_share: float
    mechanisms: pl.DataFrame


def summarise(result: SynthResult) -> SynthSummary:
    """The summary of a generated data set held in memory."""
    return _summary(result.declarations, result.truth)


def summarise_files(files: SynthFiles) -> SynthSummary:
    """The summary of written Parquet files, reading only the columns it needs."""
    declarations = pl.read_parquet(files.declarations,
                                   columns=["declaration_id", "item_no", "fraud", "inspected"])
    truth = pl.read_parquet(files.truth,
                            columns=["declaration_id", "item_no", "mechanism", "evaded_revenue"])
    return _summary(declarations, truth)


def _summary(declarations: pl.DataFrame, truth: pl.DataFrame) -> SynthSummary:
    items = declarations.height
    return SynthSummary(
        items=items, declarations=declarations["declaration_id"].n_unique(),
        inspected_share=float(declarations["inspected"].sum()) / max(items, 1),
        mechanisms=mechanism_summary(declarations, truth))


def mechanism_summary(declarations: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per planted mechanism: items, share of all items, evaded revenue, and how many of them an
    inspection found (``found``). Mechanisms with no item are listed with zeros."""
    joined = truth.select("declaration_id", "item_no", "mechanism", "evaded_revenue").join(
        declarations.select("declaration_id", "item_no", "fraud"),
        on=["declaration_id", "item_no"],
    )
    counts = (
        joined.filter(pl.col("mechanism").is_not_null())
        .group_by("mechanism")
        .agg(
            items=pl.len(),
            evaded_revenue=pl.col("evaded_revenue").sum(),
            found=pl.col("fraud").fill_null(False).sum(),
        )
    )
    frame = pl.DataFrame({"mechanism": list(MECHANISMS)}).join(counts, on="mechanism", how="left")
    return frame.with_columns(
        pl.col("items").fill_null(0),
        pl.col("evaded_revenue").fill_null(0.0),
        pl.col("found").fill_null(0),
    ).with_columns(share=pl.col("items") / truth.height)
