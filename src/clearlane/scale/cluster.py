"""Running the partitioned scoring on a Dask cluster (extra ``cluster``).

``--cluster local:N`` starts a :class:`distributed.LocalCluster` of ``N`` worker processes
(one thread each) for the job; ``--cluster tcp://host:8786`` connects to a running scheduler
(``dask scheduler`` and ``dask worker tcp://host:8786`` on each machine). The workers read
the dataset and write the results by path, so both folders must be visible at the same path
on every worker (one machine, or a shared file system).

Dask is imported only inside these functions: the module itself loads without the extra.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from clearlane.errors import ClusterError, MissingExtraError, ValidationError
from clearlane.scale.dataset import Manifest, Partition
from clearlane.scale.scoring import (
    Progress,
    ScoringModels,
    carry_partition_task,
    hold_models,
    score_partition_task,
)


class ClusterUnavailableError(ClusterError):
    """The Dask scheduler cannot be reached (or was lost during a job)."""


class ClusterJobError(ClusterError):
    """A job on the cluster failed (e.g. a worker died on a partition too often); nothing of
    it was written, and it can be run again."""


def require_distributed() -> ModuleType:
    """The ``distributed`` module, or an ImportError naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise MissingExtraError("distributed", "cluster") from None
    return distributed


def parse_cluster(spec: str) -> tuple[str, int | str]:
    """``("local", workers)`` or ``("remote", address)`` of a ``--cluster`` value.

    >>> parse_cluster("local:4"), parse_cluster("tcp://10.0.0.5:8786")
    (('local', 4), ('remote', 'tcp://10.0.0.5:8786'))
    """
    if spec.startswith("local:"):
        count = spec.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= 512:
            raise ValidationError(f"--cluster {spec!r}: local:N needs a worker count N from 1 to 512")
        return "local", int(count)
    if spec.startswith(("tcp://", "tls://")) and len(spec) > len("tcp://"):
        return "remote", spec
    raise ValidationError(f"--cluster {spec!r} is not valid; use local:N (a cluster of N worker "
                          "processes on this machine) or tcp://HOST:PORT (a running `dask scheduler`)")


@contextmanager
def cluster_client(spec: str, timeout: float = 10.0) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``spec`` (see :func:`parse_cluster`), closed on exit
    (with the local cluster it started)."""
    kind, value = parse_cluster(spec)
    distributed = require_distributed()
    if kind == "local":
        with distributed.LocalCluster(n_workers=int(value), threads_per_worker=1,
                                      processes=True, dashboard_address=":0") as local, \
                distributed.Client(local) as client:
            yield client
        return
    try:
        client = distributed.Client(str(value), timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ClusterUnavailableError(
            f"cannot reach the Dask scheduler at {value} within {timeout:g} s ({exc}); start "
            f"one with `dask scheduler` and workers with `dask worker {value}`, or use "
            "--cluster local:N") from None
    try:
        yield client
    finally:
        client.close()


#: how long to wait, after a first month fails, for the other months that failed with it
KILLED_SETTLE_SECONDS = 2.0


def killed_months(distributed: ModuleType, scored: dict[Any, Partition],
                  killed: type[BaseException]) -> list[str]:
    """Every month whose task failed because its workers died, in time order.

    A worker that dies takes with it every task it held, so the month that kills it and the
    months queued beside it fail in the same step of the scheduler, and Dask cannot tell
    which of them killed it. Their failures reach the client one by one: wait a moment for
    the rest before naming them."""
    running = [f for f in scored if not f.done()]
    if running:  # a month still running after the wait did not fail with the first
        with suppress(TimeoutError):
            distributed.wait(running, timeout=KILLED_SETTLE_SECONDS)
    return sorted(part.year_month for future, part in scored.items()
                  if future.status == "error" and isinstance(future.exception(), killed))


def run_on_cluster(client: Any, models: ScoringModels, source: Path, manifest: Manifest,
                   target: Path, assessed_at: datetime,
                   progress: Progress | None = None) -> list[Partition]:
    """Score every partition on the cluster: the carried models form a chain of tasks in time
    order; each month is scored as soon as its models are ready. Progress counts finished
    months. A month whose worker dies is retried on another worker (Dask's
    ``distributed.scheduler.allowed-failures`` times) before the job fails with
    :class:`ClusterJobError`; every task still pending is then cancelled."""
    distributed = require_distributed()
    from distributed.scheduler import KilledWorker

    report = progress or (lambda done, total: None)
    parts = manifest.partitions
    report(0, len(parts))
    token = uuid.uuid4().hex[:8]
    pending: list[Any] = []
    scored: dict[Any, Partition] = {}
    try:
        # a task, not scattered data: a worker that dies holding the models loses nothing the
        # scheduler cannot recompute (the models make the graph large: expected, not a warning)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sending large graph",
                                    category=UserWarning)
            state = client.submit(hold_models, models, key=f"clearlane-models-{token}")
        pending.append(state)
        for i, part in enumerate(parts):
            future = client.submit(score_partition_task, state, str(source), part, str(target),
                                   assessed_at, key=f"clearlane-score-{part.year_month}-{token}")
            scored[future] = part
            pending.append(future)
            if i + 1 < len(parts):
                state = client.submit(carry_partition_task, state, str(source), part,
                                      key=f"clearlane-carry-{part.year_month}-{token}")
                pending.append(state)
        written: list[Partition] = []
        for future in distributed.as_completed(list(scored)):
            part = scored[future]
            try:
                written.append(future.result())
            except KilledWorker as exc:
                months = killed_months(distributed, scored, KilledWorker)
                raise ClusterJobError(
                    f"workers died while working on month{'s' if len(months) > 1 else ''} "
                    f"{', '.join(months)} ({exc}); the job was stopped and nothing was "
                    "written; run it again") from None
            except (OSError, TimeoutError, CancelledError) as exc:
                raise ClusterUnavailableError(
                    f"lost the Dask scheduler while scoring month {part.year_month}: {exc}; "
                    "nothing was written") from None
            report(len(written), len(parts))
        return written
    finally:
        client.cancel(pending)
