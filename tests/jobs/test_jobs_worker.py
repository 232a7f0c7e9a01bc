"""The worker as a real subprocess: success, cancel, kill -9 recovery."""
from __future__ import annotations

import os
import signal
import sqlite3
import time

from sqlalchemy import select

from storage.heartbeat import worker_status
from storage.labelling import next_sentences_to_label
from storage.registry import active_model, list_models
from storage.runs import enqueue_run, get_run, request_cancel, run_progress
from storage.schema import RunProgress, RunStatus, Sentence, SentenceStatus
from tests.jobs.conftest import ENDLESS, QUICK, UNLABELLED, Studio, wait_for


def test_a_queued_run_succeeds_with_progress_a_registered_model_and_suggestions(studio: Studio) -> None:
    with studio.factory.begin() as session:
        run_id = enqueue_run(session, QUICK).id
    studio.run_once()
    with studio.factory.begin() as session:
        run = get_run(session, run_id)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.started_at and run.finished_at and run.snapshot_size == 60 and len(run.snapshot_hash) == 64
        epochs = run_progress(session, run_id, epoch_ends_only=True)
        assert [(p.epoch, p.dev_f1 is not None) for p in epochs] == [(1, True), (2, True)]
        assert len(run_progress(session, run_id)) >= 3
        model = active_model(session)
        assert model is not None and model.run_id == run_id and model.n_train == 60 and model.n_test == 7
        assert set(model.test_metrics) >= {"precision", "recall", "f1", "per_type"}
        assert model.test_f1 == model.test_metrics["f1"]
        queue = next_sentences_to_label(session, 10)
        assert sorted(s.text for s in queue) == sorted(UNLABELLED)
        assert all(s.status == SentenceStatus.SUGGESTED and s.suggestion_model_id == model.id
                   and s.uncertainty is not None for s in queue)
        assert not worker_status(session).alive
    assert (studio.models_dir / os.path.basename(model.path) / "config.json").is_file()
    for exported in ("model.onnx", "model.int8.onnx", "onnx.json"):  # made when the worker saves
        assert (studio.models_dir / os.path.basename(model.path) / exported).is_file()
    assert [p.name for p in studio.models_dir.iterdir()] == [os.path.basename(model.path)]


def test_cancel_stops_a_running_run_within_seconds(studio: Studio) -> None:
    with studio.factory.begin() as session:
        run_id = enqueue_run(session, ENDLESS).id
    worker = studio.worker("--once")
    try:
        wait_for(lambda: studio.progress_rows(run_id) >= 2, what="training progress")
        with studio.factory.begin() as session:
            request_cancel(session, run_id)
        asked = time.monotonic()
        worker.wait(timeout=30)
        waited = time.monotonic() - asked
    finally:
        worker.kill()
        worker.wait()
    with studio.factory.begin() as session:
        assert get_run(session, run_id).status == RunStatus.CANCELLED
        assert list_models(session) == []
    assert waited < 10
    assert not list(studio.models_dir.glob("*")) if studio.models_dir.exists() else True


def test_kill_9_mid_training_fails_the_run_on_restart_and_the_old_model_keeps_serving(studio: Studio) -> None:
    with studio.factory.begin() as session:
        enqueue_run(session, QUICK)
    studio.run_once()
    with studio.factory.begin() as session:
        old_model = active_model(session).id
        run_id = enqueue_run(session, ENDLESS).id
    worker = studio.worker()
    try:
        wait_for(lambda: studio.progress_rows(run_id) >= 2, what="training progress")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    with studio.factory.begin() as session:
        assert get_run(session, run_id).status == RunStatus.RUNNING
        assert not worker_status(session).alive
    studio.run_once()
    with studio.factory.begin() as session:
        run = get_run(session, run_id)
        assert run.status == RunStatus.FAILED and "stopped while this run was training" in run.error
        assert active_model(session).id == old_model and len(list_models(session)) == 1
        assert session.scalar(select(Sentence).where(Sentence.status == SentenceStatus.SUGGESTED)) is not None
        assert session.scalars(select(RunProgress).where(RunProgress.run_id == run_id)).first() is not None
    assert not list(studio.models_dir.glob(".tmp-*"))
    with sqlite3.connect(studio.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
