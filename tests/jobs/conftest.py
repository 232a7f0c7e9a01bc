"""Fixtures for worker tests: a small labelled database in a temp dir, worker subprocesses."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ner_core.config import TrainConfig
from ner_core.data import line_examples, read_tasteset
from storage.db import make_session_factory
from storage.runs import run_progress
from storage.sentences import NewSentence, add_recipe, add_sentences

REPO = Path(__file__).resolve().parents[2]
TINY = dict(tagger="scratch", threads=1, d_model=32, layers=1, heads=2, char_dim=16, batch_size=8)
QUICK = TrainConfig(epochs=2, **TINY)  # type: ignore[arg-type]
ENDLESS = TrainConfig(epochs=100_000, patience=100_000, **TINY)  # type: ignore[arg-type]
UNLABELLED = ["2 cups milk", "1 onion, diced", "3 cloves garlic", "salt to taste"]


class Studio:
    """A database file, a models directory and the environment a worker process needs."""

    def __init__(self, root: Path) -> None:
        self.db_path, self.models_dir = root / "studio.db", root / "models"
        self.url = f"sqlite:///{self.db_path}"
        self.factory: sessionmaker[Session] = make_session_factory(self.url)
        self.env = {**os.environ, "DATABASE_URL": self.url, "MODELS_DIR": str(self.models_dir)}

    def worker(self, *args: str) -> subprocess.Popen[str]:
        """Start ``python -m jobs.worker`` with fast polling and reporting."""
        command = [sys.executable, "-m", "jobs.worker", "--threads", "1", "--poll", "0.2",
                   "--progress-every", "0.2", *args]
        return subprocess.Popen(command, cwd=REPO, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def progress_rows(self, run_id: int) -> int:
        """How many progress rows a run has written."""
        with self.factory.begin() as session:
            return len(run_progress(session, run_id))

    def run_once(self) -> str:
        """Run ``python -m jobs.worker --once`` to completion; return its log."""
        proc = self.worker("--once")
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        return out


def wait_for(condition: Callable[[], object], *, timeout: float = 60.0, what: str = "condition") -> object:
    """Poll condition until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def tasteset_lines(tasteset_path: Path) -> list:
    """Ingredient lines of the first TASTEset recipes (a few dozen sentences)."""
    return line_examples(read_tasteset(tasteset_path)[:12])


@pytest.fixture
def studio(tmp_path: Path, tasteset_lines: list) -> Studio:
    """A database with about 60 confirmed TASTEset lines and a few unlabelled ones."""
    studio = Studio(tmp_path)
    with studio.factory.begin() as session:
        add_recipe(session, [NewSentence(ex.text, ex.spans) for ex in tasteset_lines], name="t", source="test")
        add_sentences(session, UNLABELLED)
    return studio
