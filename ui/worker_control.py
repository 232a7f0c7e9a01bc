"""Starting the training worker from the app and telling whether it is alive."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from storage.db import database_url
from storage.heartbeat import WorkerStatus, worker_status

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = REPO_ROOT / "runs"
# A worker we launched needs a few seconds (importing torch) before its first beat.
BOOT_GRACE_SECONDS = 90.0


@dataclass
class Launches:
    """Worker processes this app process started, per database URL."""

    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_at: dict[str, float] = field(default_factory=dict)


@st.cache_resource
def _launches() -> Launches:
    """The one Launches record of this server process."""
    return Launches()


def _booting(url: str) -> bool:
    """Whether a worker we launched for url is still running and within its boot grace."""
    launches = _launches()
    process = launches.processes.get(url)
    if process is None or process.poll() is not None:  # poll() also reaps an exited child
        return False
    return time.monotonic() - launches.started_at[url] < BOOT_GRACE_SECONDS


def start_worker(url: str | None = None) -> int:
    """Launch ``python -m jobs.worker`` detached, for url's database; return its pid."""
    url = url or database_url()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "worker.log", "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker"],
            cwd=REPO_ROOT,
            env={**os.environ, "DATABASE_URL": url},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives a Streamlit restart and Ctrl+C in its terminal
        )
    launches = _launches()
    launches.processes[url] = process
    launches.started_at[url] = time.monotonic()
    log.info("started worker pid %s for %s (log: %s)", process.pid, url, LOG_DIR / "worker.log")
    return process.pid


@dataclass(frozen=True)
class WorkerView:
    """The worker as the app shows it."""

    status: WorkerStatus
    booting: bool

    @property
    def running(self) -> bool:
        """Alive, or launched by us and still starting up."""
        return self.status.alive or self.booting

    def describe(self) -> str:
        """One line for the sidebar."""
        if self.status.alive:
            return f":green[:material/fiber_manual_record:] Worker alive (pid {self.status.pid}, {self.status.state})"
        if self.booting:
            return ":orange[:material/fiber_manual_record:] Worker starting…"
        return ":red[:material/fiber_manual_record:] Worker not running"


def worker_view(factory: sessionmaker[Session], url: str | None = None) -> WorkerView:
    """The worker's heartbeat and whether we are waiting for one we launched."""
    with factory() as session:
        status = worker_status(session)
    return WorkerView(status, booting=not status.alive and _booting(url or database_url()))


def ensure_worker(factory: sessionmaker[Session], url: str | None = None) -> WorkerView:
    """Start the worker unless one is alive or booting; return the view before starting."""
    view = worker_view(factory, url)
    if not view.running:
        start_worker(url)
        return WorkerView(view.status, booting=True)
    return view
