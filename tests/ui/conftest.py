"""Fixtures for the app's tests: a temporary SQLite database, a tiny trained model, AppTest."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ner_core.config import TrainConfig
from ner_core.data import line_examples
from ner_core.evaluate import evaluate
from ner_core.predict import Predictor
from ner_core.train import train
from storage.datasets import confirmed_examples
from storage.db import make_session_factory
from storage.registry import activate_model, register_model
from storage.runs import enqueue_run
from storage.schema import Split
from ui.starter import load_starter, read_starter

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "streamlit_app.py")
TINY = dict(tagger="scratch", epochs=4, d_model=32, layers=1, heads=2, char_dim=8, threads=1, batch_size=32)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite file as DATABASE_URL; the worker is never really started."""
    url = f"sqlite:///{tmp_path / 'studio.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    started: list[str | None] = []
    monkeypatch.setattr("ui.worker_control.start_worker", lambda url=None: started.append(url) or 0)
    return url


@pytest.fixture
def factory(db_url: str) -> sessionmaker[Session]:
    """A session factory on the test database."""
    return make_session_factory(db_url)


@pytest.fixture
def empty_db(factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    """A database that stays empty: the starter data file is swapped for an empty one."""
    empty = tmp_path / "no_starter.jsonl"
    empty.write_text("")
    monkeypatch.setattr("ui.starter.STARTER_PATH", empty)
    return factory


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny scratch tagger trained for a few seconds on the starter data, saved to disk."""
    examples = line_examples([example for _, example in read_starter()])
    last = None
    for last in train(TrainConfig(**TINY), examples[:200]):
        pass
    assert last is not None and last.tagger is not None
    directory = tmp_path_factory.mktemp("models") / "tiny"
    last.tagger.save(directory)
    return directory


@pytest.fixture
def populated_db(factory: sessionmaker[Session], tiny_model: Path, tmp_path: Path) -> sessionmaker[Session]:
    """Starter data, two registered models (the newer active) and a finished run."""
    with factory.begin() as session:
        load_starter(session)
        gold = confirmed_examples(session, Split.TEST)
        predicted = Predictor.load(tiny_model).predict([ex.text for ex in gold])
        report = evaluate(gold, [[s.span for s in p] for p in predicted])
        for version in (1, 2):
            path = tmp_path / f"model_v{version}"
            shutil.copytree(tiny_model, path)
            model = register_model(session, run_id=None, path=str(path), tagger="scratch", encoder=None,
                                   n_train=100 * version, snapshot_hash=None, n_test=len(gold),
                                   test_f1=max(0.0, report.f1 - 0.1 / version), test_metrics=report.to_dict(),
                                   train_seconds=3.0)
        activate_model(session, model.id)
        enqueue_run(session, TrainConfig(**TINY)).status = "succeeded"
    return factory


@pytest.fixture
def app() -> Callable[..., "AppTest"]:
    """Run the app on a page: ``app("train")`` returns the AppTest after the page ran."""
    from streamlit.testing.v1 import AppTest

    def run(page: str = "label") -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60).run()
        if page != "label":
            at.switch_page(f"ui/pages/{page}.py").run()
        return at

    return run


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches() -> Iterator[None]:
    """Clear st.cache_data between tests (resources are keyed by database URL and path)."""
    yield
    import streamlit as st

    st.cache_data.clear()
