"""Alert states, the closing form and attachment checks (pure functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.cases.alerts import (
    MAX_ATTACHMENT_BYTES,
    CloseForm,
    alert_id_for,
    check_attachment,
    check_attachment_name,
    check_can_act,
    check_snooze_until,
    effective_status,
    sniff_media_type,
)
from clearlane.errors import ConflictError, ValidationError

NOW = datetime(2024, 3, 1, 12, 0)
times = st.one_of(st.none(), st.integers(-600, 600).map(lambda m: NOW + timedelta(minutes=m)))


@given(st.sampled_from(["open", "snoozed", "closed"]), st.one_of(st.none(), st.text(max_size=5)),
       times, times)
def test_effective_status_follows_the_clock(status: str, locked_by: str | None,
                                             locked_until: datetime | None,
                                             snoozed_until: datetime | None) -> None:
    now = effective_status(status, locked_by, locked_until, snoozed_until, NOW)
    later = effective_status(status, locked_by, locked_until, snoozed_until,
                             NOW + timedelta(days=1))
    assert now in ("open", "locked", "snoozed", "closed")
    if status == "closed":
        assert now == later == "closed"
    else:
        assert later == "open"  # every lock and snooze of the window has ended a day later
    if now == "locked":
        assert locked_until is not None and locked_until > NOW


def test_a_lock_held_by_another_is_a_conflict_naming_them_until_it_expires() -> None:
    until = NOW + timedelta(minutes=30)
    with pytest.raises(ConflictError, match=r"locked by ada until 2024-03-01T12:30:00"):
        check_can_act("open", "ada", until, None, NOW, "bob", "A1")
    assert check_can_act("open", "ada", until, None, NOW, "ada", "A1") == "locked"
    assert check_can_act("open", "ada", until, None, until, "bob", "A1") == "open"
    with pytest.raises(ConflictError, match="closed"):
        check_can_act("closed", None, None, None, NOW, "ada", "A1")


@given(st.text(min_size=1, max_size=30), st.integers(1, 10_000))
def test_alert_ids_are_stable_and_url_safe(declaration_id: str, item_no: int) -> None:
    first = alert_id_for(declaration_id, item_no)
    assert first == alert_id_for(declaration_id, item_no)
    assert len(first) == 13 and first[0] == "A" and int(first[1:], 16) >= 0
    assert first != alert_id_for(declaration_id, item_no + 1)


def test_the_close_form_is_checked_like_an_outcome() -> None:
    with pytest.raises(ValidationError) as info:
        CloseForm(fraud=False, revenue_recovered=10.0).validated()
    assert info.value.problems[0].field == "revenue_recovered"
    with pytest.raises(ValidationError):
        CloseForm(fraud=True, revenue_recovered=float("nan")).validated()
    form = CloseForm(fraud=True, critical=True, revenue_recovered=5.0,
                     finding="  undervalued  ").validated()
    assert form.finding == "undervalued" and form.label() == "critical"
    row = form.outcome_row("D1", 2, "ada", date(2024, 3, 1))
    assert row["inspected_at"] == date(2024, 3, 1) and row["officer_id"] == "ada"
    assert CloseForm(fraud=False).label() == "no fraud"


def test_a_snooze_ends_in_the_future_in_utc() -> None:
    with pytest.raises(ValidationError) as info:
        check_snooze_until(date(2024, 3, 1), NOW)
    assert info.value.problems[0].field == "until"
    assert check_snooze_until(date(2024, 3, 2), NOW) == datetime(2024, 3, 2)
    aware = datetime(2024, 3, 1, 15, 0, tzinfo=timezone(timedelta(hours=2)))
    assert check_snooze_until(aware, NOW) == datetime(2024, 3, 1, 13, 0)
    assert check_snooze_until(datetime(2024, 3, 1, 13, tzinfo=UTC), NOW).tzinfo is None


@pytest.mark.parametrize(("content", "media_type"), [
    (b"%PDF-1.7\n...", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    ("Seals intact.\r\n\tÉtat: conforme\n".encode(), "text/plain"),
    (b"MZ\x90\x00", None),
    (b"text with a \x00 byte", None),
    (b"\xc3\x28 invalid utf-8", None),
])
def test_types_are_recognised_by_content(content: bytes, media_type: str | None) -> None:
    assert sniff_media_type(content) == media_type


def test_attachments_are_size_limited_and_must_match_their_claimed_type() -> None:
    assert check_attachment(b"%PDF-1.4", "a.pdf", "application/pdf") == "application/pdf"
    assert check_attachment(b"hello", "a.txt", "text/plain; charset=utf-8") == "text/plain"
    assert check_attachment(b"hello", "a.txt", None) == "text/plain"
    for content, claimed, field in ((b"", None, "content"),
                                    (b"a" * (MAX_ATTACHMENT_BYTES + 1), None, "content"),
                                    (b"%PDF-1.4", "image/png", "Content-Type")):
        with pytest.raises(ValidationError) as info:
            check_attachment(content, "x", claimed)
        assert info.value.problems[0].field == field
    for name in ("", "../etc/passwd", "a\\b", "x" * 201, "a\nb"):
        with pytest.raises(ValidationError):
            check_attachment_name(name)
