"""Read and validate a YAML risk profile; every problem names the file, line, rule and field.

Format (see ``docs/rules.md`` and ``rules/examples/basic.yaml``)::

    profile: basic
    watchlists:
      flagged_importers: {kind: importers, values: [QLRUBN9, 7JD1S2X]}
    rules:
      - id: R12
        version: 3
        title: Used vehicles from a trans-shipment hub
        justification: Past inspections found undervaluation on ...
        owner: risk-unit
        severity: high          # low | medium | high | critical
        lane: red               # red | yellow | blue | green
        mandatory: false
        valid_from: 2024-01-01  # optional, inclusive
        valid_to: 2026-12-31    # optional, inclusive
        when:                   # all must hold
          - {field: hs_code, prefix: ["8703"]}
          - {field: goods_description, regex: "used|second.hand"}
          - {field: customs_value, min: 1000000}
          - {field: extra.incoterm, in: [EXW, FCA]}
          - {field: importer_id, watchlist: flagged_importers}
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from clearlane.errors import Problem, ValidationError
from clearlane.rules.model import (
    LANES,
    OPERATORS,
    SEVERITIES,
    WATCHLIST_FIELDS,
    Condition,
    Rule,
    RuleSet,
    Watchlist,
)
from clearlane.schema.fields import FIELDS_BY_NAME, OUTCOME_FIELDS

_RULE_KEYS = {"id", "version", "title", "justification", "owner", "severity", "lane",
              "mandatory", "valid_from", "valid_to", "when"}
_REQUIRED = ("id", "version", "title", "justification", "owner", "severity", "lane", "when")
_NUMERIC_KINDS = {"int", "float"}
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")


class _Lines:
    """Line numbers (1-based) of mapping keys and sequence items, from the YAML node tree."""

    def __init__(self, text: str) -> None:
        self.rule_lines: list[int] = []
        self.key_lines: list[dict[str, int]] = []
        self.condition_lines: list[list[int]] = []
        try:
            root = yaml.compose(text)
        except yaml.YAMLError:
            return
        if not isinstance(root, yaml.MappingNode):
            return
        for key, value in root.value:
            if key.value == "rules" and isinstance(value, yaml.SequenceNode):
                for item in value.value:
                    self.rule_lines.append(item.start_mark.line + 1)
                    keys: dict[str, int] = {}
                    conds: list[int] = []
                    if isinstance(item, yaml.MappingNode):
                        for k, v in item.value:
                            keys[str(k.value)] = k.start_mark.line + 1
                            if k.value == "when" and isinstance(v, yaml.SequenceNode):
                                conds = [c.start_mark.line + 1 for c in v.value]
                    self.key_lines.append(keys)
                    self.condition_lines.append(conds)

    def rule(self, index: int, key: str | None = None) -> int | None:
        if index >= len(self.rule_lines):
            return None
        if key is not None and key in self.key_lines[index]:
            return self.key_lines[index][key]
        return self.rule_lines[index]

    def condition(self, index: int, position: int) -> int | None:
        if index < len(self.condition_lines) and position < len(self.condition_lines[index]):
            return self.condition_lines[index][position]
        return self.rule(index, "when")


def load_rules(path: Path | str) -> RuleSet:
    """Read and validate a risk profile file; raises :class:`ValidationError` listing problems."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        from clearlane.errors import NotFoundError

        raise NotFoundError(f"rules file {str(path)!r} does not exist") from None
    return parse_rules(text, source=str(path), default_name=path.stem)


def parse_rules(text: str, source: str = "<text>", default_name: str = "rules") -> RuleSet:
    """Validate the YAML text of a risk profile and build its :class:`RuleSet`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise ValidationError(
            f"{source}: not valid YAML",
            [Problem("(file)", None, str(getattr(exc, "problem", exc)), row, source)],
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValidationError(
            f"{source}: a risk profile is a mapping with a 'rules' list",
            [Problem("rules", None, "missing or not a list", None, source)],
        )
    lines = _Lines(text)
    problems: list[Problem] = []
    watchlists = _watchlists(data.get("watchlists") or {}, source, problems)
    names = {w.name: w for w in watchlists}
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["rules"]):
        rule = _rule(raw, index, lines, names, source, problems)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append(Problem("id", rule.id, f"rule {rule.id}: duplicate id (also at line "
                                    f"{seen[rule.id]})", rule.line, source))
            continue
        seen[rule.id] = rule.line or 0
        rules.append(rule)
    if problems:
        raise ValidationError(f"{source}: {len(problems)} problem(s) in the risk profile",
                              problems)
    return RuleSet(str(data.get("profile") or default_name), tuple(rules), tuple(watchlists),
                   source)


def _watchlists(raw: Any, source: str, problems: list[Problem]) -> list[Watchlist]:
    out: list[Watchlist] = []
    if not isinstance(raw, dict):
        problems.append(Problem("watchlists", None, "must be a mapping name -> {kind, values}",
                                None, source))
        return out
    for name, spec in raw.items():
        where = f"watchlist {name}"
        if not isinstance(spec, dict) or "values" not in spec:
            problems.append(Problem(where, None, "needs 'kind' and 'values'", None, source))
            continue
        kind = spec.get("kind")
        if kind not in WATCHLIST_FIELDS:
            problems.append(Problem(f"{where}.kind", str(kind), "must be one of "
                                    + ", ".join(WATCHLIST_FIELDS), None, source))
            continue
        values = spec["values"]
        if not isinstance(values, list) or not values:
            problems.append(Problem(f"{where}.values", None, "must be a non-empty list", None,
                                    source))
            continue
        out.append(Watchlist(str(name), kind, frozenset(str(v) for v in values),
                             str(spec.get("description", ""))))
    return out


def _rule(raw: Any, index: int, lines: _Lines, watchlists: dict[str, Watchlist], source: str,
          problems: list[Problem]) -> Rule | None:
    line = lines.rule(index)
    if not isinstance(raw, dict):
        problems.append(Problem(f"rules[{index}]", None, "a rule is a mapping", line, source))
        return None
    rid = str(raw.get("id", f"rules[{index}]"))
    before = len(problems)

    def bad(key: str, value: Any, reason: str) -> None:
        problems.append(Problem(key, None if value is None else str(value),
                                f"rule {rid}: {reason}", lines.rule(index, key), source))

    for key in _REQUIRED:
        if raw.get(key) in (None, ""):
            bad(key, None, "is required")
    for key in sorted(set(raw) - _RULE_KEYS):
        bad(key, raw[key], "unknown key; valid keys: " + ", ".join(sorted(_RULE_KEYS)))
    if "id" in raw and not _ID.match(str(raw["id"])):
        bad("id", raw["id"], "must start with a letter, then letters, digits, '_', '-', '.'")
    version = raw.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                or version < 1):
        bad("version", version, "must be a whole number >= 1")
    if raw.get("severity") is not None and raw["severity"] not in SEVERITIES:
        bad("severity", raw["severity"], "must be one of " + ", ".join(SEVERITIES))
    if raw.get("lane") is not None and raw["lane"] not in LANES:
        bad("lane", raw["lane"], "must be one of " + ", ".join(LANES))
    if not isinstance(raw.get("mandatory", False), bool):
        bad("mandatory", raw.get("mandatory"), "must be true or false")
    dates: dict[str, date | None] = {}
    for key in ("valid_from", "valid_to"):
        value = raw.get(key)
        if value is None:
            dates[key] = None
        elif isinstance(value, date):
            dates[key] = value
        else:
            try:
                dates[key] = date.fromisoformat(str(value))
            except ValueError:
                bad(key, value, "must be a date YYYY-MM-DD")
                dates[key] = None
    if dates["valid_from"] and dates["valid_to"] and dates["valid_from"] > dates["valid_to"]:
        bad("valid_to", dates["valid_to"], f"is before valid_from {dates['valid_from']}")
    conditions: list[Condition] = []
    when = raw.get("when")
    if when is not None and (not isinstance(when, list) or not when):
        bad("when", None, "must be a non-empty list of conditions")
    elif isinstance(when, list):
        for position, spec in enumerate(when):
            condition = _condition(spec, rid, lines.condition(index, position), watchlists,
                                   source, problems)
            if condition is not None:
                conditions.append(condition)
    if len(problems) > before:
        return None
    return Rule(
        id=str(raw["id"]), version=int(raw["version"]), title=str(raw["title"]),
        justification=str(raw["justification"]).strip(), owner=str(raw["owner"]),
        severity=str(raw["severity"]), lane=str(raw["lane"]), conditions=tuple(conditions),
        mandatory=bool(raw.get("mandatory", False)), valid_from=dates["valid_from"],
        valid_to=dates["valid_to"], line=line,
    )


def _condition(spec: Any, rid: str, line: int | None, watchlists: dict[str, Watchlist],
               source: str, problems: list[Problem]) -> Condition | None:
    def bad(key: str, value: Any, reason: str) -> None:
        problems.append(Problem(key, None if value is None else str(value),
                                f"rule {rid}: {reason}", line, source))

    if not isinstance(spec, dict) or "field" not in spec:
        bad("when", spec, "a condition is a mapping with 'field' and one operator")
        return None
    name = str(spec["field"])
    if name.startswith("extra."):
        kind = "extra"
        if len(name) <= len("extra."):
            bad("field", name, "extra fields are written extra.<source column>")
            return None
    elif name in FIELDS_BY_NAME and name not in OUTCOME_FIELDS:
        kind = FIELDS_BY_NAME[name].kind
    else:
        valid = sorted(n for n in FIELDS_BY_NAME if n not in OUTCOME_FIELDS)
        bad("field", name, "unknown field (outcomes cannot be used); valid: "
            + ", ".join(valid) + ", or extra.<column>")
        return None
    operators = [k for k in spec if k != "field"]
    unknown = [k for k in operators if k not in OPERATORS]
    if unknown:
        bad(unknown[0], spec[unknown[0]], "unknown operator; valid: " + ", ".join(OPERATORS))
        return None
    if not operators:
        bad("field", name, "the condition has no operator; valid: " + ", ".join(OPERATORS))
        return None
    exclusive = [k for k in operators if k not in ("min", "max")]
    if len(exclusive) > 1 or (exclusive and len(operators) > 1):
        bad(operators[1], None, "one operator per condition (min and max may be combined); "
            "write several conditions instead")
        return None
    values: dict[str, Any] = {}
    for op in ("min", "max"):
        if op in spec:
            value = spec[op]
            if not isinstance(value, int | float) or isinstance(value, bool):
                bad(op, value, f"{op} needs a number")
                return None
            if kind not in _NUMERIC_KINDS and kind != "extra":
                bad(op, value, f"{op} applies to numeric fields; {name} is {kind}")
                return None
            values["minimum" if op == "min" else "maximum"] = float(value)
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        bad("max", spec["max"], f"is below min {spec['min']}")
        return None
    for op in ("in", "not_in", "prefix"):
        if op in spec:
            value = spec[op]
            if not isinstance(value, list) or not value:
                bad(op, value, f"{op} needs a non-empty list")
                return None
            values["in_" if op == "in" else op] = tuple(
                str(v) if op == "prefix" else v for v in value)
    if "equals" in spec:
        values["equals"] = spec["equals"]
    if "regex" in spec:
        try:
            re.compile(str(spec["regex"]))
        except re.error as exc:
            bad("regex", spec["regex"], f"not a valid regular expression: {exc}")
            return None
        values["regex"] = str(spec["regex"])
    if "watchlist" in spec:
        wname = str(spec["watchlist"])
        if wname not in watchlists:
            bad("watchlist", wname, "unknown watchlist; defined: "
                + (", ".join(watchlists) or "(none)"))
            return None
        values["watchlist"] = wname
    return Condition(field=name, **values)
