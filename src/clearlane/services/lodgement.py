"""Assess at lodgement: a clearance system sends declaration items, Clearlane validates, stores
and scores them and answers with one :class:`~clearlane.schema.reasons.RiskAssessment` each.

Shared by the API (``POST /api/v1/declarations:assess`` and ``:assess-batch``) and any later
CLI or web caller. One request, in order:

1. **Validation** exactly as ingest validates a file read with the ``canonical`` profile
   (:func:`clearlane.ingest.validate.validate_batch`): a refused item raises
   :class:`ValidationError` whose problems name the field, the value, the reason and ``row`` =
   the item's index in the request (0-based). Outcome fields (``inspected``, ``fraud``, …) are
   refused: outcomes come back through ``POST /api/v1/outcomes``. Fields that are not canonical
   are kept as extras (``extra`` JSON), as ingest keeps unmapped columns.
2. **Idempotency** on (``declaration_id``, ``item_no``): an item already lodged with the same
   content gets its stored answer again (no new row, no new assessment); a stored declaration
   with different content raises :class:`ConflictError` naming the differing fields, and
   nothing of the request is stored.
3. **Scoring** with the promoted (else newest) fraud model and anomaly detector, and the HS
   check, price check and rule set when the workspace has them, through the
   :mod:`clearlane.scoring` adapters. Loaded models are kept in the caller's ``cache`` keyed by
   version; each request reads only the registry's current versions. A scorer that cannot run
   is listed as ``unavailable`` with its message; the request still succeeds.
4. **Lane**, decided online under the office's daily capacity (real-time pacing, in arrival
   order under the write lock): see :func:`clearlane.services.lodgement_scoring.lane_for`
   and :mod:`clearlane.services.pacing`.
5. **Storage**, one transaction under the workspace's write lock: the new declarations with
   the ingest writer's guarantees (checked with its :func:`differing_fields_sql`: never
   overwritten, each key stored once) and a batch record ``api:<caller>`` that
   ``clearlane batches list`` shows, the assessments in
   ``risk_assessments`` (when a fraud model scored them: the table keys rows by model), the
   answers in ``lodgements``, one audit entry ``declarations.lodge``, and the alerts of the
   answers that need one (red or yellow lane, high-severity rule hit:
   :func:`clearlane.services.alert_opening.open_lodged_alerts`).

A server coalesces concurrent requests (:class:`LodgementQueue`, :func:`assess_requests`):
one validation, one scoring and one transaction per group, each request keeping its own
answer, refusal or conflict.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ConflictError, Problem, ValidationError
from clearlane.ingest.profile import Profile, load_profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.validate import ERROR, ValidationContext, validate_batch
from clearlane.schema.fields import (
    DECLARATION_FIELDS,
    EXTRA_COLUMN,
    FIELD_NAMES,
    KEY_FIELDS,
    OUTCOME_FIELDS,
)
from clearlane.scoring.assessments import assessment_frame
from clearlane.services import audit
from clearlane.services.alert_opening import open_lodged_alerts
from clearlane.services.lodgement_scoring import (
    LANE_BASES,
    RULES_FILE,
    assessment_json,
    build_answers,
    lane_for,
    load_scorers,
    score_items,
)
from clearlane.services.pacing import Pacer, forget
from clearlane.store.ingest_writer import differing_fields_sql
from clearlane.store.workspace import Workspace

LODGEMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in DECLARATION_FIELDS if not f.outcome)
"""Canonical fields a lodgement may carry (every field but the inspection outcome)."""
PROFILE = "canonical"


@functools.lru_cache(maxsize=1)
def _profile() -> Profile:
    """The canonical profile (parsed once: its YAML costs milliseconds)."""
    return load_profile(PROFILE)
@dataclass(frozen=True)
class LodgementResult:
    """The answer for one item: its assessment as stored JSON (``answer``) and whether it is
    a replay of an earlier lodgement of the same content."""

    index: int
    answer: dict[str, Any]
    replayed: bool


# -- validation ----------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    """The text ingest would read for a JSON value (numbers as written, booleans as words)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _shown(value: Any) -> str | None:
    """A value as quoted in a problem (at most 200 characters)."""
    text = _text(value)
    return text[:200] if text is not None else None


def _extra_object(value: Any) -> dict[str, Any] | None:
    """The members of an ``extra`` object (sent as an object or as its JSON text, as a file's
    ``extra`` column holds it); None when it is neither."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return None
    if not isinstance(value, Mapping) or any(isinstance(v, Mapping | list)
                                             for v in value.values()):
        return None
    return {str(k): v for k, v in value.items()}


def _raw_frame(items: Sequence[Any]) -> tuple[pl.DataFrame, list[str | None], list[Problem]]:
    """The items as the text columns ingest validates (every lodgement field, null where not
    given, and the item index as the row), their extras JSON, and the structural problems."""
    problems: list[Problem] = []
    columns: dict[str, list[str | None]] = {name: [] for name in LODGEMENT_FIELDS}
    extras: list[str | None] = []
    for row, item in enumerate(items):
        if not isinstance(item, Mapping):
            problems.append(Problem("declaration", _shown(item), "must be a JSON object of canonical fields", row))
            item = {}
        extra: dict[str, Any] = {}
        for name, value in item.items():
            name = str(name)
            if name == EXTRA_COLUMN:
                members = _extra_object(value)
                if members is None:
                    problems.append(Problem(name, _shown(value), "must be a JSON object of extra fields "
                                            "(or its JSON text)", row))
                else:
                    extra.update(members)
            elif isinstance(value, Mapping | list):
                problems.append(Problem(name, json.dumps(value, default=str)[:200],
                                        "must be a string, a number or null", row))
            elif name in OUTCOME_FIELDS:
                problems.append(Problem(name, _text(value), "an inspection outcome is not "
                                        "accepted at lodgement; return outcomes with POST "
                                        "/api/v1/outcomes", row))
            elif name not in FIELD_NAMES:
                extra[name] = _text(value)
        for name in LODGEMENT_FIELDS:
            columns[name].append(_text(item.get(name)))
        # the JSON ingest writes for kept columns (compact, in the order sent)
        extras.append(json.dumps(extra, ensure_ascii=False, separators=(",", ":"))
                      if extra else None)
    frame = pl.DataFrame({**columns, ROW_COLUMN: list(range(len(items)))},
                         schema={**dict.fromkeys(LODGEMENT_FIELDS, pl.String),
                                 ROW_COLUMN: pl.Int64})
    return frame, extras, problems


def _validate(items: Sequence[Any], today: date, max_future_days: int,
              profile: Profile | None = None) -> tuple[pl.DataFrame, list[Problem]]:
    """The accepted items (canonical columns, ``extra`` and the item index as
    :data:`ROW_COLUMN`) and every refusal (``row`` = item index), without raising."""
    raw, extras, problems = _raw_frame(items)
    context = ValidationContext(today=today, max_future_days=max_future_days)
    result = validate_batch(raw, profile or _profile(), context, set(OUTCOME_FIELDS),
                            count_changes=False)  # normalisation counts are not reported
    refused = result.issues.filter(pl.col("severity") == ERROR)
    problems += [Problem(r["field"], r["value"], r["reason"], r["source_row"])
                 for r in refused.iter_rows(named=True)]
    accepted = result.accepted.with_columns(
        pl.Series(EXTRA_COLUMN, extras, dtype=pl.String).gather(result.accepted[ROW_COLUMN]))
    return accepted, problems


def _repeated_keys(rows: Sequence[int], keys: Sequence[tuple[str, int]],
                   first_row: int = 0) -> list[Problem]:
    """A problem for each key sent again in one request (rows relative to ``first_row``)."""
    seen: dict[tuple[str, int], int] = {}
    problems = []
    for row, key in zip(rows, keys, strict=True):
        if key in seen:
            problems.append(Problem("declaration_id", key[0], f"item {key[1]} is also item "
                                    f"{seen[key]} of this request: send each key once",
                                    row - first_row))
        seen.setdefault(key, row - first_row)
    return problems


def _refusal(problems: list[Problem], n_items: int) -> ValidationError:
    problems = sorted(problems, key=lambda p: (p.row if p.row is not None else -1))
    rows = sorted({p.row for p in problems if p.row is not None})
    return ValidationError(
        f"{len(rows)} of {n_items} item(s) refused, nothing was stored; fields: "
        + ", ".join(dict.fromkeys(f"item {p.row} {p.field}" for p in problems[:5]))
        + (" …" if len(problems) > 5 else ""), problems)


def validate_items(items: Sequence[Any], *, today: date | None = None,
                   max_future_days: int = 1, profile: Profile | None = None) -> pl.DataFrame:
    """The items as canonical declarations (canonical columns and ``extra``, in item order),
    validated as ingest validates a file under the ``canonical`` profile.

    Raises :class:`ValidationError` listing every refusal (``row`` = item index, 0-based), a
    key sent twice in the request included.
    """
    if not items:
        raise ValidationError("no declaration items in the request",
                              [Problem("items", None, "send at least one item")])
    accepted, problems = _validate(items, today or datetime.now(UTC).date(), max_future_days,
                                   profile)
    problems += _repeated_keys(accepted[ROW_COLUMN].to_list(),
                               list(accepted.select(KEY_FIELDS).iter_rows()))
    if problems:
        raise _refusal(problems, len(items))
    return accepted.drop(ROW_COLUMN)


# -- the use case ----------------------------------------------------------------------------------
def _differing(con: Any) -> dict[tuple[str, int], tuple[str, str]]:
    """(differing fields, batch) of each incoming item whose key is stored already; the
    fields are empty when the content is the same (outcome fields, which a lodgement never
    carries, are not compared: a declaration ingested from a file with its outcome can be
    lodged)."""
    compared = [c for c in (*LODGEMENT_FIELDS, EXTRA_COLUMN) if c not in KEY_FIELDS]
    rows = con.execute(
        f"""SELECT i.declaration_id, i.item_no, {differing_fields_sql('i', 'd', compared)},
                   d.batch_id
            FROM lodge_incoming i JOIN declarations d USING (declaration_id, item_no)""").fetchall()
    return {(str(r[0]), int(r[1])): (str(r[2] or ""), str(r[3])) for r in rows}


def _existing(con: Any, frame: pl.DataFrame) -> tuple[dict[tuple[str, int], tuple[str, str]],
                                                   dict[tuple[str, int], dict[str, Any]]]:
    """The keys of ``frame`` already stored: their :func:`_differing` fields and batch, and
    their stored answers (JSON). One key-only probe: for a small request, a filter on the
    declaration ids bound as parameters (pushed into each table's scan) and the keys kept in
    Python; else a join with the keys registered. The field comparison of :func:`_differing`
    (one expression per field, costly to plan) runs only when a declaration matched, on
    ``frame`` registered as ``lodge_incoming``."""
    keys = frame.select(KEY_FIELDS)
    if keys.height <= SMALL_WRITE_ROWS:
        wanted = set(keys.iter_rows())
        ids = sorted({key[0] for key in wanted})
        marks = ", ".join("?" * len(ids))
        found = con.execute(
            f"""SELECT declaration_id, item_no, true, NULL FROM declarations
                WHERE declaration_id IN ({marks})
                UNION ALL
                SELECT declaration_id, item_no, false, assessment FROM lodgements
                WHERE declaration_id IN ({marks})""", ids + ids).fetchall()
        rows = [r for r in found if (r[0], r[1]) in wanted]
    else:
        con.register("lodge_keys", keys.to_arrow())
        try:
            rows = con.execute(
                """SELECT i.declaration_id, i.item_no, d.declaration_id IS NOT NULL,
                          l.assessment
                   FROM lodge_keys i
                   LEFT JOIN declarations d ON d.declaration_id = i.declaration_id
                                           AND d.item_no = i.item_no
                   LEFT JOIN lodgements l ON l.declaration_id = i.declaration_id
                                         AND l.item_no = i.item_no
                   WHERE d.declaration_id IS NOT NULL OR l.declaration_id IS NOT NULL"""
            ).fetchall()
        finally:
            con.unregister("lodge_keys")
    stored = {(str(r[0]), int(r[1])): json.loads(r[3]) for r in rows if r[3] is not None}
    if not any(r[2] for r in rows):
        return {}, stored
    con.register("lodge_incoming", frame.to_arrow())
    try:
        return _differing(con), stored
    finally:
        con.unregister("lodge_incoming")


def _conflict_error(conflicts: list[tuple[str, int, str]]) -> ConflictError:
    """The 409 of a request whose items differ from stored declarations, naming the fields."""
    shown = "; ".join(f"declaration {d} item {n}: {fields}" for d, n, fields in conflicts[:5])
    more = f" (and {len(conflicts) - 5} more)" if len(conflicts) > 5 else ""
    return ConflictError(
        f"{len(conflicts)} item(s) differ from the declaration already stored under the "
        f"same declaration_id and item_no; nothing was stored. Differing fields: "
        f"{shown}{more}. A lodged declaration is never overwritten: send the stored "
        "content again, or lodge the amendment under a new key")


@dataclass
class LodgementRequest:
    """One caller's request: its items, and once processed its ``results`` or ``error``."""

    items: Sequence[Any]
    caller: str = "api"
    max_future_days: int = 1
    results: list[LodgementResult] | None = None
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.results is not None or self.error is not None

    def outcome(self) -> list[LodgementResult]:
        if self.error is not None:
            raise self.error
        assert self.results is not None
        return self.results


def assess_lodged(workspace: Workspace, items: Sequence[Any], *, cache: dict[str, Any],
                  caller: str = "api", now: datetime | None = None,
                  max_future_days: int = 1) -> list[LodgementResult]:
    """Validate, store and assess declaration items lodged by a clearance system; one result
    per item, in order (see the module docstring for every step and guarantee).

    ``caller`` names the batch source (``api:<caller>``); ``cache`` keeps loaded models
    between calls (the server's ``AppState.cache``); ``now`` fixes the assessment time
    (UTC, naive) for tests.
    """
    if not items:
        raise ValidationError("no declaration items in the request",
                              [Problem("items", None, "send at least one item")])
    request = LodgementRequest(items, caller, max_future_days)
    assess_requests(workspace, [request], cache=cache, now=now)
    return request.outcome()


def assess_requests(workspace: Workspace, requests: Sequence[LodgementRequest], *,
                    cache: dict[str, Any], now: datetime | None = None
                    ) -> list[LodgementRequest]:
    """Process several requests together (one validation, one scoring, one transaction),
    each with the guarantees of a request processed alone: a request with a refused item or
    a conflict gets its own error and stores nothing; the others are stored.

    Sets each request's ``results`` or ``error``; returns the requests deferred to a later
    call because they lodge a key that an earlier request of this group also lodges (the
    later one must see the earlier one stored: a replay or a conflict). All requests must
    share ``max_future_days``.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    items = [item for r in requests for item in r.items]
    starts = np.cumsum([0] + [len(r.items) for r in requests])
    frame, problems = _validate(items, now.date(), requests[0].max_future_days)
    owner = np.searchsorted(starts, frame[ROW_COLUMN].to_numpy(), side="right") - 1
    frame = frame.with_columns(pl.Series("_request", owner, dtype=pl.Int64))
    problem_rows: dict[int, list[Problem]] = {}
    for problem in problems:
        row = problem.row or 0  # every item problem names its item
        r = int(np.searchsorted(starts, row, side="right") - 1)
        problem_rows.setdefault(r, []).append(
            Problem(problem.field, problem.value, problem.reason, row - int(starts[r])))
    keys_of: dict[int, list[tuple[str, int]]] = {}
    rows_of: dict[int, list[int]] = {}
    for r, row, key in zip(owner.tolist(), frame[ROW_COLUMN].to_list(),
                           frame.select(KEY_FIELDS).iter_rows(), strict=True):
        keys_of.setdefault(r, []).append(key)
        rows_of.setdefault(r, []).append(row)
    live: list[int] = []
    deferred: list[LodgementRequest] = []
    claimed: set[tuple[str, int]] = set()
    for r, request in enumerate(requests):
        found = problem_rows.get(r, []) + _repeated_keys(rows_of.get(r, []),
                                                         keys_of.get(r, []), int(starts[r]))
        if not request.items:
            found.append(Problem("items", None, "send at least one item"))
        if found:
            request.error = _refusal(found, len(request.items))
        elif claimed.intersection(keys_of.get(r, [])):
            deferred.append(request)
        else:
            claimed.update(keys_of.get(r, []))
            live.append(r)
    if not live:
        return deferred
    if len(live) < len(requests):  # (each filter below is skipped when it keeps every row)
        frame = frame.filter(pl.col("_request").is_in(live))
    # the models are read before the write lock (cached: usually one small query); the
    # checks, the scoring of new items, the paced lanes and the writes run under it, so that
    # two requests lodging the same key cannot both store it and the day's counters advance
    # one item at a time
    loaded = load_scorers(workspace, cache)
    try:
        with workspace.transaction() as con:
            existing, stored = _existing(con, frame)
            before = len(live)
            for r in list(live):
                conflicts = [(k[0], k[1], existing[k][0]) for k in keys_of[r]
                             if k in existing and existing[k][0]]
                if conflicts:
                    requests[r].error = _conflict_error(conflicts)
                    live.remove(r)
            if len(live) < before:
                frame = frame.filter(pl.col("_request").is_in(live))
            keys = list(frame.select(KEY_FIELDS).iter_rows())
            fresh = (frame.filter(pl.Series([k not in stored for k in keys], dtype=pl.Boolean))
                     if any(k in stored for k in keys) else frame)
            answers: dict[tuple[str, int], dict[str, Any]] = {}
            if fresh.height:
                scored = fresh.drop(ROW_COLUMN, "_request")
                frames = score_items(scored, loaded)
                pacer = Pacer(workspace, cache, con)
                for answer in build_answers(scored, frames, pacer, now):
                    answers[(answer["declaration_id"], answer["item_no"])] = answer
                table = assessment_frame(frames, now) if frames[0].available else None
                _store(con, fresh, existing, answers, table, requests, starts, now)
                open_lodged_alerts(con, fresh, answers, now)
                pacer.commit()  # still under the write lock; undone below if the commit fails
    except BaseException as error:
        forget(cache)
        for r in live:
            requests[r].error = error
        raise
    for r in live:
        requests[r].results = [
            LodgementResult(i, stored[k] if k in stored else answers[k], k in stored)
            for i, k in enumerate(keys_of[r])]
    return deferred


def _store(con: Any, fresh: pl.DataFrame, existing: Mapping[tuple[str, int], tuple[str, str]],
           answers: dict[tuple[str, int], dict[str, Any]], table: pl.DataFrame | None,
           requests: Sequence[LodgementRequest], starts: np.ndarray, now: datetime) -> None:
    """Write the items not lodged yet, all on ``con``'s open transaction: the declarations not
    stored yet (one ingest batch per request), the assessments, the answers and one audit entry
    per request. An item already stored (e.g. ingested from a file) keeps its row and batch.

    The checks before ran in this transaction under the workspace's write lock: every key
    written here is new, as the ingest writer guarantees for a file (never overwritten, stored
    once); the batch record makes the lodgement visible to `clearlane batches`."""
    profile = _profile()
    batch_of: dict[int, str] = {}
    rows: list[dict[str, Any]] = []
    owners = sorted(set(fresh["_request"].to_list()))
    for r in owners:
        part = fresh.filter(pl.col("_request") == r) if len(owners) > 1 else fresh
        keys = list(part.select(KEY_FIELDS).iter_rows())
        new = [k not in existing for k in keys]
        body = part.drop(ROW_COLUMN, "_request").write_json().encode()
        digest = hashlib.sha256(body).hexdigest()
        batch_id = batch_of[r] = f"api-{now:%Y%m%dT%H%M%S%f}-{digest[:8]}"
        source = f"api:{requests[r].caller}"
        n_new = sum(new)
        if n_new:
            con.execute(
                """INSERT INTO ingest_batches (batch_id, source_file, file_sha256, file_bytes,
                       profile_name, profile_fingerprint, started_at, finished_at, rows_read,
                       rows_accepted, rows_rejected, rows_duplicate, rows_conflict, rows_warned)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, 0)""",
                [batch_id, source, digest, len(body), profile.name, profile.fingerprint(), now,
                 datetime.now(UTC).replace(tzinfo=None), len(keys), n_new, len(keys) - n_new])
        shown = [f"{d}/{n}" for d, n in keys[:20]]
        audit.record(con, action="declarations.lodge", object_type="batch", object_id=batch_id,
                     change={"source": source, "items": len(keys), "keys": shown,
                             "more_keys": max(0, len(keys) - len(shown)), "stored": n_new,
                             "already_stored": len(keys) - n_new,
                             "assessed": len(keys) if table is not None else 0,
                             "model_version": answers[keys[0]]["model_version"]})
        rows += [{"declaration_id": k[0], "item_no": k[1], "batch_id": batch_id,
                  "lane": answers[k]["lane"], "new": is_new,
                  "assessment": json.dumps(answers[k], default=str)}
                 for k, is_new in zip(keys, new, strict=True)]
    new_rows = (fresh if all(r["new"] for r in rows)
                else fresh.filter(pl.Series([r["new"] for r in rows], dtype=pl.Boolean)))
    if new_rows.height:
        local = (pl.col(ROW_COLUMN) - pl.col("_request").replace_strict(
            dict(enumerate(starts[:-1].tolist())), return_dtype=pl.Int64)).alias("source_row")
        _insert(con, "declarations", "lodge_new", new_rows.with_columns(
            local, pl.col("_request").replace_strict(batch_of, return_dtype=pl.String)
            .alias("batch_id")).select(*FIELD_NAMES, EXTRA_COLUMN, "batch_id", "source_row"))
    if table is not None:
        assessed = ("declaration_id", "item_no", "model_version")
        if table.height <= SMALL_WRITE_ROWS:
            one = "(" + " AND ".join(f"{c} = ?" for c in assessed) + ")"
            con.execute(f"DELETE FROM risk_assessments WHERE {' OR '.join([one] * table.height)}",
                        [v for row in table.select(assessed).iter_rows() for v in row])
        else:
            con.register("lodge_assessments", table.select(assessed).to_arrow())
            try:
                con.execute("DELETE FROM risk_assessments WHERE (declaration_id, item_no, "
                            "model_version) IN (SELECT declaration_id, item_no, model_version "
                            "FROM lodge_assessments)")
            finally:
                con.unregister("lodge_assessments")
        _insert(con, "risk_assessments", "lodge_assessments", table)
    lodged = pl.DataFrame({
        "declaration_id": [r["declaration_id"] for r in rows],
        "item_no": [r["item_no"] for r in rows],
        "batch_id": [existing[(r["declaration_id"], r["item_no"])][1] if not r["new"]
                     else r["batch_id"] for r in rows],
        "lodged_at": [now] * len(rows), "lane": [r["lane"] for r in rows],
        "assessment": [r["assessment"] for r in rows],
    }, schema={"declaration_id": pl.String, "item_no": pl.Int64, "batch_id": pl.String,
               "lodged_at": pl.Datetime("us"), "lane": pl.String, "assessment": pl.String})
    _insert(con, "lodgements", "lodge_answers", lodged)


SMALL_WRITE_ROWS = 16
"""Frames of at most this many rows are written with bound parameters; larger ones from a
registered Arrow table (registering one costs about half a millisecond; binding thousands of
parameters costs more). Both store the same values."""


def _insert(con: Any, table: str, name: str, frame: pl.DataFrame) -> None:
    """Insert ``frame``'s rows into ``table`` by column name (``name``: the Arrow view)."""
    columns = ", ".join(frame.columns)
    if frame.height <= SMALL_WRITE_ROWS:
        row = "(" + ", ".join("?" * frame.width) + ")"
        con.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * frame.height)}",
                    [v for values in frame.iter_rows() for v in values])
        return
    con.register(name, frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {name}")
    finally:
        con.unregister(name)


class LodgementQueue:
    """Coalesces concurrent requests of one server: while one thread processes a group of
    requests (:func:`assess_requests`), the requests arriving meanwhile wait and are processed
    together next, by one of their own threads. Under load a request therefore waits for at
    most the group before it instead of for every request before it, and the per-request costs
    (validation, the transaction, the writes) are shared by the group. Each request keeps its
    own guarantees and its own answer or error."""

    def __init__(self, workspace: Workspace, cache: dict[str, Any],
                 max_items: int = 10_000) -> None:
        self.workspace = workspace
        self.cache = cache
        self.max_items = max_items
        self._pending: deque[LodgementRequest] = deque()
        self._leading = False
        self._condition = threading.Condition()

    def submit(self, items: Sequence[Any], *, caller: str = "api",
               max_future_days: int = 1) -> list[LodgementResult]:
        """What :func:`assess_lodged` returns for ``items``, processed with the requests of
        other threads that arrive meanwhile."""
        request = LodgementRequest(list(items), caller, max_future_days)
        with self._condition:
            self._pending.append(request)
            while self._leading and not request.finished:
                self._condition.wait()
            if request.finished:
                return request.outcome()
            self._leading = True
        try:
            while not request.finished:
                self._process(self._take())
        finally:
            with self._condition:
                self._leading = False
                self._condition.notify_all()
        return request.outcome()

    def _take(self) -> list[LodgementRequest]:
        """The oldest pending requests, up to ``max_items`` items, of one ``max_future_days``."""
        with self._condition:
            group = [self._pending.popleft()]
            total = len(group[0].items)
            while self._pending:
                head = self._pending[0]
                if (head.max_future_days != group[0].max_future_days
                        or total + len(head.items) > self.max_items):
                    break
                group.append(self._pending.popleft())
                total += len(head.items)
            return group

    def _process(self, group: list[LodgementRequest]) -> None:
        try:
            deferred = assess_requests(self.workspace, group, cache=self.cache)
        except BaseException as error:  # handed to every request of the group
            for request in group:
                if not request.finished:
                    request.error = error
            deferred = []
        with self._condition:
            self._pending.extendleft(reversed(deferred))
            self._condition.notify_all()


_QUEUES = threading.Lock()


def lodgement_queue(workspace: Workspace, cache: dict[str, Any],
                    max_items: int = 10_000) -> LodgementQueue:
    """The one :class:`LodgementQueue` of a server (kept in its ``cache``)."""
    with _QUEUES:
        queue = cache.get("lodgement_queue")
        if not isinstance(queue, LodgementQueue):
            queue = cache["lodgement_queue"] = LodgementQueue(workspace, cache, max_items)
        return queue


def offices_of(items: Sequence[Any]) -> list[str | None]:
    """The ``office_id`` text of each item (before validation), for office scoping."""
    return [_text(item.get("office_id")).strip() or None  # type: ignore[union-attr]
            if isinstance(item, Mapping) and item.get("office_id") is not None else None
            for item in items]


__all__ = ["LANE_BASES", "LODGEMENT_FIELDS", "RULES_FILE", "LodgementQueue", "LodgementRequest",
           "LodgementResult", "assess_lodged", "assess_requests", "assessment_json", "lane_for",
           "lodgement_queue", "offices_of", "validate_items"]
