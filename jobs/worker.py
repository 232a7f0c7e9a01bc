"""``python -m jobs.worker [--once]``: run queued training runs one at a time.

Lifecycle: claim the heartbeat row (exit if another worker is alive), mark runs left
'running' by a dead worker as failed, remove half-written model directories, then loop:
claim the oldest queued run and execute it; otherwise refresh the active model's
suggestions; otherwise sleep. ``--once`` exits when both are done.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from jobs.runner import SuggestionRefresher, WorkerSettings, process_run
from jobs.training import remove_stale_temp_dirs
from storage.db import make_session_factory
from storage.heartbeat import (
    STOPPED,
    WorkerAlreadyRunningError,
    beat,
    claim_worker,
    orphaned_run_reason,
    worker_status,
)
from storage.runs import claim_next_run, fail_running_runs

log = logging.getLogger(__name__)


class Heartbeat:
    """A thread that refreshes the heartbeat row every few seconds, even mid-step."""

    def __init__(self, factory: sessionmaker[Session], pid: int, every: float, stop: threading.Event) -> None:
        self.factory, self.pid, self.every, self.stop = factory, pid, every, stop
        self.state = "starting"
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def start(self) -> None:
        """Begin beating."""
        self._thread.start()

    def close(self) -> None:
        """Stop beating and mark the worker stopped."""
        self._done.set()
        self._thread.join()
        with self.factory.begin() as session:
            beat(session, pid=self.pid, state=STOPPED)

    def _loop(self) -> None:
        while not self._done.wait(self.every):
            with self.factory.begin() as session:
                if not beat(session, pid=self.pid, state=self.state):
                    log.error("another worker took over the heartbeat row; stopping")
                    self.stop.set()


def start_worker(factory: sessionmaker[Session], settings: WorkerSettings) -> list[int]:
    """Claim the worker role and clean up after a dead predecessor; return failed run ids."""
    pid = os.getpid()
    with factory.begin() as session:
        previous = worker_status(session)
        claim_worker(session, pid=pid)  # raises WorkerAlreadyRunningError
        failed = fail_running_runs(session, orphaned_run_reason(previous.pid, previous.beat_at))
    for path in remove_stale_temp_dirs(settings.models_dir):
        log.warning("removed half-written model directory %s", path)
    return failed


def serve(factory: sessionmaker[Session], settings: WorkerSettings, *, once: bool,
          stop: threading.Event | None = None) -> None:
    """The worker loop (see the module docstring)."""
    stop = stop or threading.Event()
    start_worker(factory, settings)
    heartbeat = Heartbeat(factory, os.getpid(), settings.heartbeat_every, stop)
    heartbeat.start()
    refresher = SuggestionRefresher(factory, settings)
    try:
        while not stop.is_set():
            with factory.begin() as session:
                run = claim_next_run(session, worker_pid=os.getpid())
            if run is not None:
                heartbeat.state = f"training run {run.id}"
                process_run(factory, run, settings, stop)
                continue
            heartbeat.state = "suggesting"
            if refresher.refresh_batch():
                continue
            if once:
                break
            heartbeat.state = "idle"
            stop.wait(settings.poll_every)
    finally:
        heartbeat.close()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until stopped (or, with --once, until the queue is empty)."""
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="drain the queue and the suggestions, then exit")
    parser.add_argument("--models-dir", type=Path, help="default: $MODELS_DIR or <repo>/models")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for suggestions")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between queue checks when idle")
    parser.add_argument("--progress-every", type=float, default=2.0, help="seconds between progress rows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = WorkerSettings(poll_every=args.poll, progress_every=args.progress_every, threads=args.threads,
                              **({"models_dir": args.models_dir} if args.models_dir else {}))
    import torch  # only the worker process sets torch's thread count

    torch.set_num_threads(settings.threads)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        serve(make_session_factory(), settings, once=args.once, stop=stop)
    except WorkerAlreadyRunningError as e:
        log.error("%s", e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
