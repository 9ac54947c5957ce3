"""Trade-map numbers against a small workspace computed by hand: per origin (declarations,
value, fraud rate = frauds / inspected, revenue at stake from the latest assessments,
revenue recovered), the routes origin → departure, the date window and the office scope."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from clearlane.accounts.roles import Principal
from clearlane.errors import ValidationError
from clearlane.services import maps
from clearlane.store.workspace import Workspace

ANALYST = Principal("ana", "analyst")
COLUMNS = ("declaration_id", "item_no", "declared_at", "office_id", "hs_code",
           "origin_country", "departure_country", "customs_value", "inspected", "fraud",
           "revenue_recovered")
ROWS = [
    # D1: two items from CN (one shipped via AE), both inspected, one fraud
    ("D1", 1, date(2024, 1, 2), "ABJ01", "610910", "CN", "CN", 1000.0, True, True, 300.0),
    ("D1", 2, date(2024, 1, 2), "ABJ01", "610910", "CN", "AE", 500.0, True, False, None),
    # D2: CN via AE, not inspected; FR direct, inspected, fraud
    ("D2", 1, date(2024, 1, 5), "PORT02", "870323", "CN", "AE", 2000.0, None, None, None),
    ("D2", 2, date(2024, 1, 5), "PORT02", "870323", "FR", "FR", 800.0, True, True, 50.0),
    # D3: FR, inspected, no fraud; outside a window ending on Jan 5
    ("D3", 1, date(2024, 1, 9), "ABJ01", "220421", "FR", "BE", 400.0, True, False, None),
    # D4: no origin
    ("D4", 1, date(2024, 1, 3), "ABJ01", "220421", None, "BE", 100.0, None, None, None),
]
ASSESSMENTS = [
    # (declaration, item, model, expected revenue, assessed at): the latest one counts
    ("D1", 1, "m1", 10.0, datetime(2024, 1, 2, 9)),
    ("D1", 1, "m2", 40.0, datetime(2024, 1, 3, 9)),
    ("D2", 1, "m2", 25.0, datetime(2024, 1, 5, 9)),
    ("D3", 1, "m2", 7.0, datetime(2024, 1, 9, 9)),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = Workspace.create(Path(tmp_path_factory.mktemp("maps")) / "ws")
    with workspace.transaction() as con:
        for row in ROWS:
            con.execute(f"INSERT INTO declarations ({', '.join(COLUMNS)}, batch_id) "
                        f"VALUES ({', '.join('?' for _ in COLUMNS)}, 'b1')", list(row))
        for d, i, model, revenue, at in ASSESSMENTS:
            con.execute("INSERT INTO risk_assessments (declaration_id, item_no, model_version, "
                        "fraud_probability, expected_revenue, assessed_at) "
                        "VALUES (?, ?, ?, 0.5, ?, ?)", [d, i, model, revenue, at])
    return workspace


def test_numbers_per_origin(workspace: Workspace) -> None:
    report = maps.origins(workspace, ANALYST)
    by = {o.iso_a2: o for o in report.origins}
    assert [o.iso_a2 for o in report.origins] == ["CN", "FR"]  # by customs value
    cn, fr = by["CN"], by["FR"]
    assert (cn.declarations, cn.items, cn.customs_value) == (2, 3, 3500.0)
    assert (cn.inspected, cn.frauds, cn.fraud_rate) == (2, 1, 0.5)
    assert (cn.revenue_at_stake, cn.assessed) == (40.0 + 25.0, 2)  # D1/1: m2 (latest), not m1
    assert cn.revenue_recovered == 300.0
    assert (fr.declarations, fr.items, fr.customs_value) == (2, 2, 1200.0)
    assert (fr.inspected, fr.frauds, fr.fraud_rate) == (2, 1, 0.5)
    assert (fr.revenue_at_stake, fr.assessed, fr.revenue_recovered) == (7.0, 1, 50.0)
    assert report.unknown_origin_items == 1
    assert (report.first_date, report.last_date) == (date(2024, 1, 2), date(2024, 1, 9))


def test_window_and_office(workspace: Workspace) -> None:
    window = maps.MapWindow(date(2024, 1, 3), date(2024, 1, 5))
    by = {o.iso_a2: o for o in maps.origins(workspace, ANALYST, window).origins}
    assert (by["CN"].items, by["CN"].inspected, by["CN"].fraud_rate) == (1, 0, None)
    assert (by["FR"].items, by["FR"].frauds, by["FR"].fraud_rate) == (1, 1, 1.0)
    office = maps.origins(workspace, ANALYST, maps.MapWindow(office="ABJ01"))
    assert {o.iso_a2: o.items for o in office.origins} == {"CN": 2, "FR": 1}


def test_an_office_scoped_caller_counts_only_its_offices(workspace: Workspace) -> None:
    officer = Principal("o", "officer", offices=frozenset({"PORT02"}))
    report = maps.origins(workspace, officer)
    assert {o.iso_a2: o.items for o in report.origins} == {"CN": 1, "FR": 1}
    assert maps.origins(workspace, Principal("z", "officer")).origins == ()


def test_flows_go_from_origin_to_departure(workspace: Workspace) -> None:
    report = maps.flows(workspace, ANALYST)
    assert [(f.origin, f.departure, f.declarations, f.items, f.customs_value)
            for f in report.flows] == [("CN", "AE", 2, 2, 2500.0), ("FR", "BE", 1, 1, 400.0)]
    assert (report.direct_items, report.direct_value) == (2, 1800.0)


def test_a_window_that_ends_before_it_starts_is_refused(workspace: Workspace) -> None:
    with pytest.raises(ValidationError):
        maps.origins(workspace, ANALYST, maps.MapWindow(date(2024, 2, 1), date(2024, 1, 1)))
