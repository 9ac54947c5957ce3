"""Webhook payloads and signatures: one severity definition, a signature that verifies only
over the exact body with the right secret inside the replay window, and a payload that carries
the alert's reasons in words and the link to its case."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.cases.webhooks import (
    SEVERITIES,
    alert_payload,
    alert_severity,
    at_least,
    check_severity,
    encode,
    retry_delay_seconds,
    signature_header,
    signed_headers,
    verify_signature,
)
from clearlane.errors import ValidationError

SECRET = "k" * 40


def rule(severity: str | None = None, weight: float = 1.0) -> dict[str, object]:
    evidence = {"rule_id": "R1"} | ({"severity": severity} if severity else {})
    return {"code": "RULE_HIT", "text": "rule R1", "weight": weight, "evidence": evidence}


@pytest.mark.parametrize(("lane", "reasons", "expected"), [
    ("red", [], "high"),
    ("yellow", [], "medium"),
    ("blue", [], "low"),
    (None, [], "low"),
    ("yellow", [rule("critical")], "critical"),
    ("blue", [rule("high")], "high"),
    ("red", [rule("low")], "high"),
    ("blue", [rule(weight=4.0)], "critical"),  # a selection's reason: weight = severity rank
    ("green", [rule(weight=2.0)], "medium"),
    ("yellow", [{"code": "RANDOM_CONTROL", "text": "random", "weight": 9.0}], "medium"),
])
def test_severity_is_the_highest_of_the_lane_and_the_rule_hits(
        lane: str | None, reasons: list[dict[str, object]], expected: str) -> None:
    assert alert_severity(lane, reasons) == expected


def test_threshold_compares_severities_in_order_and_refuses_unknown_names() -> None:
    assert at_least("critical", "high") and at_least("high", "high")
    assert not at_least("medium", "high")
    with pytest.raises(ValidationError) as caught:
        check_severity("urgent")
    assert "critical" in caught.value.problems[0].reason


def test_payload_carries_reasons_in_words_the_office_revenue_and_the_case_link() -> None:
    alert = {"alert_id": "A0123456789ab", "declaration_id": "D1", "item_no": 2,
             "office_id": "ABJ01", "lane": "red", "source": "selection", "source_id": "S1",
             "reasons": [{"code": "MODEL", "text": "top 1 % expected revenue", "weight": 1}],
             "expected_revenue": 1500.0, "fraud_probability": 0.8,
             "opened_at": datetime(2026, 12, 6, 9, 30)}
    body = json.loads(encode(alert_payload(alert, "high")))
    assert body["event"] == "alert.opened"
    sent = body["alert"]
    assert sent["link"] == "/api/v1/cases/A0123456789ab"
    assert sent["reasons"] == [{"code": "MODEL", "text": "top 1 % expected revenue"}]
    assert sent["summary"] == "top 1 % expected revenue"
    assert (sent["office_id"], sent["lane"], sent["severity"]) == ("ABJ01", "red", "high")
    assert sent["expected_revenue"] == 1500.0
    assert sent["opened_at"] == "2026-12-06T09:30:00Z"


@given(st.binary(max_size=300), st.integers(0, 2**40))
def test_a_signature_verifies_the_exact_body_with_the_secret(body: bytes, t: int) -> None:
    header = signature_header(SECRET, t, body)
    assert verify_signature(SECRET, header, body, t)
    assert not verify_signature("x" * 40, header, body, t)  # another secret
    assert not verify_signature(SECRET, header, body + b" ", t)  # a changed body


def test_an_old_or_future_timestamp_is_refused_as_a_replay() -> None:
    body = b'{"a":1}'
    header = signature_header(SECRET, 1_000_000, body)
    assert verify_signature(SECRET, header, body, 1_000_000 + 300)
    assert not verify_signature(SECRET, header, body, 1_000_000 + 301)
    assert not verify_signature(SECRET, header, body, 1_000_000 - 301)
    # the timestamp is signed: moving it breaks the signature
    moved = header.replace("t=1000000", "t=1000200")
    assert not verify_signature(SECRET, moved, body, 1_000_200)
    assert not verify_signature(SECRET, "garbage", body, 1_000_000)
    assert not verify_signature(SECRET, "t=abc,v1=00", body, 1_000_000)


def test_a_rotated_secret_verifies_against_either_signature() -> None:
    body = b"{}"
    old = signature_header("o" * 40, 50, body)
    new = signature_header(SECRET, 50, body)
    both = old + "," + new.split(",", 1)[1]
    assert verify_signature(SECRET, both, body, 50)
    assert verify_signature("o" * 40, both, body, 50)


def test_headers_name_the_event_and_the_delivery() -> None:
    headers = signed_headers(SECRET, 7, b"{}", "alert.opened", "A1")
    assert headers["X-Clearlane-Event"] == "alert.opened"
    assert headers["X-Clearlane-Delivery"] == "A1"
    assert headers["X-Clearlane-Signature"].startswith("t=7,v1=")
    assert SECRET not in "".join(headers.values())


def test_retries_wait_longer_each_time_up_to_a_cap() -> None:
    waits = [retry_delay_seconds(n, 30) for n in range(1, 10)]
    assert waits[:4] == [30, 60, 120, 240]
    assert waits == sorted(waits) and max(waits) == 3600


def test_every_severity_is_named_in_order() -> None:
    assert SEVERITIES == ("low", "medium", "high", "critical")
