"""`clearlane quality` through Typer's runner."""

from __future__ import annotations

from pathlib import Path

from quality_fixtures import Crafted
from rich.console import Console
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.cli.quality import print_quality_summary
from clearlane.errors import NotFoundError
from clearlane.services.quality import quality_report

runner = CliRunner()


def test_quality_prints_the_summary_and_writes_html(crafted: Crafted, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(
        app, ["quality", "--workspace", str(crafted.workspace.path), "--html", str(out)],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    assert "Data quality" in result.output
    assert "TAX_RATE_ABOVE_100" in result.output
    assert "Unit-value outliers per HS6" in result.output
    assert out.exists() and str(out) in result.output.replace("\n", "")


def test_quality_for_one_batch_defaults_to_the_workspace_reports(crafted: Crafted) -> None:
    result = runner.invoke(
        app, ["quality", "-w", str(crafted.workspace.path), "--batch", "batch-b"],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    assert "batch batch-b" in result.output
    assert (crafted.workspace.reports_dir / "quality.html").exists()


def test_quality_unknown_batch_raises_not_found(crafted: Crafted) -> None:
    result = runner.invoke(app, ["quality", "-w", str(crafted.workspace.path), "-b", "nope"])
    assert isinstance(result.exception, NotFoundError)


def test_quality_without_workspace_raises_not_found(tmp_path: Path) -> None:
    result = runner.invoke(app, ["quality", "-w", str(tmp_path / "missing")])
    assert isinstance(result.exception, NotFoundError)


def test_summary_renders_on_any_console(crafted: Crafted) -> None:
    console = Console(record=True, width=100)
    print_quality_summary(quality_report(crafted.workspace), console)
    text = console.export_text()
    assert "Top issues" in text and "exporter_id" in text and "80.0%" in text
