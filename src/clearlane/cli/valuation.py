"""`clearlane valuation …`: reference value bands, price checks and mirror analysis."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, progress_bar, workspace_path
from clearlane.errors import ValidationError
from clearlane.services import valuation as service
from clearlane.store.exports import write_table
from clearlane.store.workspace import Workspace
from clearlane.valuation.bands import BandConfig

app = typer.Typer(
    help=(
        "Price verification: reference value bands per HS6 × origin × period, price checks "
        "(under-valuation risk indicators and revenue at risk) and mirror analysis. Every "
        "output is a risk indicator for targeting a valuation check, never a correct value."
    ),
    no_args_is_help=True,
)

RatesOption = Annotated[
    Path | None,
    typer.Option(
        "--rates",
        help="Exchange-rate table (CSV/Parquet: currency, valid_from, national_per_unit).",
    ),
]
NationalOption = Annotated[
    str, typer.Option("--national-currency", help="ISO 4217 code of customs_value in the data.")
]
VersionOption = Annotated[
    str | None, typer.Option("--version", "-v", help="Band version (default: the latest).")
]
SinceOption = Annotated[str | None, typer.Option("--since", help="First declaration date, YYYY-MM-DD.")]
UntilOption = Annotated[str | None, typer.Option("--until", help="Last declaration date, YYYY-MM-DD.")]


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError(f"{name} {value!r} is not a date; use YYYY-MM-DD") from None


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@app.command("build")
def build(
    workspace: WorkspaceOption = None,
    period: Annotated[str, typer.Option(help="Band period: month, quarter, year or all.")] = "quarter",
    currency: Annotated[
        str | None, typer.Option(help="Band currency (needs --rates unless national).")
    ] = None,
    rates: RatesOption = None,
    national_currency: NationalOption = "XOF",
    min_count: Annotated[int, typer.Option(help="Smallest cell a check uses before backing off.")] = 20,
    lower_q: Annotated[float, typer.Option(help="Lower band quantile.")] = 0.05,
    upper_q: Annotated[float, typer.Option(help="Upper band quantile.")] = 0.95,
    since: SinceOption = None,
    until: UntilOption = None,
    with_model: Annotated[
        bool, typer.Option("--with-model", help="Also fit the conditional quantile model (LightGBM).")
    ] = False,
) -> None:
    """Build reference value bands from the workspace's accepted declarations (new version)."""
    ws = Workspace.open(workspace_path(workspace))
    config = BandConfig(
        period=period, currency=currency, min_count=min_count, lower_q=lower_q, upper_q=upper_q
    )
    with progress_bar("Building value bands", total=4) as advance:
        outcome = service.build_workspace_bands(
            ws, config=config, national_currency=national_currency, rates_path=rates,
            since=_date(since, "--since"), until=_date(until, "--until"), with_model=with_model,
            progress=lambda done, total: advance(done, total),
        )
    meta = outcome.bands.meta
    console.print(
        f"Built value bands [bold]{meta.version}[/] from {meta.declarations:,} declarations "
        f"({meta.window_start} → {meta.window_end}), {outcome.bands.table.height:,} cells, "
        f"currency {meta.currency}, period {outcome.bands.config.period}; "
        f"{outcome.excluded_fraud:,} declarations with a fraud finding left out."
    )
    if outcome.model_path:
        console.print(f"Conditional quantile model: {outcome.model_path}")
    console.print("[dim]Bands are risk indicators for targeting checks, never a correct value.[/]")


@app.command("check")
def check(
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
    input_path: Annotated[
        Path | None, typer.Option("--input", help="Canonical CSV/Parquet to check instead of the workspace.")
    ] = None,
    rates: RatesOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    vat_rate: Annotated[float, typer.Option(help="VAT rate in percent added to the duty rate.")] = 0.0,
    model: Annotated[bool, typer.Option("--model", help="Add the quantile model to the score.")] = False,
    history: Annotated[
        bool, typer.Option("--history/--no-history",
                           help="Compare first with the importer's own accepted earlier declarations.")
    ] = True,
    output: Annotated[Path | None, typer.Option(help="Write all results to this .csv/.parquet.")] = None,
    top: Annotated[int, typer.Option(help="Show the riskiest N flagged declarations.")] = 10,
) -> None:
    """Check declarations against the bands: score (higher = riskier), flag, revenue at risk."""
    ws = Workspace.open(workspace_path(workspace))
    result = service.check_workspace(
        ws, version=version, rates_path=rates, input_path=input_path,
        since=_date(since, "--since"), until=_date(until, "--until"), vat_rate=vat_rate,
        use_model=model, use_history=history,
    )
    frame = result.frame
    flagged = int(frame["price_flag"].sum())
    console.print(
        f"Checked {frame.height:,} declarations against bands {result.bands_version}: "
        f"{flagged:,} flagged ({flagged / max(frame.height, 1):.1%}), expected revenue at risk "
        f"{frame['expected_revenue_at_risk'].sum():,.0f} (national currency, probability-weighted) "
        "— a risk indicator, not a value."
    )
    console.print(f"Revenue at risk {result.revenue_basis}.")
    if output is not None:
        write_table(frame, output)
        console.print(f"Results written to {output}")
    ranked = frame.with_row_index("_i").filter(pl.col("price_flag")).sort(
        "price_score", descending=True
    ).head(top)
    for row in ranked.iter_rows(named=True):
        ident = f"{row.get('declaration_id', row['_i'])}/{row.get('item_no', 1)}"
        console.print(f"\n[bold]{ident}[/] score {row['price_score']:.2f}")
        for reason in result.reasons(int(row["_i"])):
            console.print(f"  [yellow]{reason.code}[/] {reason.text}", highlight=False)


@app.command("show")
def show(
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
    hs: Annotated[str | None, typer.Option(help="HS code or prefix to show bands for.")] = None,
    origin: Annotated[str | None, typer.Option(help="Origin country (alpha-2).")] = None,
    level: Annotated[str | None, typer.Option(help="hs6_origin, hs6, hs4 or hs2.")] = None,
    basis: Annotated[str | None, typer.Option(help="kg or unit.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
) -> None:
    """List band versions, or show the bands of one version filtered by HS/origin."""
    ws = Workspace.open(workspace_path(workspace))
    if not any((hs, origin, level, basis, version)):
        table = Table(title="Value band versions (risk indicators, not values)")
        for col in ("version", "source", "window", "declarations", "cells", "currency", "period"):
            table.add_column(col)
        for bands in service.list_bands(ws):
            m = bands.meta
            table.add_row(
                m.version, m.source, f"{m.window_start} → {m.window_end}", f"{m.declarations:,}",
                f"{bands.table.height:,}", m.currency, str(m.config.get("period")),
            )
        console.print(table)
        return
    bands, rows = service.show_bands(ws, version=version, hs=hs, origin=origin, level=level, basis=basis)
    cfg = bands.config
    table = Table(
        title=f"Bands {bands.meta.version} ({bands.meta.currency} per unit; "
        f"band = {cfg.lower_q:.0%}–{cfg.upper_q:.0%} quantiles of trimmed history)"
    )
    cols = ("basis", "unit", "level", "hs", "origin", "period", "n", "n_trimmed", "low", "median", "high")
    for col in cols:
        table.add_column(col, justify="right" if col in {"n", "n_trimmed", "low", "median", "high"} else "left")
    for row in rows.head(limit).iter_rows(named=True):
        table.add_row(*[_fmt(row[c]) for c in cols])
    console.print(table)
    console.print(f"{rows.height:,} matching cells; cells under {cfg.min_count} trimmed rows back off.")


@app.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="Target .csv or .parquet file.")],
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
) -> None:
    """Export a band version (with its data window and settings) to share it."""
    ws = Workspace.open(workspace_path(workspace))
    bands = service.export_bands(ws, path, version)
    console.print(f"Exported bands {bands.meta.version} ({bands.table.height:,} cells) to {path}")


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="A band file written by `valuation export`.")],
    workspace: WorkspaceOption = None,
    trust_artifact: Annotated[bool, typer.Option(
        "--trust-artifact", help="Read a band file from outside the workspace (its bands decide "
        "which prices are flagged: only a file whose origin you trust).")] = False,
) -> None:
    """Import a shared band file as a new version of this workspace."""
    ws = Workspace.open(workspace_path(workspace))
    bands = service.import_bands(ws, path, trust=trust_artifact)
    console.print(
        f"Imported {path} as bands {bands.meta.version} ({bands.table.height:,} cells, window "
        f"{bands.meta.window_start} → {bands.meta.window_end}); {bands.meta.source}"
    )


@app.command("mirror")
def mirror(
    statistics: Annotated[
        Path, typer.Argument(help="Comtrade-style CSV: reporter, partner, hs6, year, value, quantity.")
    ],
    workspace: WorkspaceOption = None,
    currency: Annotated[str, typer.Option(help="Currency of the statistics' values.")] = "USD",
    rates: RatesOption = None,
    national_currency: NationalOption = "XOF",
    importer: Annotated[
        str | None, typer.Option(help="Keep statistics whose partner is this country (us).")
    ] = None,
    cif_fob_ratio: Annotated[float, typer.Option(help="Factor from partner FOB to CIF.")] = 1.0,
    output: Annotated[Path | None, typer.Option(help="Write the full report (.csv/.parquet).")] = None,
    top: Annotated[int, typer.Option(help="Rows to show.")] = 20,
) -> None:
    """Mirror analysis: partner-reported exports vs declared imports per HS6 × partner × year."""
    ws = Workspace.open(workspace_path(workspace))
    report = service.mirror_report(
        ws, statistics, currency=currency, national_currency=national_currency, rates_path=rates,
        importer_country=importer, cif_fob_ratio=cif_fob_ratio,
    )
    if output is not None:
        write_table(report, output, "parquet" if output.suffix.lower() == ".parquet" else "csv")
    table = Table(title=f"Mirror gaps ({currency}; largest first) — risk indicators, not evidence")
    cols = ("hs6", "partner_country", "year", "partner_value", "declared_value", "value_gap",
            "gap_share", "declarations")
    for col in cols:
        table.add_column(col)
    for row in report.head(top).iter_rows(named=True):
        values = [_fmt(row[c]) for c in cols]
        if row["gap_share"] is not None:
            values[6] = f"{row['gap_share']:.0%}"
        table.add_row(*values)
    console.print(table)
