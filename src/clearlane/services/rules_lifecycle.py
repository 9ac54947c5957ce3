"""The rules lifecycle: a workspace's risk profile as numbered versions, each a draft, then
published, then retired.

* **draft** — :func:`draft_rules` stores the YAML text of a risk profile (validated as
  ``clearlane rules validate`` does) as version N+1. Every version's text is immutable:
  editing a rule set means drafting a new version.
* **back-test** — :func:`backtest_draft` runs a draft over stored history
  (:mod:`clearlane.services.rules_backtest`) and stores the result with the draft.
* **publish** — :func:`publish_rules` makes a back-tested draft the workspace's one published
  rule set; the set published before it is retired (``superseded_by`` names the new one). A
  draft that was never back-tested is refused. Lodgement and ``clearlane select`` without
  ``--rules`` use the published set. **Four eyes** (maker-checker): the actor who drafted a
  version may not publish it (:class:`PermissionDeniedError` naming the version and its
  drafter); a second person publishes it. The actor is the audit actor (``user:NAME`` for a
  signed-in user or the CLI's ``--user``, ``key:NAME/PREFIX`` for an API key, else the OS
  user), so a draft made through a user's API key and published by the same user's session
  counts as two people: give each person one identity.
* **retire** — :func:`retire_rules` ends a draft or the published set; retired is final
  (draft the same text again to bring it back, as a new version). Retiring has no four-eyes
  rule: it puts no rule in force (lodgement and selection then run fewer rules, never an
  unreviewed one), a drafter must be able to withdraw their own draft, and a published set
  that misfires must be stoppable at once by whoever sees it; every retirement is audited.

Each rule inside keeps its own ``id`` and ``version``: publishing stores every rule version
in ``rule_versions`` (as a selection does), and a rule changed under a version already used
is refused with :class:`ConflictError` (raise its version). Every change is audited
(``rules.draft``, ``rules.backtest``, ``rules.publish``, ``rules.retire``) in its
transaction. Publishing needs ``rules:publish``; drafting and back-testing ``rules:edit``
(checked by the API and by the CLI's ``--user``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from clearlane.errors import ConflictError, NotFoundError, PermissionDeniedError
from clearlane.rules import RuleSet, parse_rules
from clearlane.services import audit
from clearlane.services.rules_backtest import backtest_rule_set
from clearlane.store.connection import Connection
from clearlane.store.workspace import Workspace

STATUSES: tuple[str, ...] = ("draft", "published", "retired")
"""A version's status: only a draft can be back-tested and published."""

_COLUMNS = ("version, profile, text, fingerprint, status, created_by, created_at, backtest, "
            "backtested_by, backtested_at, published_by, published_at, retired_by, retired_at, "
            "superseded_by")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class RuleSetVersion:
    """One stored version of the workspace's risk profile."""

    version: int
    profile: str
    text: str
    """The YAML text as drafted (never changed)."""
    fingerprint: str
    """SHA-256 of the profile's meaning (:meth:`RuleSet.fingerprint`)."""
    status: str
    created_by: str
    created_at: datetime
    backtest: dict[str, Any] | None
    """The latest back-test (:func:`~clearlane.services.rules_backtest.backtest_rule_set`)."""
    backtested_by: str | None
    backtested_at: datetime | None
    published_by: str | None
    published_at: datetime | None
    retired_by: str | None
    retired_at: datetime | None
    superseded_by: int | None
    """The version whose publication retired this one."""

    @property
    def label(self) -> str:
        """``basic v3``: how assessments cite the set (``versions.rules`` of an answer)."""
        return f"{self.profile} v{self.version}"

    def rules(self) -> RuleSet:
        """The parsed rule set (its ``source`` and ``version`` are the label)."""
        rules = parse_rules(self.text, source=self.label, default_name=self.profile)
        return replace(rules, version=self.label)


def _version(row: tuple[Any, ...]) -> RuleSetVersion:
    values = list(row)
    values[7] = json.loads(values[7]) if values[7] else None
    return RuleSetVersion(*values)


def _fetch(con: Connection, version: int) -> RuleSetVersion:
    row = con.execute(f"SELECT {_COLUMNS} FROM rule_sets WHERE version = ?",
                      [version]).fetchone()
    if row is None:
        known = [r[0] for r in con.execute(
            "SELECT version FROM rule_sets ORDER BY version").fetchall()]
        valid = ", ".join(map(str, known)) or "none yet (draft one with `clearlane rules draft`)"
        raise NotFoundError(f"no rule set version {version}; stored versions: {valid}")
    return _version(row)


def get_rule_set(workspace: Workspace, version: int) -> RuleSetVersion:
    """One stored version (:class:`NotFoundError` lists the stored ones)."""
    with workspace.connect() as con:
        return _fetch(con, version)


def list_rule_sets(workspace: Workspace) -> list[RuleSetVersion]:
    """Every stored version, newest first."""
    with workspace.connect() as con:
        rows = con.execute(f"SELECT {_COLUMNS} FROM rule_sets ORDER BY version DESC").fetchall()
    return [_version(r) for r in rows]


def published_marker(workspace: Workspace) -> tuple[int, str] | None:
    """(version, label) of the published set, or None: one small query, for caches (a version
    never changes, so the number names the content)."""
    with workspace.connect() as con:
        row = con.execute("SELECT version, profile FROM rule_sets "
                          "WHERE status = 'published'").fetchone()
    return None if row is None else (int(row[0]), f"{row[1]} v{row[0]}")


def published_version(workspace: Workspace) -> RuleSetVersion | None:
    """The published version, or None when no set is published."""
    with workspace.connect() as con:
        row = con.execute(f"SELECT {_COLUMNS} FROM rule_sets "
                          "WHERE status = 'published'").fetchone()
    return None if row is None else _version(row)


def published_rule_set(workspace: Workspace) -> RuleSet | None:
    """The published rule set (parsed), or None."""
    published = published_version(workspace)
    return None if published is None else published.rules()


def store_rule_versions(con: Connection, rules: RuleSet, now: datetime) -> None:
    """Store each rule version of ``rules`` in ``rule_versions`` the first time it is used;
    a rule whose definition differs from the one stored under its id and version is refused
    (:class:`ConflictError`: raise its version)."""
    for rule in rules:
        definition = json.dumps(rule.as_dict(), sort_keys=True, default=str)
        row = con.execute("SELECT definition FROM rule_versions WHERE rule_id = ? AND version = ?",
                          [rule.id, rule.version]).fetchall()
        if not row:
            con.execute("INSERT INTO rule_versions VALUES (?, ?, ?, ?, ?)",
                        [rule.id, rule.version, rules.name, definition, now])
        elif row[0][0] != definition:
            raise ConflictError(
                f"rule {rule.id} v{rule.version} differs from the version already used in this "
                f"workspace; raise its version (to v{rule.version + 1}) when you change a rule")


def _check_rule_versions(con: Connection, rules: RuleSet) -> None:
    """Refuse a rule changed under an id and version already used by a selection or stored
    in another version of the rule set."""
    definitions = {(r.id, r.version): json.dumps(r.as_dict(), sort_keys=True, default=str)
                   for r in rules}
    known: dict[tuple[str, int], tuple[str, str]] = {}
    for rule_id, version, definition in con.execute(
            "SELECT rule_id, version, definition FROM rule_versions").fetchall():
        known[(rule_id, int(version))] = (definition, "used by a selection or a published set")
    for version, profile, text in con.execute(
            "SELECT version, profile, text FROM rule_sets ORDER BY version").fetchall():
        for rule in parse_rules(text, source=f"{profile} v{version}", default_name=profile):
            definition = json.dumps(rule.as_dict(), sort_keys=True, default=str)
            known.setdefault((rule.id, rule.version),
                             (definition, f"in rule set {profile} v{version}"))
    for key, definition in definitions.items():
        if key in known and known[key][0] != definition:
            raise ConflictError(
                f"rule {key[0]} v{key[1]} differs from the rule {key[0]} v{key[1]} "
                f"{known[key][1]}; raise its version (to v{key[1] + 1}) when you change a rule")


def draft_rules(workspace: Workspace, text: str, *, source: str = "<text>",
                actor: str | None = None) -> RuleSetVersion:
    """Store ``text`` (a risk profile, YAML) as a new draft version.

    Raises :class:`ValidationError` naming the line, rule and field of every problem;
    :class:`ConflictError` when a rule is changed under a version already used, or when a
    draft or the published version already holds the same rules (nothing to draft).
    """
    rules = parse_rules(text, source=source)
    who = actor or audit.current_actor()
    now = _now()
    fingerprint = rules.fingerprint()
    with workspace.transaction() as con:
        _check_rule_versions(con, rules)
        same = con.execute("SELECT version, status FROM rule_sets WHERE fingerprint = ? "
                           "AND status <> 'retired' ORDER BY version", [fingerprint]).fetchone()
        if same is not None:
            raise ConflictError(f"version {same[0]} ({same[1]}) already holds these rules; "
                                "nothing to draft")
        row = con.execute("SELECT coalesce(max(version), 0) + 1 FROM rule_sets").fetchone()
        version = int(row[0]) if row else 1
        con.execute("INSERT INTO rule_sets (version, profile, text, fingerprint, status, "
                    "created_by, created_at) VALUES (?, ?, ?, ?, 'draft', ?, ?)",
                    [version, rules.name, text, fingerprint, who, now])
        audit.record(con, action="rules.draft", object_type="rule_set", object_id=str(version),
                     change={"profile": rules.name, "fingerprint": fingerprint,
                             "rules": [r.label for r in rules]})
        return _fetch(con, version)


def _require_draft(current: RuleSetVersion, action: str) -> None:
    if current.status != "draft":
        raise ConflictError(
            f"rule set {current.label} is {current.status}: only a draft can be {action}; "
            "draft a new version (`clearlane rules draft`) to change the rules")


def backtest_draft(workspace: Workspace, version: int, *, date_from: date | None = None,
                   date_to: date | None = None, actor: str | None = None) -> RuleSetVersion:
    """Back-test a draft over the stored declarations of the window and store the result
    (the latest back-test replaces an earlier one)."""
    current = get_rule_set(workspace, version)
    _require_draft(current, "back-tested")
    result = backtest_rule_set(workspace, current.rules(), date_from=date_from,
                               date_to=date_to)
    who = actor or audit.current_actor()
    now = _now()
    with workspace.transaction() as con:
        _require_draft(_fetch(con, version), "back-tested")
        con.execute("UPDATE rule_sets SET backtest = ?, backtested_by = ?, backtested_at = ? "
                    "WHERE version = ?", [json.dumps(result), who, now, version])
        audit.record(con, action="rules.backtest", object_type="rule_set",
                     object_id=str(version), change={"totals": result["totals"],
                                                     "date_from": result["date_from"],
                                                     "date_to": result["date_to"]})
        return _fetch(con, version)


def drafter_refusal(rule_set: RuleSetVersion, actor: str | None = None) -> str | None:
    """Why ``actor`` (default: the current audit actor) may not publish ``rule_set`` under the
    four-eyes rule, or None when they may: the one who drafted a version never publishes it."""
    who = actor or audit.current_actor()
    if rule_set.created_by != who:
        return None
    return (f"rule set {rule_set.label} was drafted by {rule_set.created_by}, who may not "
            "publish it (four-eyes rule): a second person with the permission rules:publish "
            "must publish it")


def publish_rules(workspace: Workspace, version: int, *,
                  actor: str | None = None) -> RuleSetVersion:
    """Publish a back-tested draft; the set published before it is retired (superseded).

    :class:`PermissionDeniedError` when ``actor`` drafted the version (four-eyes rule: a
    second person publishes it); :class:`ConflictError` for a version that is not a draft, a
    draft never back-tested, or a rule changed under a version already used.
    """
    who = actor or audit.current_actor()
    now = _now()
    with workspace.transaction() as con:
        current = _fetch(con, version)
        _require_draft(current, "published")
        if current.backtest is None:
            raise ConflictError(f"rule set {current.label} was never back-tested; back-test it "
                                f"first (`clearlane rules backtest {version}`)")
        refusal = drafter_refusal(current, who)
        if refusal is not None:
            raise PermissionDeniedError(refusal)
        store_rule_versions(con, current.rules(), now)
        previous = con.execute("SELECT version FROM rule_sets "
                               "WHERE status = 'published'").fetchone()
        if previous is not None:
            con.execute("UPDATE rule_sets SET status = 'retired', retired_by = ?, "
                        "retired_at = ?, superseded_by = ? WHERE version = ?",
                        [who, now, version, previous[0]])
            audit.record(con, action="rules.retire", object_type="rule_set",
                         object_id=str(previous[0]), change={"superseded_by": version})
        con.execute("UPDATE rule_sets SET status = 'published', published_by = ?, "
                    "published_at = ? WHERE version = ?", [who, now, version])
        audit.record(con, action="rules.publish", object_type="rule_set",
                     object_id=str(version),
                     change={"profile": current.profile, "fingerprint": current.fingerprint,
                             "supersedes": previous[0] if previous else None,
                             "backtested_at": str(current.backtested_at)})
        return _fetch(con, version)


def retire_rules(workspace: Workspace, version: int, *,
                 actor: str | None = None) -> RuleSetVersion:
    """Retire a draft or the published set (then no set is published: lodgement and
    ``clearlane select`` run no rules until another is published)."""
    who = actor or audit.current_actor()
    now = _now()
    with workspace.transaction() as con:
        current = _fetch(con, version)
        if current.status == "retired":
            raise ConflictError(f"rule set {current.label} is already retired")
        con.execute("UPDATE rule_sets SET status = 'retired', retired_by = ?, retired_at = ? "
                    "WHERE version = ?", [who, now, version])
        audit.record(con, action="rules.retire", object_type="rule_set",
                     object_id=str(version), change={"was": current.status})
        return _fetch(con, version)


def record_selection(con: Connection, selection_id: str, version: int) -> None:
    """Link a selection to the published set version it ran (in the selection's
    transaction)."""
    con.execute("INSERT INTO rule_set_selections VALUES (?, ?)", [selection_id, version])


@dataclass(frozen=True)
class RuleUse:
    """What one rule of a set version hit: lodgement answers and selection items."""

    rule_id: str
    version: int
    lodgement_hits: int
    selection_hits: int


@dataclass(frozen=True)
class RuleSetHistory:
    """A version with the assessments it produced: lodgement answers given while it was
    published (``versions.rules`` names it) and the selections that ran it."""

    rule_set: RuleSetVersion
    lodgements: int
    """Lodgement answers scored with this set."""
    lodgement_hits: int
    """Of those, answers with at least one rule hit."""
    selections: int
    """Batch selections that ran this set (``clearlane select`` without ``--rules``)."""
    selection_items: int
    """Lane decisions of those selections."""
    selection_hits: int
    """Rule hits those selections stored (``rule_hits``)."""
    rules: tuple[RuleUse, ...]

    @property
    def assessments(self) -> int:
        """Lodgement answers and selection lane decisions made with this set."""
        return self.lodgements + self.selection_items


def rule_history(workspace: Workspace, version: int | None = None) -> list[RuleSetHistory]:
    """Every version (or one), newest first, with the assessments it produced."""
    versions = ([get_rule_set(workspace, version)] if version is not None
                else list_rule_sets(workspace))
    with workspace.connect() as con:
        answers = {label: (int(n), int(hit)) for label, n, hit in con.execute(
            "SELECT json_extract_string(assessment, '$.versions.rules') AS label, count(*), "
            "count(*) FILTER (json_array_length(assessment, '$.rule_hits') > 0) "
            "FROM lodgements WHERE label IS NOT NULL GROUP BY 1").fetchall()}
        lodged_hits = {(label, hit): int(n) for label, hit, n in con.execute(
            "SELECT label, hit, count(*) FROM (SELECT json_extract_string(assessment, "
            "'$.versions.rules') AS label, unnest(json_extract_string(assessment, "
            "'$.rule_hits[*]')) AS hit FROM lodgements) WHERE label IS NOT NULL "
            "GROUP BY ALL").fetchall()}
        selections = {int(v): (int(s), int(i)) for v, s, i in con.execute(
            "SELECT u.set_version, count(DISTINCT u.selection_id), count(ld.selection_id) "
            "FROM rule_set_selections u LEFT JOIN lane_decisions ld USING (selection_id) "
            "GROUP BY 1").fetchall()}
        selected_hits = {(int(v), r, int(rv)): int(n) for v, r, rv, n in con.execute(
            "SELECT u.set_version, h.rule_id, h.rule_version, count(*) "
            "FROM rule_set_selections u JOIN rule_hits h USING (selection_id) "
            "GROUP BY ALL").fetchall()}
    out = []
    for current in versions:
        label = current.label
        uses = tuple(
            RuleUse(rule.id, rule.version, lodged_hits.get((label, rule.label), 0),
                    selected_hits.get((current.version, rule.id, rule.version), 0))
            for rule in current.rules())
        n_selections, items = selections.get(current.version, (0, 0))
        lodged, lodged_with_hits = answers.get(label, (0, 0))
        out.append(RuleSetHistory(current, lodged, lodged_with_hits, n_selections, items,
                                  sum(u.selection_hits for u in uses), uses))
    return out
