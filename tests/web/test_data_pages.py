"""The quarantine browser shows each refused row with its file, row, field, value and reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.api.conftest import Server
from tests.api.conftest import test_settings as settings_for
from tests.api.guard_fixtures import audit_environment, new_workspace, running
from tests.web.conftest import signed_in

from clearlane.services.ingest import ingest_file
from clearlane.web.app import create_app

CSV = """declaration_id,item_no,declared_at,office_id,hs_code,origin_country,customs_value,goods_description
D001,1,2024-01-05,ABJ01,851713,CN,100.5,Mobile phones
D002,1,2024-13-45,ABJ01,851713,CN,100.5,Mobile phones
D003,1,2024-01-06,ABJ01,851713,CN,abc,Mobile phones
"""


@pytest.fixture(scope="module")
def quarantined_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("quarantine")
    with audit_environment(folder):
        workspace, tokens = new_workspace(folder)
        source = folder / "lodged.csv"
        source.write_text(CSV, encoding="utf-8")
        ingest_file(workspace, source, "canonical")
        with running(workspace, tokens, create_app(settings_for(workspace.path))) as server:
            yield server


def test_quarantine_lists_each_refused_row(quarantined_server: Server) -> None:
    client = signed_in(quarantined_server, "analyst")
    text = client.get("/quarantine").text
    assert "lodged.csv" in text
    assert "<code>2024-13-45</code>" in text and "declared_at" in text
    assert "<code>abc</code>" in text and "customs_value" in text
    quality = client.get("/quality").text
    assert 'href="/quarantine' in quality
