"""The model pages on a workspace with a trained fraud model whose later declarations were
assessed and partly inspected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from tests.api.conftest import Server
from tests.api.conftest import test_settings as settings_for
from tests.api.guard_fixtures import audit_environment, new_workspace, running
from tests.web.conftest import csrf_of, signed_in

from clearlane.services.ingest import ingest_file
from clearlane.services.model_report import model_report
from clearlane.services.risk import assess_declarations, train_models
from clearlane.synth import SynthConfig, generate
from clearlane.web.app import create_app


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("models")
    with audit_environment(folder):
        workspace, tokens = new_workspace(folder)
        data = generate(SynthConfig(n_items=6000, days=240, seed=5)).declarations
        path = folder / "d.parquet"
        data.write_parquet(path)
        ingest_file(workspace, path, "canonical")
        train_models(workspace, date_to=date(2024, 6, 30), seed=1, search=False, promote=True)
        assess_declarations(workspace, date_from=date(2024, 7, 1))
        # a candidate trained a month later, not promoted (compared on the days after it)
        train_models(workspace, date_to=date(2024, 7, 31), seed=2, search=False)
        with running(workspace, tokens, create_app(settings_for(workspace.path))) as server:
            yield server


def test_model_page_shows_out_of_time_calibration(model_server: Server) -> None:
    report = model_report(model_server.workspace)
    assert report.inspected_after > 0
    client = signed_in(model_server, "analyst")
    listing = client.get("/models").text
    assert f'href="/models/{report.model.version}"' in listing
    page = client.get(f"/models/{report.model.version}").text
    if report.calibration is not None:
        assert f"{report.inspected_after:,} inspected items declared after" in page
        assert "<svg class=\"chart\"" in page
    else:
        assert "are needed to draw the calibration" in page
    assert "Mean fraud probability per month" in page


def test_calibration_uses_only_declarations_after_the_window(model_server: Server) -> None:
    report = model_report(model_server.workspace)
    with model_server.workspace.connect() as con:
        later = con.execute(
            "SELECT count(*) FROM risk_assessments r JOIN declarations d "
            "USING (declaration_id, item_no) WHERE r.model_version = ? AND d.inspected "
            "AND d.fraud IS NOT NULL AND d.declared_at > ?",
            [report.model.version, report.model.train_to]).fetchone()
    assert later is not None and report.inspected_after == later[0]
    assert str(report.model.train_to) <= "2024-06-30"


def test_an_analyst_promotes_a_candidate_and_rolls_back(model_server: Server) -> None:
    from clearlane.models.registry import get_model

    promoted = get_model(model_server.workspace).version
    with model_server.workspace.connect() as con:
        candidates = con.execute("SELECT version FROM models WHERE kind = 'fraud' AND "
                                 "status <> 'promoted'").fetchall()
    assert candidates, "the fixture trains a candidate after the promoted model"
    candidate = candidates[0][0]
    client = signed_in(model_server, "analyst")
    page = client.get(f"/models/{candidate}").text
    assert "Compared with the promoted model" in page
    token = csrf_of(page)
    done = client.post(f"/models/{candidate}/promote",
                       data={"csrf_token": token, "reason": "higher AUC on held-out days"})
    assert done.status_code == 303
    assert get_model(model_server.workspace).version == candidate
    officer = signed_in(model_server, "officer")
    assert officer.post(f"/models/{promoted}/promote",
                        data={"csrf_token": token}).status_code == 403
    back = client.post("/models/rollback/fraud", data={"csrf_token": token})
    assert back.status_code == 303
    assert get_model(model_server.workspace).version == promoted


def test_feature_drift_is_measured_against_the_training_window(model_server: Server) -> None:
    report = model_report(model_server.workspace)
    drift = report.feature_drift
    assert drift.height > 0
    assert drift["period"].min() > report.model.train_to  # months after the window only
    assert drift["customs_value"].drop_nulls().min() >= 0
    page = signed_in(model_server, "analyst").get(f"/models/{report.model.version}").text
    assert "Drift of the declarations since the training window" in page
