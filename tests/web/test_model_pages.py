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


def test_model_drift_follows_the_most_important_features_and_the_score(
        model_server: Server) -> None:
    from clearlane.models import registry
    from clearlane.services.model_report import SCORE, cached_model_drift, model_drift

    workspace = model_server.workspace
    record = registry.get_model(workspace)
    gains = registry.load_model(workspace, record).feature_importance()
    expected = sorted((n for n, g in gains.items() if g > 0), key=lambda n: (-gains[n], n))[:5]
    drift = model_drift(workspace, record.version)
    assert drift.note is None and list(drift.features) == expected
    assert list(drift.gain_share) == sorted(drift.gain_share, reverse=True)
    assert 0 < sum(drift.gain_share) <= 1
    by_month = drift.by_month
    assert by_month.columns == ["period", "rows", SCORE, *expected]
    months = workspace.query(
        "SELECT count(DISTINCT date_trunc('month', declared_at)) FROM declarations "
        "WHERE declared_at > ?", [record.train_to]).item()
    assert by_month.height == months > 0
    assert by_month["period"].min() > record.train_to
    assert by_month["rows"].max() <= 3000 and drift.reference_rows > 0
    for column in (SCORE, *expected):
        assert by_month[column].drop_nulls().min() >= 0
    # the same items each time, and a smaller sample when asked
    assert model_drift(workspace, record.version).by_month.equals(by_month)
    small = model_drift(workspace, record.version, per_month=50)
    assert small.by_month["rows"].max() <= 50 and small.reference_rows == 50
    # the page shows it; a server computes it once per state of the declarations
    cache: dict[str, object] = {}
    assert cached_model_drift(workspace, cache, record.version) is cached_model_drift(
        workspace, cache, record.version)
    page = signed_in(model_server, "analyst").get(f"/models/{record.version}").text
    assert "Drift of the model&#39;s score and of its most important features" in page
    table = page.split('id="model-drift"')[1].split("</table>")[0]
    for name in expected:
        assert f">{name}</th>" in table
    first = by_month.row(0, named=True)
    assert f"{first[SCORE]:.3f}" in table


def test_an_anomaly_model_page_says_why_there_is_no_feature_drift(
        model_server: Server) -> None:
    from clearlane.models import registry
    from clearlane.services.model_report import model_drift

    anomaly = registry.get_model(model_server.workspace, None, kind="anomaly")
    drift = model_drift(model_server.workspace, anomaly.version)
    assert drift.by_month.height == 0 and drift.note is not None and "fraud" in drift.note
    page = signed_in(model_server, "analyst").get(f"/models/{anomaly.version}")
    assert page.status_code == 200 and "has no feature importance" in page.text
