"""The worker's heartbeat row: who the worker is, whether it is alive, stale-run recovery."""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.runs import fail_running_runs
from storage.schema import WorkerHeartbeat, utcnow

log = logging.getLogger(__name__)

HEARTBEAT_ROW_ID = 1
STALE_AFTER_SECONDS = 30.0
STOPPED = "stopped"


@dataclass(frozen=True)
class WorkerStatus:
    """What the heartbeat row says about the worker."""

    alive: bool
    pid: int | None
    hostname: str | None
    state: str
    beat_at: datetime | None
    age_seconds: float | None


def _pid_alive(pid: int) -> bool:
    """Whether a process with pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_alive(row: WorkerHeartbeat, now: datetime, stale_after: float) -> bool:
    """A beat younger than stale_after, not stopped, and on this host a live pid."""
    if row.state == STOPPED or (now - row.beat_at).total_seconds() > stale_after:
        return False
    return row.hostname != socket.gethostname() or _pid_alive(row.pid)


def worker_status(session: Session, *, stale_after: float = STALE_AFTER_SECONDS) -> WorkerStatus:
    """Whether a worker is alive according to its heartbeat."""
    row = session.get(WorkerHeartbeat, HEARTBEAT_ROW_ID)
    if row is None:
        return WorkerStatus(False, None, None, "never started", None, None)
    now = utcnow()
    return WorkerStatus(
        alive=_is_alive(row, now, stale_after),
        pid=row.pid,
        hostname=row.hostname,
        state=row.state,
        beat_at=row.beat_at,
        age_seconds=(now - row.beat_at).total_seconds(),
    )


class WorkerAlreadyRunningError(RuntimeError):
    """A live worker already serves this database."""


def claim_worker(session: Session, *, pid: int, stale_after: float = STALE_AFTER_SECONDS) -> None:
    """Take the heartbeat row for pid; raise WorkerAlreadyRunningError if another live
    worker holds it, or won it in a race (compare-and-set on the previous holder)."""
    now, host = utcnow(), socket.gethostname()
    row = session.get(WorkerHeartbeat, HEARTBEAT_ROW_ID)
    if row is None:
        session.add(WorkerHeartbeat(id=HEARTBEAT_ROW_ID, pid=pid, hostname=host, state="starting",
                                    started_at=now, beat_at=now))
        try:
            session.flush()
        except IntegrityError as e:  # the caller's transaction rolls back
            raise WorkerAlreadyRunningError("another worker started at the same moment; let it serve") from e
        return
    if row.pid != pid and _is_alive(row, now, stale_after):
        raise WorkerAlreadyRunningError(f"worker pid {row.pid} on {row.hostname} is alive (state {row.state!r}, "
                                        f"last beat {row.beat_at} UTC); stop it first or let it serve")
    result = session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.id == HEARTBEAT_ROW_ID, WorkerHeartbeat.pid == row.pid,
               WorkerHeartbeat.beat_at == row.beat_at)
        .values(pid=pid, hostname=host, state="starting", started_at=now, beat_at=now)
    )
    if result.rowcount != 1:
        raise WorkerAlreadyRunningError("another worker took over at the same moment; let it serve")


def beat(session: Session, *, pid: int, state: str) -> bool:
    """Refresh the heartbeat of the worker pid; False if another worker took the row."""
    result = session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.id == HEARTBEAT_ROW_ID, WorkerHeartbeat.pid == pid)
        .values(state=state, beat_at=utcnow())
    )
    return result.rowcount == 1


def recover_stale_runs(session: Session, *, stale_after: float = STALE_AFTER_SECONDS) -> list[int]:
    """Mark running runs failed when no worker is alive to finish them; return their ids.

    Called by the worker at startup and by the app when it starts.
    """
    status = worker_status(session, stale_after=stale_after)
    if status.alive:
        return []
    return fail_running_runs(session, orphaned_run_reason(status.pid, status.beat_at))


def orphaned_run_reason(pid: int | None, beat_at: datetime | None) -> str:
    """The error recorded on a run whose worker died under it."""
    return (f"the worker (pid {pid}, last heartbeat {beat_at} UTC) stopped while this run was training; "
            "queue the run again")
