"""Training runs: the queue (one running, at most one queued), progress, cancel, outcome."""
from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ner_core.config import TrainConfig
from storage.schema import RunProgress, RunStatus, TrainingRun, utcnow

log = logging.getLogger(__name__)

FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class RunNotFoundError(LookupError):
    """No training run has the requested id."""


class RunStateError(ValueError):
    """The run is not in a state that allows the requested change."""


class ProgressLike(Protocol):
    """A training progress report (ner_core.train.Progress fits)."""

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float | None
    dev_f1: float | None
    elapsed: float
    eta: float | None


def get_run(session: Session, run_id: int) -> TrainingRun:
    """The run with run_id; raise RunNotFoundError if absent."""
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise RunNotFoundError(f"no training run with id {run_id}")
    return run


def enqueue_run(session: Session, config: TrainConfig) -> TrainingRun:
    """Queue a run for config; a run already waiting in the queue is replaced (cancelled)."""
    run = TrainingRun(tagger=config.tagger, encoder=config.encoder, config=config.to_dict())
    session.add(run)
    session.flush()
    for waiting in session.scalars(
        select(TrainingRun).where(TrainingRun.status == RunStatus.QUEUED, TrainingRun.id != run.id)
    ):
        waiting.status = RunStatus.CANCELLED
        waiting.finished_at = utcnow()
        waiting.note = f"replaced by run {run.id} before it started"
        log.info("queued run %s replaced by run %s", waiting.id, run.id)
    session.flush()
    return run


def request_cancel(session: Session, run_id: int) -> TrainingRun:
    """Cancel a queued run now, or flag a running one for the worker to stop."""
    run = get_run(session, run_id)
    if run.status == RunStatus.QUEUED:
        run.status = RunStatus.CANCELLED
        run.finished_at = utcnow()
        run.note = "cancelled before it started"
    elif run.status == RunStatus.RUNNING:
        run.cancel_requested = True
    else:
        raise RunStateError(f"run {run_id} is already {run.status}; only queued or running runs can be cancelled")
    session.flush()
    return run


def list_runs(session: Session, limit: int = 20) -> list[TrainingRun]:
    """The most recent runs, newest first."""
    return list(session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)))


def active_runs(session: Session) -> list[TrainingRun]:
    """Runs that are queued or running, oldest first."""
    return list(
        session.scalars(
            select(TrainingRun)
            .where(TrainingRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
            .order_by(TrainingRun.id)
        )
    )


def claim_next_run(session: Session, *, worker_pid: int) -> TrainingRun | None:
    """Move the oldest queued run to running for this worker; None if the queue is empty."""
    run = session.scalars(
        select(TrainingRun).where(TrainingRun.status == RunStatus.QUEUED).order_by(TrainingRun.id).limit(1)
    ).first()
    if run is None:
        return None
    claimed = session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run.id, TrainingRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=utcnow(), worker_pid=worker_pid)
    )
    if claimed.rowcount != 1:  # cancelled or replaced between the select and the update
        return None
    return run


def record_snapshot(session: Session, run_id: int, *, size: int, sha256: str) -> None:
    """Store which training data a run uses."""
    run = get_run(session, run_id)
    run.snapshot_size, run.snapshot_hash = size, sha256
    session.flush()


def record_progress(session: Session, run_id: int, progress: ProgressLike, *, epoch_end: bool) -> bool:
    """Append a progress row; return True when cancel has been requested."""
    session.add(
        RunProgress(
            run_id=run_id,
            epoch=progress.epoch,
            epochs=progress.epochs,
            step=progress.step,
            steps_per_epoch=progress.steps_per_epoch,
            loss=progress.loss,
            dev_f1=progress.dev_f1,
            elapsed=progress.elapsed,
            eta=progress.eta,
            epoch_end=epoch_end,
        )
    )
    session.flush()
    return cancel_requested(session, run_id)


def cancel_requested(session: Session, run_id: int) -> bool:
    """Whether someone asked to cancel the run."""
    return bool(session.scalar(select(TrainingRun.cancel_requested).where(TrainingRun.id == run_id)))


def run_progress(session: Session, run_id: int, *, epoch_ends_only: bool = False) -> list[RunProgress]:
    """Progress rows of a run, oldest first (per-epoch history with epoch_ends_only)."""
    query = select(RunProgress).where(RunProgress.run_id == run_id).order_by(RunProgress.id)
    if epoch_ends_only:
        query = query.where(RunProgress.epoch_end.is_(True))
    return list(session.scalars(query))


def latest_progress(session: Session, run_id: int) -> RunProgress | None:
    """The newest progress row of a run."""
    return session.scalars(
        select(RunProgress).where(RunProgress.run_id == run_id).order_by(RunProgress.id.desc()).limit(1)
    ).first()


def finish_run(
    session: Session, run_id: int, status: RunStatus, *, error: str | None = None, note: str | None = None
) -> bool:
    """Record a running run's outcome; False (and nothing changed) if it is no longer
    running, e.g. because it was marked failed as stale meanwhile."""
    if status not in FINISHED_STATUSES:
        raise RunStateError(f"{status} is not a final run status; use one of {', '.join(FINISHED_STATUSES)}")
    result = session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id, TrainingRun.status == RunStatus.RUNNING)
        .values(status=status, error=error, note=note, finished_at=utcnow())
    )
    return result.rowcount == 1


def fail_running_runs(session: Session, reason: str) -> list[int]:
    """Mark every running run failed with reason; return their ids."""
    ids = list(session.scalars(select(TrainingRun.id).where(TrainingRun.status == RunStatus.RUNNING)))
    for run_id in ids:
        finish_run(session, run_id, RunStatus.FAILED, error=reason)
        log.warning("run %s marked failed: %s", run_id, reason)
    return ids
