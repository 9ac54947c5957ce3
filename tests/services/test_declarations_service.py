"""The declaration read service: paging, filters, office scope, lanes after overrides, the
audited detail read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.api.reads_fixtures import OTHER_OFFICE, workspace_copy

from clearlane.accounts.roles import Principal
from clearlane.errors import NotFoundError, ValidationError
from clearlane.services import declarations as service
from clearlane.services.audit import acting_as
from clearlane.services.selection import latest_selection, override_lane
from clearlane.store.workspace import Workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return workspace_copy(tmp_path_factory, "declarations-ws")


def _ids(workspace: Workspace, where: str = "TRUE") -> list[str]:
    return workspace.query(f"SELECT DISTINCT declaration_id, min(declared_at) AS d FROM "
                           f"declarations WHERE {where} GROUP BY ALL ORDER BY d, "
                           "declaration_id")["declaration_id"].to_list()


def _walk(workspace: Workspace, limit: int, **kwargs: object) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = service.list_declarations(workspace, limit=limit, cursor=cursor,
                                         **kwargs)
        ids += [s.declaration_id for s in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids


@settings(max_examples=8)
@given(limit=st.integers(1, 400))
def test_any_page_size_lists_every_declaration_once_in_date_order(
        workspace: Workspace, limit: int) -> None:
    assert _walk(workspace, limit) == _ids(workspace)


def test_office_scope_filters_lists_and_hides_details(workspace: Workspace) -> None:
    scoped = frozenset({OTHER_OFFICE})
    assert _walk(workspace, 500, offices=scoped) == _ids(workspace,
                                                          f"office_id = '{OTHER_OFFICE}'")
    assert _walk(workspace, 500, offices=frozenset()) == []
    elsewhere = _ids(workspace, f"office_id <> '{OTHER_OFFICE}'")[0]
    with pytest.raises(NotFoundError, match="no declaration"):
        service.get_declaration(workspace, elsewhere, offices=scoped)


def test_office_scope_of_principals() -> None:
    assert service.office_scope(Principal("a", "analyst")) is None
    assert service.office_scope(Principal("o", "officer", offices=frozenset({"X"}))) == {"X"}
    assert service.office_scope(Principal("o", "officer")) == frozenset()


def test_an_override_sets_the_declaration_lane(workspace: Workspace) -> None:
    green = service.list_declarations(workspace, service.DeclarationQuery(lane="green"),
                                      limit=1).items[0]
    override_lane(workspace, declaration_id=green.declaration_id, to_lane="red",
                  justification="tip-off from the port", officer_id="o1",
                  selection_id=latest_selection(workspace))
    reds = _walk(workspace, 1000, query=service.DeclarationQuery(lane="red"))
    assert green.declaration_id in reds
    detail = service.get_declaration(workspace, green.declaration_id)
    assert detail.lane == "red"
    assert all(i.lane is not None and i.lane.overridden_from == "green" for i in detail.items)


def test_a_detail_read_is_audited_with_the_actor(workspace: Workspace) -> None:
    declaration = _ids(workspace)[3]
    with acting_as("user:someone"):
        detail = service.get_declaration(workspace, declaration)
    last = workspace.query("SELECT actor, action, object_id, change FROM audit_log "
                           "ORDER BY sequence DESC LIMIT 1").row(0)
    assert last[:3] == ("user:someone", service.READ_ACTION, declaration)
    assert str(len(detail.items)) in last[3]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"cursor": "%%%"}, "cursor"),
    ({"cursor": "WyJ4Il0"}, "cursor"),  # a valid base64 JSON list of the wrong shape
    ({"limit": 0}, "limit"),
    ({"limit": service.MAX_PAGE + 1}, "limit"),
    ({"query": service.DeclarationQuery(lane="purple")}, "lane"),
    ({"query": service.DeclarationQuery(hs_prefix="85.1")}, "hs_code"),
])
def test_bad_input_names_the_field(workspace: Workspace, kwargs: dict[str, object],
                                   field: str) -> None:
    with pytest.raises(ValidationError) as error:
        service.list_declarations(workspace, **kwargs)
    assert [p.field for p in error.value.problems] == [field]
