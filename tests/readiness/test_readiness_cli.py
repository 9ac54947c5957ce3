"""The terminal flow driven programmatically, import/export, compare, and the HTML/PDF report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.errors import ConflictError, ValidationError
from clearlane.readiness.questionnaire import load_questionnaire
from clearlane.services import readiness as service
from clearlane.store.workspace import Workspace

Q = load_questionnaire()
runner = CliRunner()


def _run(workspace: Workspace, *args: str, input: str | None = None) -> str:
    result = runner.invoke(app, ["readiness", *args, "-w", str(workspace.path)], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_interactive_flow_saves_each_answer_and_resumes(workspace: Workspace) -> None:
    # Three answers (with evidence on the first, one "don't know"), an invalid entry, then quit.
    first = "Customs of Utopia\n" + "2\nDecree 2025-14\n" + "9\n3\n\n" + "?\n\n" + "q\n"
    out = _run(workspace, input=first)
    assert "Please answer 0, 1, 2, 3, 4, ? or q." in out
    assert "Answers saved" in out
    [summary] = service.list_assessments(workspace)
    saved = service.get_assessment(workspace, summary.id)
    assert saved.levels() == {"strategy.mandate": 2, "strategy.use_cases": 3,
                              "strategy.alignment": None}
    assert saved.answers["strategy.mandate"].evidence == "Decree 2025-14"
    assert (workspace.path / "readiness" / "assessments" / f"{saved.id}.yaml").exists()

    # Resume: the remaining 33 questions, all at level 4.
    out = _run(workspace, input="4\n\n" * (len(Q.questions) - 3))
    assert f"Resuming assessment {saved.id} (3 of 36 answered)" in out
    assert "All questions answered." in out
    done = service.get_assessment(workspace, saved.id)
    assert done.is_complete(Q) and done.levels()["strategy.mandate"] == 2
    assert "Overall readiness (weakest area)" in out
    assert len(service.list_assessments(workspace)) == 1  # resumed, not restarted


def test_interactive_flow_in_french(workspace: Workspace) -> None:
    out = _run(workspace, "--lang", "fr", "--administration", "Douane du Sénégal", input="q\n")
    assert "Stratégie - question 1 sur 36" in out
    assert "La direction a-t-elle donné un mandat explicite" in out
    assert "Réponses enregistrées" in out


def test_export_import_round_trip_and_conflict(workspace: Workspace, tmp_path: Path) -> None:
    a = service.start_assessment(workspace, "Customs of Utopia")
    service.record_answer(workspace, a.id, "data.digital", 3, "single system since 2019")
    out_json, out_yaml = tmp_path / "a.json", tmp_path / "a.yaml"
    _run(workspace, "export", a.id, str(out_json))
    _run(workspace, "export", a.id, str(out_yaml))
    assert json.loads(out_json.read_text())["answers"]["data.digital"]["level"] == 3
    assert yaml.safe_load(out_yaml.read_text()) == json.loads(out_json.read_text())
    with pytest.raises(ConflictError):
        service.import_answers(workspace, out_json)
    data = json.loads(out_json.read_text())
    del data["id"]
    data["answers"]["data.standards"] = 2
    out_json.write_text(json.dumps(data))
    assert "imported assessment" in _run(workspace, "import", str(out_json))
    imported = [s for s in service.list_assessments(workspace) if s.id != a.id]
    assert len(imported) == 1 and imported[0].answered == 2


def test_import_rejects_invalid_answers_with_clear_errors(workspace: Workspace,
                                                          tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"administration": "X", "answers": {"data.digital": 5}}))
    with pytest.raises(ValidationError, match=r"question data\.digital\.level.*5"):
        service.import_answers(workspace, bad)
    assert service.list_assessments(workspace) == []


def test_compare_two_assessments_over_time(workspace: Workspace) -> None:
    first = service.start_assessment(workspace, "Customs of Utopia")
    second = service.start_assessment(workspace, "Customs of Utopia")
    for q in Q.questions:
        service.record_answer(workspace, first.id, q.id, 1)
        service.record_answer(workspace, second.id, q.id, 3 if q.area == "data" else 1)
    _, _, comparison = service.compare_assessments(workspace, first.id, second.id)
    data = next(a for a in comparison.areas if a.area == "data")
    assert data.change == pytest.approx(50.0)
    assert comparison.overall_after == comparison.overall_before  # other areas still gate
    assert len(comparison.questions) == 6
    out = _run(workspace, "compare", first.id, second.id)
    assert "+50" in out and "Questions whose level changed" in out


def test_impact_interactive_flow(workspace: Workspace) -> None:
    iq = service.impact_questionnaire()
    risk_input = "1\n" * len(iq.risk)           # the least risky option everywhere
    mitigation_input = "y\n" * len(iq.mitigation)
    out = runner.invoke(app, ["readiness", "impact", "-w", str(workspace.path), "--use-case",
                              "ML selectivity at the port of Casablanca"],
                        input=risk_input + mitigation_input)
    assert out.exit_code == 0, out.output
    assert "Level I - little to no impact" in out.output
    assert "reduced by 15%" in out.output
    [record] = service.list_impacts(workspace)
    assert record.is_complete(iq)
    assert service.score_impact(record).mitigation_applied


def _render_pages(pdf: Path) -> list:
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 (dev extra) renders PDF pages")
    document = pdfium.PdfDocument(str(pdf))
    pages = []
    for page in document:
        text = page.get_textpage().get_text_range()
        image = page.render(scale=0.5).to_pil().convert("L")
        pages.append((text, image))
    return pages


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_report_html_and_pdf(workspace: Workspace, tmp_path: Path, lang: str) -> None:
    pytest.importorskip("reportlab", reason="reportlab renders the PDF report")
    a = service.start_assessment(workspace, "Customs of Utopia", lang=lang)
    for i, q in enumerate(Q.questions):
        service.record_answer(workspace, a.id, q.id, (i * 3) % 5, "evidence" if i % 4 else "")
    impact = service.start_impact(workspace, "ML selectivity at the port of Casablanca")
    html_path, pdf_path = service.render_report(workspace, a.id, lang=lang, out_dir=tmp_path,
                                                impact_ids=[impact.id])
    html = html_path.read_text(encoding="utf-8")
    assert "<svg" in html and "<polygon" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html

    pages = _render_pages(pdf_path)
    # summary + radar, actions, roadmap, impact, answers (may run over more pages)
    assert len(pages) >= 5
    titles = {"en": ["AI/ML readiness", "Prioritised actions", "Roadmap",
                     "Use-case impact assessment", "Answers and evidence"],
              "fr": ["préparation à l'IA", "Actions prioritaires", "Feuille de route",
                     "Évaluation de l'impact", "Réponses et preuves"]}[lang]
    starts = [next(i for i, (text, _) in enumerate(pages) if title in text) for title in titles]
    assert starts == sorted(starts) and starts[0] == 0
    for _, image in pages:
        lo, hi = image.getextrema()
        assert hi - lo > 100  # not blank: dark text on white
        ink = sum(image.histogram()[:200])  # pixels clearly darker than the white page
        assert ink > 300
    assert "Level IV" in pages[starts[3]][0] or "Niveau IV" in pages[starts[3]][0]
