"""The run queue, cancel flags, outcomes, the model registry and the worker heartbeat."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ner_core.config import TrainConfig
from storage.heartbeat import WorkerAlreadyRunningError, beat, claim_worker, recover_stale_runs, worker_status
from storage.registry import activate_model, active_model, beats_active, list_models, register_model
from storage.runs import (
    RunStateError,
    active_runs,
    cancel_requested,
    claim_next_run,
    enqueue_run,
    finish_run,
    get_run,
    record_progress,
    request_cancel,
    run_progress,
)
from storage.schema import RunStatus, WorkerHeartbeat, utcnow

SCRATCH = TrainConfig(tagger="scratch", epochs=2)


@dataclass
class FakeProgress:
    epoch: int = 1
    epochs: int = 2
    step: int = 3
    steps_per_epoch: int = 4
    loss: float | None = 0.5
    dev_f1: float | None = None
    elapsed: float = 1.0
    eta: float | None = 2.0


def test_a_new_request_replaces_the_queued_one(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        first = enqueue_run(session, SCRATCH)
        assert claim_next_run(session, worker_pid=1).id == first.id
        second = enqueue_run(session, SCRATCH)
        third = enqueue_run(session, TrainConfig(tagger="scratch", epochs=3))
    with factory.begin() as session:
        assert [(r.id, r.status) for r in active_runs(session)] == [(first.id, "running"), (third.id, "queued")]
        assert get_run(session, second.id).status == RunStatus.CANCELLED
        assert f"replaced by run {third.id}" in get_run(session, second.id).note
        assert get_run(session, third.id).config["epochs"] == 3


def test_cancel_queued_is_immediate_running_is_a_flag_finished_is_an_error(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        running = enqueue_run(session, SCRATCH)
        claim_next_run(session, worker_pid=1)
        queued = enqueue_run(session, SCRATCH)
        assert request_cancel(session, queued.id).status == RunStatus.CANCELLED
        assert claim_next_run(session, worker_pid=1) is None
        assert not record_progress(session, running.id, FakeProgress(), epoch_end=False)
        request_cancel(session, running.id)
        assert record_progress(session, running.id, FakeProgress(dev_f1=0.5), epoch_end=True)
        assert cancel_requested(session, running.id)
        assert finish_run(session, running.id, RunStatus.CANCELLED)
        with pytest.raises(RunStateError, match="already cancelled"):
            request_cancel(session, running.id)
        assert len(run_progress(session, running.id)) == 2
        assert [p.dev_f1 for p in run_progress(session, running.id, epoch_ends_only=True)] == [0.5]


def test_finish_run_does_nothing_to_a_run_no_longer_running(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        run = enqueue_run(session, SCRATCH)
        claim_next_run(session, worker_pid=1)
        assert finish_run(session, run.id, RunStatus.FAILED, error="boom")
        assert not finish_run(session, run.id, RunStatus.SUCCEEDED)
        assert (get_run(session, run.id).status, get_run(session, run.id).error) == ("failed", "boom")


def test_activation_rule_and_rollback(factory: sessionmaker[Session]) -> None:
    def register(session: Session, path: str, f1: float | None) -> int:
        return register_model(session, run_id=None, path=path, tagger="scratch", encoder=None, n_train=5,
                              snapshot_hash="x", n_test=2, test_f1=f1, test_metrics=None, train_seconds=1.0).id

    with factory.begin() as session:
        assert beats_active(None, None)
        first = register(session, "/m/1", 0.8)
        activate_model(session, first)
        assert beats_active(0.8, active_model(session)) and not beats_active(0.79, active_model(session))
        assert not beats_active(None, active_model(session))
        second = register(session, "/m/2", 0.9)
        activate_model(session, second)
        activate_model(session, first)  # rollback by hand
        assert active_model(session).id == first
        assert [(m.id, m.is_active) for m in list_models(session)] == [(second, False), (first, True)]


def test_heartbeat_liveness_and_stale_run_recovery(factory: sessionmaker[Session]) -> None:
    me = os.getpid()
    with factory.begin() as session:
        assert not worker_status(session).alive
        claim_worker(session, pid=me)
        assert beat(session, pid=me, state="idle")
        run = enqueue_run(session, SCRATCH)
        claim_next_run(session, worker_pid=me)
        assert worker_status(session).alive
        assert recover_stale_runs(session) == []  # a live worker keeps its run
        with pytest.raises(WorkerAlreadyRunningError, match=f"worker pid {me} on .* is alive"):
            claim_worker(session, pid=me + 1)  # another worker may not take over
        session.get(WorkerHeartbeat, 1).beat_at = utcnow() - timedelta(minutes=5)
        assert not worker_status(session).alive
        assert recover_stale_runs(session) == [run.id]
        assert "stopped while this run was training" in get_run(session, run.id).error
        assert not beat(session, pid=me + 1, state="idle")


def test_a_dead_pid_is_not_alive_even_with_a_fresh_beat(factory: sessionmaker[Session]) -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)
    with factory.begin() as session:
        claim_worker(session, pid=dead_pid)
        assert not worker_status(session).alive
        claim_worker(session, pid=os.getpid())
        assert worker_status(session).pid == os.getpid()
