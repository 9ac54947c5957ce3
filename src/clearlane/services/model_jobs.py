"""Retraining as a job: recorded in the workspace (table ``jobs``, its log in ``job_log``), one
at a time per workspace, run in a background thread of the server or in a process of its own.

A job is ``queued`` when created, ``running`` once a runner took it (its process id and a
heartbeat every :data:`HEARTBEAT_SECONDS`), then ``succeeded`` (its ``result`` names the new
candidate models and their comparison with the promoted model), ``failed`` (the log says why,
never with a traceback) or ``interrupted``: its runner stopped without finishing (the server
stopped, the process was killed). An unfinished job whose runner is gone is found and marked
``interrupted`` whenever jobs are read or started.

A retraining job holds out the latest ``holdout_days`` days that have inspection outcomes:
it trains up to the day before them and compares the new fraud model with the promoted one on
them (:func:`clearlane.services.model_lifecycle.compare_models`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from clearlane.audit.log import acting_as, current_actor
from clearlane.errors import (
    ClearlaneError,
    ConflictError,
    NotFoundError,
    ValidationError,
    WorkspaceBusyError,
)
from clearlane.services import audit
from clearlane.services.model_lifecycle import compare_models, last_labelled_day
from clearlane.services.risk import train_models
from clearlane.store.connection import Connection
from clearlane.store.workspace import Workspace, date_window_sql

log = logging.getLogger("clearlane.jobs")

HEARTBEAT_SECONDS = 10.0
"""How often a running job records that it is alive."""
STALE_SECONDS = 120.0
"""A queued job not started, or a job whose heartbeat is older than this, and whose process is
gone, is interrupted."""
ABANDONED_SECONDS = 1800.0
"""A heartbeat older than this marks a job interrupted even if its process id is in use (the
id may have been reused)."""
DEFAULT_HOLDOUT_DAYS = 14
ACTIVE = ("queued", "running")
STATUSES = ("queued", "running", "succeeded", "failed", "interrupted")

OnProgress = Callable[[float, str | None], None]
"""``(fraction done 0-1, a log message or None)``."""


class JobStopped(Exception):
    """Raised inside a job's work when its runner was asked to stop."""


@dataclass(frozen=True)
class TrainParameters:
    """What a retraining job trains on (dates inclusive)."""

    date_from: date | None = None
    date_to: date | None = None
    holdout_days: int = DEFAULT_HOLDOUT_DAYS
    search: bool = False
    seed: int = 42

    def as_dict(self) -> dict[str, Any]:
        return {"date_from": _iso(self.date_from), "date_to": _iso(self.date_to),
                "holdout_days": self.holdout_days, "search": self.search, "seed": self.seed}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainParameters:
        def day(value: Any) -> date | None:
            return None if value is None else date.fromisoformat(str(value))

        return cls(date_from=day(values.get("date_from")), date_to=day(values.get("date_to")),
                   holdout_days=int(values.get("holdout_days", DEFAULT_HOLDOUT_DAYS)),
                   search=bool(values.get("search", False)), seed=int(values.get("seed", 42)))


@dataclass(frozen=True)
class TrainingPlan:
    """The training window and the held-out window after it (None: nothing held out)."""

    train_from: date | None
    train_to: date | None
    holdout: tuple[date, date] | None


@dataclass(frozen=True)
class LogLine:
    logged_at: datetime
    message: str


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    status: str
    parameters: dict[str, Any]
    started_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: float
    heartbeat_at: datetime | None
    pid: int | None
    result: dict[str, Any] | None
    log: tuple[LogLine, ...] = field(default=())

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _now() -> datetime:
    """UTC now without an offset (the workspace stores UTC times naive)."""
    return datetime.now(UTC).replace(tzinfo=None)


class PatientWorkspace(Workspace):
    """A workspace whose connections wait up to ``patience`` seconds while another process
    has the database open for a moment (a background job and the commands that follow it
    take turns), instead of failing at once. A workspace held by ``clearlane serve`` is not
    waited for: that is not a moment."""

    patience: float = 10.0

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Connection]:
        deadline = time.monotonic() + self.patience
        while True:
            stack = contextlib.ExitStack()
            try:
                con = stack.enter_context(super().connect(read_only))
            except WorkspaceBusyError as exc:
                if time.monotonic() >= deadline or "clearlane serve" in str(exc):
                    raise
                time.sleep(0.1)
                continue
            break
        with stack:
            yield con


def patient(path: Path, patience: float = 10.0) -> PatientWorkspace:
    """The workspace at ``path`` (opened, migrated), waiting up to ``patience`` seconds for
    each connection (see :class:`PatientWorkspace`)."""
    workspace = PatientWorkspace(Path(path))
    workspace.patience = patience
    if not workspace.exists():
        raise NotFoundError(
            f"no workspace at {str(workspace.path)!r}; create one with `clearlane init`")
    workspace.migrate()
    return workspace


# -- planning --------------------------------------------------------------------------------
def plan_training(workspace: Workspace, params: TrainParameters) -> TrainingPlan:
    """The windows of a retraining: up to ``date_to`` if given, else up to the day before the
    latest ``holdout_days`` labelled days; the held-out days are those after the training
    window up to the latest inspected declaration. Refused when the training window is empty."""
    if params.holdout_days < 0:
        raise ValidationError(f"holdout_days must be 0 or more; got {params.holdout_days}")
    if params.date_from and params.date_to and params.date_from > params.date_to:
        raise ValidationError(f"--from {params.date_from} is after --to {params.date_to}")
    last = last_labelled_day(workspace)
    train_to = params.date_to
    if train_to is None and last is not None and params.holdout_days > 0:
        train_to = last - timedelta(days=params.holdout_days)
    holdout = None
    if last is not None and train_to is not None and train_to < last:
        holdout = (train_to + timedelta(days=1), last)
    where = date_window_sql(params.date_from, train_to)
    count = workspace.query("SELECT count(*) FROM declarations"
                            + (f" WHERE {where}" if where else "")).item(0, 0)
    if not count:
        raise ValidationError(
            f"no declarations to train on between {params.date_from or 'the start'} and "
            f"{train_to or 'the end'}"
            + (f" (the latest {params.holdout_days} labelled days are held out)"
               if params.date_to is None and params.holdout_days else "")
            + "; ingest data, widen the window or hold out fewer days")
    return TrainingPlan(params.date_from, train_to, holdout)


# -- reading ---------------------------------------------------------------------------------
def _job(row: dict[str, Any], lines: tuple[LogLine, ...] = ()) -> Job:
    return Job(job_id=row["job_id"], kind=row["kind"], status=row["status"],
               parameters=json.loads(row["parameters"]), started_by=row["started_by"],
               created_at=row["created_at"], started_at=row["started_at"],
               finished_at=row["finished_at"], progress=float(row["progress"]),
               heartbeat_at=row["heartbeat_at"],
               pid=None if row["pid"] is None else int(row["pid"]),
               result=json.loads(row["result"]) if row["result"] else None, log=lines)


def list_jobs(workspace: Workspace, limit: int = 50) -> list[Job]:
    """Jobs, newest first (unfinished jobs whose runner is gone are marked interrupted)."""
    recover_jobs(workspace)
    frame = workspace.query("SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", [limit])
    return [_job(r) for r in frame.to_dicts()]


def get_job(workspace: Workspace, job_id: str, log_tail: int | None = None) -> Job:
    """One job with its log (the last ``log_tail`` lines when given)."""
    recover_jobs(workspace)
    frame = workspace.query("SELECT * FROM jobs WHERE job_id = ?", [job_id])
    if frame.height == 0:
        raise NotFoundError(f"no job {job_id!r}; list them with `clearlane models jobs`")
    lines = workspace.query(
        "SELECT logged_at, message FROM job_log WHERE job_id = ? ORDER BY logged_at",
        [job_id])
    log_lines = tuple(LogLine(r[0], r[1]) for r in lines.iter_rows())
    if log_tail is not None:
        log_lines = log_lines[-log_tail:] if log_tail > 0 else ()
    return _job(frame.to_dicts()[0], log_lines)


# -- runners of this process -----------------------------------------------------------------
@dataclass
class _Runner:
    workspace: Workspace
    stop: threading.Event
    thread: threading.Thread | None = None


_RUNNERS: dict[str, _Runner] = {}
_RUNNERS_LOCK = threading.Lock()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _gone(row: tuple[Any, ...], now: datetime) -> bool:
    """Whether the runner of an unfinished job (status, pid, created, heartbeat) is gone."""
    job_id, _status, pid, created_at, heartbeat_at = row
    last = heartbeat_at or created_at
    age = (now - last).total_seconds()
    if age > ABANDONED_SECONDS:
        return True
    if pid is None:  # queued, not taken by a runner yet
        return age > STALE_SECONDS
    if int(pid) == os.getpid():
        with _RUNNERS_LOCK:
            return job_id not in _RUNNERS
    return not _pid_alive(int(pid))


def _interrupt(con: Connection, job_id: str, why: str, now: datetime) -> None:
    con.execute("UPDATE jobs SET status = 'interrupted', finished_at = ? WHERE job_id = ?",
                [now, job_id])
    con.execute("INSERT INTO job_log VALUES (?, ?, ?)", [job_id, now, f"interrupted: {why}"])
    audit.record(con, action="job.interrupted", object_type="job", object_id=job_id,
                 change={"why": why})


def recover_jobs(workspace: Workspace) -> list[str]:
    """Mark ``interrupted`` every unfinished job whose runner is gone; returns their ids."""
    found = workspace.query(
        "SELECT job_id, status, pid, created_at, heartbeat_at FROM jobs "
        "WHERE status IN ('queued', 'running')")
    if found.height == 0:
        return []
    now = _now()
    stale = [r for r in found.iter_rows() if _gone(r, now)]
    if not stale:
        return []
    with workspace.transaction() as con:
        for row in stale:
            still = con.execute("SELECT status FROM jobs WHERE job_id = ?", [row[0]]).fetchone()
            if still is not None and still[0] in ACTIVE:
                _interrupt(con, row[0], "its runner stopped before it finished (a restart, a "
                           "crash or a killed process)", now)
    return [r[0] for r in stale]


# -- creating and running --------------------------------------------------------------------
def create_train_job(workspace: Workspace, params: TrainParameters) -> Job:
    """Record a ``queued`` retraining job; :class:`ConflictError` naming the unfinished job when
    one exists (one job at a time per workspace), :class:`ValidationError` when there is
    nothing to train on."""
    plan_training(workspace, params)
    recover_jobs(workspace)
    job_id = f"job-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    now = _now()
    actor = current_actor()
    with workspace.transaction() as con:
        running = con.execute(
            "SELECT job_id, status, started_by FROM jobs WHERE status IN ('queued', 'running') "
            "ORDER BY created_at LIMIT 1").fetchone()
        if running is not None:
            raise ConflictError(
                f"job {running[0]} ({running[1]}, started by {running[2]}) is not finished: one "
                f"job at a time per workspace; follow it with `clearlane models job {running[0]}`")
        con.execute("INSERT INTO jobs VALUES (?, 'train', 'queued', ?, ?, ?, NULL, NULL, 0.0, "
                    "NULL, NULL, NULL)", [job_id, json.dumps(params.as_dict()), actor, now])
        con.execute("INSERT INTO job_log VALUES (?, ?, ?)", [job_id, now, "queued"])
        audit.record(con, action="job.create", object_type="job", object_id=job_id,
                     change={"kind": "train", "parameters": params.as_dict()})
    return get_job(workspace, job_id)


class _Recorder:
    """Writes a running job's progress, log and heartbeat; stops the work when asked."""

    def __init__(self, workspace: Workspace, job_id: str, stop: threading.Event,
                 on_progress: OnProgress | None) -> None:
        self.workspace = workspace
        self.job_id = job_id
        self.stop = stop
        self.on_progress = on_progress
        self.progress = 0.0

    def _write(self, statements: list[tuple[str, list[Any]]], *, retry: float = 0.0) -> bool:
        """Run the statements in one transaction; a busy workspace (another process has it
        for a moment) is retried for ``retry`` seconds, then the write is skipped."""
        deadline = time.monotonic() + retry
        while True:
            try:
                with self.workspace.transaction() as con:
                    for sql, params in statements:
                        con.execute(sql, params)
                return True
            except WorkspaceBusyError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.5)

    def heartbeat(self) -> None:
        if not self.stop.is_set():
            self._write([("UPDATE jobs SET heartbeat_at = ? WHERE job_id = ? AND "
                          "status = 'running'", [_now(), self.job_id])])

    def report(self, fraction: float, message: str | None = None) -> None:
        if self.stop.is_set():
            raise JobStopped
        self.progress = max(self.progress, min(1.0, fraction))
        now = _now()
        statements: list[tuple[str, list[Any]]] = [
            ("UPDATE jobs SET progress = ?, heartbeat_at = ? WHERE job_id = ?",
             [self.progress, now, self.job_id])]
        if message:
            statements.append(("INSERT INTO job_log VALUES (?, ?, ?)",
                               [self.job_id, now, message]))
        self._write(statements, retry=5.0 if message else 0.0)
        if self.on_progress is not None:
            self.on_progress(self.progress, message)


@contextlib.contextmanager
def _heartbeats(recorder: _Recorder) -> Iterator[None]:
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(ClearlaneError):
                recorder.heartbeat()

    thread = threading.Thread(target=beat, name=f"heartbeat-{recorder.job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def _train(workspace: Workspace, params: TrainParameters, recorder: _Recorder) -> dict[str, Any]:
    plan = plan_training(workspace, params)
    recorder.report(0.02, f"training on declarations {plan.train_from or 'from the start'} – "
                          f"{plan.train_to or 'to the end'}"
                          + (f"; held out for the comparison: {plan.holdout[0]} – "
                             f"{plan.holdout[1]}" if plan.holdout else "; nothing held out"))
    def fit_progress(done: float, total: float | None) -> None:
        if total:
            recorder.report(0.05 + 0.75 * min(1.0, done / total),
                            f"fraud model: step {done:g} of {total:g}")

    result = train_models(workspace, date_from=plan.train_from, date_to=plan.train_to,
                          seed=params.seed, promote=False, search=params.search,
                          progress=fit_progress)
    models: dict[str, str] = {"anomaly": result.anomaly.version}
    if result.fraud is None:
        recorder.report(0.85, "no fraud model: fewer than 50 inspected declarations in the "
                              "training window")
    else:
        models["fraud"] = result.fraud.version
        recorder.report(0.85, f"registered fraud model {result.fraud.version} (candidate)")
    recorder.report(0.88, f"registered anomaly detector {result.anomaly.version} (candidate)")
    comparison: dict[str, Any] | None = None
    note = None
    if result.fraud is not None and plan.holdout is not None:
        try:
            compared = compare_models(workspace, result.fraud.version,
                                      date_from=plan.holdout[0], date_to=plan.holdout[1])
        except ValidationError as exc:
            note = f"no comparison: {exc}"
        else:
            comparison = compared.as_dict()
            base = compared.baseline
            note = (f"compared on {compared.candidate.n} inspected declarations "
                    f"{compared.window_from} – {compared.window_to}: AUC "
                    f"{_fmt(compared.candidate.auc)} (candidate)"
                    + (f" vs {_fmt(base.auc)} ({base.version}"
                       + (", which saw these days" if base.saw_window else "") + ")"
                       if base else "; no promoted fraud model to compare with"))
    elif result.fraud is not None:
        note = "no comparison: no held-out labelled days after the training window"
    if note:
        recorder.report(0.97, note)
    return {"models": models, "train_from": _iso(plan.train_from),
            "train_to": _iso(plan.train_to),
            "holdout": None if plan.holdout is None else [d.isoformat() for d in plan.holdout],
            "comparison": comparison}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def run_job(workspace: Workspace, job_id: str, *, stop: threading.Event | None = None,
            on_progress: OnProgress | None = None) -> Job:
    """Run the queued job ``job_id`` here and now (in this thread), recording its progress,
    log and outcome; returns the finished job. A failure is recorded (status ``failed``, the
    error's message in the log) and not raised."""
    stop = stop or threading.Event()
    job = get_job(workspace, job_id)
    if job.status != "queued":
        raise ConflictError(f"job {job_id} is {job.status}, not queued: it cannot be run again")
    with _RUNNERS_LOCK:
        _RUNNERS.setdefault(job_id, _Runner(workspace, stop))
    recorder = _Recorder(workspace, job_id, stop, on_progress)
    try:
        with acting_as(job.started_by):
            now = _now()
            with workspace.transaction() as con:
                con.execute("UPDATE jobs SET status = 'running', started_at = ?, heartbeat_at = "
                            "?, pid = ? WHERE job_id = ? AND status = 'queued'",
                            [now, now, os.getpid(), job_id])
            recorder.report(0.0, f"running (process {os.getpid()})")
            status, message, result = "failed", "", None
            try:
                with _heartbeats(recorder):
                    result = _train(workspace, TrainParameters.from_dict(job.parameters),
                                    recorder)
                status, message = "succeeded", "succeeded"
            except JobStopped:
                status, message = "interrupted", "interrupted: the server stopped"
            except ClearlaneError as exc:
                message = f"failed: {exc}"
            except Exception as exc:  # the job must end recorded, whatever happened
                log.exception("job %s failed", job_id)
                message = (f"failed: an unexpected error ({type(exc).__name__}); the server "
                           "log has the details")
            if stop.is_set():
                # the server is stopping: stop_jobs records the end while it still holds the
                # workspace; a write from here could come after it let the workspace go
                return get_job(workspace, job_id) if status == "succeeded" else job
            _finish(workspace, job_id, status, message, result,
                    1.0 if status == "succeeded" else recorder.progress)
            if on_progress is not None and status == "succeeded":
                on_progress(1.0, message)
    finally:
        with _RUNNERS_LOCK:
            _RUNNERS.pop(job_id, None)
    return get_job(workspace, job_id)


def _finish(workspace: Workspace, job_id: str, status: str, message: str,
            result: dict[str, Any] | None, progress: float) -> None:
    deadline = time.monotonic() + 60.0
    while True:
        try:
            with workspace.transaction() as con:
                now = _now()
                con.execute(
                    "UPDATE jobs SET status = ?, finished_at = ?, progress = ?, result = ?, "
                    "heartbeat_at = ? WHERE job_id = ? AND status IN ('running', 'interrupted')",
                    [status, now, progress, None if result is None else json.dumps(result),
                     now, job_id])
                con.execute("INSERT INTO job_log VALUES (?, ?, ?)", [job_id, now, message])
                audit.record(con, action=f"job.{status}", object_type="job", object_id=job_id,
                             change={"result": result} if result else {"message": message})
            return
        except WorkspaceBusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def start_job(workspace: Workspace, params: TrainParameters) -> Job:
    """Create a retraining job and run it in a background thread of this process (a server);
    returns the queued job at once."""
    job = create_train_job(workspace, params)
    stop = threading.Event()
    actor = current_actor()

    def work() -> None:
        with acting_as(actor):
            try:
                run_job(workspace, job.job_id, stop=stop)
            except Exception:  # the workspace went away (shutdown): recovered at next start
                log.exception("job %s could not be recorded", job.job_id)

    thread = threading.Thread(target=work, name=f"clearlane-{job.job_id}", daemon=True)
    with _RUNNERS_LOCK:
        _RUNNERS[job.job_id] = _Runner(workspace, stop, thread)
    thread.start()
    return job


def stop_jobs(workspace: Workspace, wait_seconds: float = 5.0) -> list[str]:
    """Ask this process's running jobs on ``workspace`` to stop (a server shutting down), wait
    up to ``wait_seconds`` for them, and mark those still unfinished ``interrupted``."""
    with _RUNNERS_LOCK:
        mine = {job_id: r for job_id, r in _RUNNERS.items() if r.workspace is workspace}
    for runner in mine.values():
        runner.stop.set()
    deadline = time.monotonic() + wait_seconds
    for runner in mine.values():
        if runner.thread is not None:
            runner.thread.join(max(0.0, deadline - time.monotonic()))
    if not mine:
        return []
    now = _now()
    stopped = []
    with workspace.transaction() as con:
        for job_id in mine:
            row = con.execute("SELECT status FROM jobs WHERE job_id = ?", [job_id]).fetchone()
            if row is not None and row[0] in ACTIVE:
                _interrupt(con, job_id, "the server stopped", now)
                stopped.append(job_id)
    return stopped
