"""The jobs command line, recorded training errors, SIGTERM, and a second worker."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jobs.runner import WorkerSettings
from jobs.worker import serve
from storage.heartbeat import STOPPED, WorkerAlreadyRunningError, claim_worker, worker_status
from storage.runs import enqueue_run, get_run
from storage.schema import RunStatus
from tests.jobs.conftest import ENDLESS, QUICK, REPO, Studio, wait_for


def _cli(studio: Studio, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=REPO, env=studio.env, capture_output=True,
                          text=True, timeout=60)


def test_cli_enqueue_status_cancel(studio: Studio) -> None:
    queued = _cli(studio, "enqueue", "--tagger", "scratch", "--epochs", "3", "--option", "threads=1")
    assert queued.returncode == 0 and queued.stdout.startswith("queued run 1: scratch 3 epochs"), queued.stderr
    status = _cli(studio, "status")
    assert "worker: not running" in status.stdout and "   1 queued    scratch" in status.stdout
    assert _cli(studio, "cancel", "1").stdout.strip() == "run 1: cancelled"
    again = _cli(studio, "cancel", "1")
    assert again.returncode == 1 and "run 1 is already cancelled" in again.stderr
    bad = _cli(studio, "enqueue", "--tagger", "scratch", "--option", "colour=blue")
    assert bad.returncode == 1 and "unknown training option(s): colour" in bad.stderr


def test_a_training_error_is_recorded_on_the_run(tmp_path: Path) -> None:
    empty = Studio(tmp_path)  # no confirmed sentences at all
    with empty.factory.begin() as session:
        run_id = enqueue_run(session, QUICK).id
    serve(empty.factory, WorkerSettings(models_dir=empty.models_dir, poll_every=0.1), once=True)
    with empty.factory.begin() as session:
        run = get_run(session, run_id)
        assert run.status == RunStatus.FAILED
        assert run.error.startswith("NotEnoughDataError: 0 confirmed training sentence(s)")
        assert worker_status(session).state == STOPPED


def test_a_second_worker_refuses_to_start(studio: Studio) -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        with studio.factory.begin() as session:
            claim_worker(session, pid=other.pid)
        with pytest.raises(WorkerAlreadyRunningError, match=f"worker pid {other.pid} .* is alive"):
            serve(studio.factory, WorkerSettings(models_dir=studio.models_dir), once=True, stop=threading.Event())
        proc = studio.worker("--once")
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 2 and "is alive" in out
    finally:
        other.kill()
        other.wait()


def test_sigterm_fails_the_run_with_a_reason_and_stops_cleanly(studio: Studio) -> None:
    with studio.factory.begin() as session:
        run_id = enqueue_run(session, ENDLESS).id
    worker = studio.worker()
    try:
        wait_for(lambda: studio.progress_rows(run_id) >= 2, what="training progress")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        worker.kill()
        worker.wait()
    with studio.factory.begin() as session:
        run = get_run(session, run_id)
        assert run.status == RunStatus.FAILED and "the worker was stopped while training" in run.error
        assert worker_status(session).state == STOPPED
