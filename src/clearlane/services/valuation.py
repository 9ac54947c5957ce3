"""Price verification use cases: build, check, show, export, import bands; mirror analysis.

Bands are stored as versioned artifacts under ``<workspace>/artifacts/valuation/bands``,
registered in the workspace's model registry; see :class:`clearlane.valuation.BandRegistry`.
Every result is a risk indicator, never a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from clearlane.artifacts import check_trust
from clearlane.errors import NotFoundError, ValidationError
from clearlane.schema.fields import RANDOM_BASIS
from clearlane.store.workspace import Workspace
from clearlane.valuation.bands import BandConfig, ValueBands, build_bands
from clearlane.valuation.check import PriceCheckResult, calibrate_history, check_prices
from clearlane.valuation.controls import RandomControls
from clearlane.valuation.conversion import ExchangeRates
from clearlane.valuation.history import ImporterHistory
from clearlane.valuation.mirror import mirror_gaps, read_mirror_statistics
from clearlane.valuation.quantile_model import UnitValueQuantileModel
from clearlane.valuation.registry import BandRegistry

Progress = Callable[[float, float | None], None]
DECLARATION_COLUMNS = (
    "declaration_id", "item_no", "declared_at", "importer_id", "exporter_id", "hs_code", "origin_country",
    "transport_mode",
    "quantity", "quantity_unit", "net_mass_kg", "customs_value", "currency", "tax_rate", "extra",
)


@dataclass(frozen=True)
class BuildOutcome:
    bands: ValueBands
    excluded_fraud: int
    model_path: Path | None


def _rates(path: Path | None, national_currency: str) -> ExchangeRates:
    if path is None:
        return ExchangeRates.identity(national_currency)
    return ExchangeRates.from_file(path, national_currency)


def _where(since: date | None, until: date | None, extra: str | None = None) -> str | None:
    parts = []
    if since is not None:
        parts.append(f"declared_at >= DATE '{since.isoformat()}'")
    if until is not None:
        parts.append(f"declared_at <= DATE '{until.isoformat()}'")
    if extra:
        parts.append(extra)
    return " AND ".join(parts) or None


def _declarations(workspace: Workspace, where: str | None) -> pl.DataFrame:
    available = set(workspace.query("SELECT * FROM declarations LIMIT 0").columns)
    columns = [c for c in DECLARATION_COLUMNS if c in available]
    return workspace.declarations(columns=columns, where=where)


def build_workspace_bands(
    workspace: Workspace,
    *,
    config: BandConfig,
    national_currency: str,
    rates_path: Path | None = None,
    since: date | None = None,
    until: date | None = None,
    with_model: bool = False,
    progress: Progress | None = None,
) -> BuildOutcome:
    """Build bands from the workspace's accepted declarations and store them as a new version.

    Declarations whose inspection found fraud are left out of the history (they are not
    accepted values); uninspected ones stay in and the robust statistics absorb them.
    """
    rates = _rates(rates_path, national_currency)
    all_rows = _declarations(workspace, _where(since, until))
    if all_rows.is_empty():
        raise NotFoundError("no declarations in the workspace for this window; ingest some first")
    history = all_rows
    if "fraud" in set(workspace.query("SELECT * FROM declarations LIMIT 0").columns):
        fraud = workspace.query(
            "SELECT declaration_id, item_no FROM declarations WHERE fraud"
            + (f" AND {w}" if (w := _where(since, until)) else "")
        )
        if fraud.height:
            history = all_rows.join(fraud, on=["declaration_id", "item_no"], how="anti")
    bands = build_bands(history, config=config, rates=rates, progress=progress)
    registry = BandRegistry(workspace)
    stored = registry.save(bands, source="built")
    model_path = None
    if with_model:
        model = UnitValueQuantileModel().fit(history, rates=rates, currency=stored.meta.currency)
        model_path = registry.save_model(stored.meta.version, model)
    return BuildOutcome(stored, all_rows.height - history.height, model_path)


def check_workspace(
    workspace: Workspace,
    *,
    version: str | None = None,
    rates_path: Path | None = None,
    input_path: Path | None = None,
    since: date | None = None,
    until: date | None = None,
    vat_rate: float = 0.0,
    use_model: bool = False,
    use_history: bool = True,
) -> PriceCheckResult:
    """Check declarations (from the workspace, or a canonical CSV/Parquet file) against bands.

    With ``use_history`` the importer's own history comes first: the workspace's declarations
    dated before the earliest checked one, less those whose inspection found fraud.
    """
    registry = BandRegistry(workspace)
    bands = registry.load(version)
    rates = _rates(rates_path, bands.meta.national_currency)
    if input_path is not None:
        frame = read_canonical(input_path)
        if since is not None:
            frame = frame.filter(pl.col("declared_at") >= since)
        if until is not None:
            frame = frame.filter(pl.col("declared_at") <= until)
    else:
        frame = _declarations(workspace, _where(since, until))
    return _check(workspace, registry, bands, rates, frame, vat_rate=vat_rate,
                  use_model=use_model, use_history=use_history)


def check_declarations(
    workspace: Workspace,
    frame: pl.DataFrame,
    *,
    version: str | None = None,
    vat_rate: float = 0.0,
    use_history: bool = True,
) -> PriceCheckResult:
    """Check declarations given as a canonical frame (e.g. sent to the API, not stored)
    against the workspace's bands (``version``, default the latest), in the national currency
    of the bands; with ``use_history`` the importer's accepted earlier declarations in the
    workspace come first, as in :func:`check_workspace`."""
    registry = BandRegistry(workspace)
    bands = registry.load(version)
    rates = _rates(None, bands.meta.national_currency)
    return _check(workspace, registry, bands, rates, frame, vat_rate=vat_rate,
                  use_model=False, use_history=use_history)


def _check(workspace: Workspace, registry: BandRegistry, bands: ValueBands,
           rates: ExchangeRates, frame: pl.DataFrame, *, vat_rate: float, use_model: bool,
           use_history: bool) -> PriceCheckResult:
    model_bands = None
    if use_model:
        model_bands = registry.load_model(bands.meta.version).predict_band(frame, rates)
    history = None
    if use_history and "importer_id" in frame.columns and frame.height:
        history = _importer_history(workspace, frame, bands, rates, vat_rate)
    return check_prices(frame, bands, rates=rates, vat_rate=vat_rate, model_bands=model_bands,
                        history=history)


def _importer_history(
    workspace: Workspace, frame: pl.DataFrame, bands: ValueBands, rates: ExchangeRates, vat_rate: float = 0.0
) -> ImporterHistory | None:
    """Accepted declarations before the earliest checked one (found fraud left out), calibrated
    with the controls known before it when the workspace records outcomes."""
    first = frame.select(pl.col("declared_at").cast(pl.Date).min()).item()
    if first is None or first <= date.min:
        return None  # nothing can be dated before it
    available = set(workspace.query("SELECT * FROM declarations LIMIT 0").columns)
    accepted = "NOT coalesce(fraud, false)" if "fraud" in available else None
    earlier = _declarations(workspace, _where(None, first - timedelta(days=1), accepted))
    if earlier.is_empty() or "importer_id" not in earlier.columns:
        return None
    controls = _controls(workspace, earlier, first, available)
    if controls is not None:
        return calibrate_history(controls[0], bands, rates=rates, findings=controls[1], vat_rate=vat_rate,
                                 random_controls=controls[2])
    return calibrate_history(earlier, bands, rates=rates)


def _controls(
    workspace: Workspace, earlier: pl.DataFrame, first: date, available: set[str]
) -> tuple[pl.DataFrame, pl.DataFrame, RandomControls | None] | None:
    """Past controls known before ``first``: ``earlier`` with its ``fraud`` outcome (inspected
    before ``first``, else null), the valuation findings (under-valuation found, with the
    revenue recovered) and the random control sample's counts (items whose
    ``inspection_basis`` is ``random``); None when the workspace has no such outcomes."""
    if not {"fraud", "revenue_recovered", "finding", "inspected_at"} <= available:
        return None
    before = f"DATE '{first.isoformat()}'"
    has_basis = "inspection_basis" in available
    in_sample = f"coalesce(lower(trim(inspection_basis)) = '{RANDOM_BASIS}', false)" if has_basis else "false"
    known = workspace.query(
        f"SELECT declaration_id, item_no, fraud, {in_sample} AS random_control, "
        "coalesce(fraud AND lower(finding) LIKE '%valuation%', false) AS undervalued FROM declarations "
        f"WHERE declared_at < {before} AND inspected_at < {before} AND fraud IS NOT NULL"
    )
    findings = workspace.query(
        "SELECT customs_value, tax_rate, revenue_recovered FROM declarations "
        f"WHERE declared_at < {before} AND inspected_at < {before} AND fraud "
        "AND lower(finding) LIKE '%valuation%' AND revenue_recovered > 0"
    )
    sample = known.filter(pl.col("random_control"))
    random = RandomControls(sample.height, int(sample["undervalued"].sum())) if has_basis else None
    outcome = known.select(pl.col("declaration_id").cast(pl.String), pl.col("item_no").cast(pl.Int64), "fraud")
    joined = earlier.with_columns(pl.col("declaration_id").cast(pl.String), pl.col("item_no").cast(pl.Int64)).join(
        outcome, on=["declaration_id", "item_no"], how="left", maintain_order="left")
    return joined, findings, random


def read_canonical(path: Path) -> pl.DataFrame:
    """Read a canonical declaration file (CSV or Parquet) for checking."""
    if not path.exists():
        raise NotFoundError(f"declaration file {str(path)!r} does not exist")
    if path.suffix.lower() == ".parquet":
        frame = pl.read_parquet(path)
    elif path.suffix.lower() == ".csv":
        frame = pl.read_csv(path, schema_overrides={"hs_code": pl.String, "declaration_id": pl.String},
                            try_parse_dates=True)
    else:
        raise ValidationError(f"declaration file {str(path)!r}: use a .csv or .parquet file")
    if "declared_at" in frame.columns and frame.schema["declared_at"] == pl.String:
        frame = frame.with_columns(pl.col("declared_at").str.to_date())
    return frame


def list_bands(workspace: Workspace) -> list[ValueBands]:
    registry = BandRegistry(workspace)
    return [registry.load(v) for v in registry.versions()]


def show_bands(
    workspace: Workspace,
    *,
    version: str | None = None,
    hs: str | None = None,
    origin: str | None = None,
    level: str | None = None,
    basis: str | None = None,
) -> tuple[ValueBands, pl.DataFrame]:
    """A stored version and its band rows filtered by HS prefix, origin, level and basis."""
    bands = BandRegistry(workspace).load(version)
    table = bands.table
    if hs:
        digits = "".join(ch for ch in hs if ch.isdigit())
        table = table.filter(pl.col("hs").str.starts_with(digits[: min(6, len(digits))]))
    if origin:
        table = table.filter(pl.col("origin") == origin.strip().upper())
    if level:
        table = table.filter(pl.col("level") == level)
    if basis:
        table = table.filter(pl.col("basis") == basis)
    return bands, table


def export_bands(workspace: Workspace, path: Path, version: str | None = None) -> ValueBands:
    """Write a stored version to ``path`` (.csv or .parquet) for sharing."""
    bands = BandRegistry(workspace).load(version)
    bands.write(path)
    return bands


def import_bands(workspace: Workspace, path: Path, trust: bool = False) -> ValueBands:
    """Read a shared band file and store it as a new version (its provenance kept).

    The bands decide which prices the check flags, so a file from outside the workspace's
    artifacts folder is read only with ``trust`` (CLI ``--trust-artifact``)."""
    check_trust(path, workspace.artifacts_dir, trust)
    bands = ValueBands.read(path)
    origin = f"imported from {path.name} (version {bands.meta.version}, built {bands.meta.created_at})"
    return BandRegistry(workspace).save(bands, source=origin)


def mirror_report(
    workspace: Workspace,
    statistics_path: Path,
    *,
    currency: str,
    national_currency: str,
    rates_path: Path | None = None,
    importer_country: str | None = None,
    cif_fob_ratio: float = 1.0,
) -> pl.DataFrame:
    """Mirror gaps per HS6 × partner × year for the workspace's declarations."""
    statistics = read_mirror_statistics(statistics_path)
    years = statistics["year"].unique().to_list()
    frame = _declarations(
        workspace, f"year(declared_at) IN ({', '.join(str(int(y)) for y in years)})" if years else None
    )
    rates = _rates(rates_path, national_currency)
    return mirror_gaps(
        frame, statistics, rates=rates, currency=currency, importer_country=importer_country,
        cif_fob_ratio=cif_fob_ratio,
    )
