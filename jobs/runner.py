"""Running one training run end to end, and refreshing the active model's suggestions."""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from jobs import training
from ner_core.config import TrainConfig
from ner_core.data import Example
from ner_core.predict import Predictor
from ner_core.train import Progress
from storage.datasets import Snapshot, evaluation_examples, training_snapshot, unconfirmed_train_texts
from storage.labelling import sentences_needing_suggestions, store_suggestions
from storage.registry import activate_model, active_model, beats_active, register_model
from storage.runs import cancel_requested, finish_run, get_run, record_progress, record_snapshot
from storage.schema import RunStatus, TrainingRun, utcnow

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parent.parent


class WorkerStopped(Exception):
    """The worker was told to stop (SIGTERM or Ctrl-C) in the middle of a run."""


class RunLostError(RuntimeError):
    """The run stopped being 'running' in the database while the worker trained it."""


@dataclass(frozen=True)
class WorkerSettings:
    """How often the worker reports, where it puts models, how it predicts."""

    models_dir: Path = field(default_factory=lambda: Path(os.environ.get("MODELS_DIR") or REPO_ROOT / "models"))
    progress_every: float = 2.0
    heartbeat_every: float = 3.0
    poll_every: float = 2.0
    suggest_batch: int = 128
    threads: int = 2


class ProgressReporter:
    """Writes progress rows at most every few seconds (and at each epoch end) and says
    whether the run should stop."""

    def __init__(self, factory: sessionmaker[Session], run_id: int, *, every: float, stop: threading.Event) -> None:
        self.factory, self.run_id, self.every, self.stop = factory, run_id, every, stop
        self.last_write = float("-inf")

    def report(self, progress: Progress) -> bool:
        """Record progress if due; True when cancel was requested."""
        if self.stop.is_set():
            raise WorkerStopped(f"the worker was stopped while training run {self.run_id}; queue the run again")
        epoch_end = progress.epoch_end
        now = time.monotonic()
        if not epoch_end and now - self.last_write < self.every:
            return False
        self.last_write = now
        with self.factory.begin() as session:
            return record_progress(session, self.run_id, progress, epoch_end=epoch_end)


def process_run(factory: sessionmaker[Session], run: TrainingRun, settings: WorkerSettings,
                stop: threading.Event) -> None:
    """Execute a claimed run; any error is recorded on the run with its message."""
    try:
        execute_run(factory, run.id, settings, stop)
    except Exception as e:  # the worker's one broad except: record the failure, keep serving
        log.exception("run %s failed", run.id)
        with factory.begin() as session:
            finish_run(session, run.id, RunStatus.FAILED, error=f"{type(e).__name__}: {e}")


def execute_run(factory: sessionmaker[Session], run_id: int, settings: WorkerSettings,
                stop: threading.Event) -> None:
    """Snapshot the data, train with progress and cancel checks, then publish the model."""
    with factory.begin() as session:
        config = TrainConfig.from_dict(get_run(session, run_id).config)
        snapshot, test = training_snapshot(session), evaluation_examples(session)
        unlabelled: list[str] = []
        if config.tagger == "distilled":  # the teacher also speaks on unconfirmed train sentences
            config = training.with_teacher(config, active_model(session))
            unlabelled = unconfirmed_train_texts(session)
        record_snapshot(session, run_id, size=snapshot.size, sha256=snapshot.sha256)
    train_part, dev = training.split_dev(snapshot.examples)
    log.info("run %s: %s on %d sentences (%d dev), %d test", run_id, config.tagger, len(train_part), len(dev),
             len(test))
    reporter = ProgressReporter(factory, run_id, every=settings.progress_every, stop=stop)
    final: Progress | None = None
    for progress in training.training_progress(config, train_part, dev, unlabelled):
        if progress.done:
            final = progress
            break
        if reporter.report(progress):
            _cancel(factory, run_id)
            return
    if final is None:
        raise RuntimeError("training ended without a final progress item carrying the model")
    with factory.begin() as session:
        if cancel_requested(session, run_id):
            finish_run(session, run_id, RunStatus.CANCELLED, note="cancelled after training, before saving")
            return
    publish(factory, run_id, config, final, snapshot, test, settings)


def _cancel(factory: sessionmaker[Session], run_id: int) -> None:
    """Record that a run stopped on request."""
    with factory.begin() as session:
        finish_run(session, run_id, RunStatus.CANCELLED, note="cancelled during training")
    log.info("run %s cancelled", run_id)


def publish(factory: sessionmaker[Session], run_id: int, config: TrainConfig, final: Progress,
            snapshot: Snapshot, test: list[Example], settings: WorkerSettings) -> None:
    """Score the trained model on the test split, save it, register it, maybe activate it."""
    if final.tagger is None:
        raise RuntimeError("the final training progress item carries no model")
    scores = training.score(final.tagger, test, unit=config.unit)
    name = f"run-{run_id}-{config.tagger}-{utcnow():%Y%m%d-%H%M%S}"
    path = training.save_model(final.tagger, config, scores, models_dir=settings.models_dir, name=name)
    try:
        with factory.begin() as session:
            active = active_model(session)
            activate = beats_active(scores.f1, active)
            note = _outcome_note(scores, active_id=None if activate or active is None else active.id)
            if not finish_run(session, run_id, RunStatus.SUCCEEDED, note=note):
                raise RunLostError(f"run {run_id} was marked finished by someone else while training; "
                                   "its model was discarded")
            model = register_model(session, run_id=run_id, path=str(path), tagger=config.tagger,
                                   encoder=config.encoder, n_train=snapshot.size, snapshot_hash=snapshot.sha256,
                                   n_test=scores.n_test, test_f1=scores.f1, test_metrics=scores.metrics,
                                   train_seconds=final.elapsed)
            if activate:
                activate_model(session, model.id)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    log.info("run %s succeeded: model %s at %s (%s)", run_id, model.id, path, note)


def _outcome_note(scores: training.EvaluationScores, *, active_id: int | None) -> str:
    """The note of a succeeded run: its test score and whether it became active."""
    scored = (f"test F1 {scores.f1:.4f} on {scores.n_test} sentences" if scores.f1 is not None
              else "no confirmed test sentences to score on")
    return scored + ("; activated" if active_id is None else f"; model {active_id} stays active")


@dataclass
class SuggestionRefresher:
    """Precomputes the active model's suggestions for open sentences, a batch at a time."""

    factory: sessionmaker[Session]
    settings: WorkerSettings
    predictors: dict[str, Predictor] = field(default_factory=dict)
    broken: set[int] = field(default_factory=set)

    def refresh_batch(self) -> int:
        """Suggest for one batch of open sentences; return how many were predicted (0: done)."""
        with self.factory.begin() as session:
            model = active_model(session)
            if model is None or model.id in self.broken:
                return 0
            batch = [(s.id, s.text) for s in sentences_needing_suggestions(session, model.id,
                                                                           self.settings.suggest_batch)]
        if not batch:
            return 0
        try:
            predicted = training.predict(self._predictor(model.path), [text for _, text in batch])
        except (training.ModelUnavailableError, RuntimeError, ValueError) as e:
            # Remembered for this process, so a broken model does not stop training runs.
            log.exception("active model %s cannot suggest: %s; skipping its suggestions", model.id, e)
            self.broken.add(model.id)
            return 0
        with self.factory.begin() as session:
            stored = store_suggestions(session, model.id, {sid: spans for (sid, _), spans in zip(batch, predicted)})
        log.info("model %s: %d suggestions stored", model.id, stored)
        return len(batch)

    def _predictor(self, path: str) -> Predictor:
        """The loaded predictor for path (only the latest one is kept)."""
        if path not in self.predictors:
            self.predictors = {path: training.load_predictor(path, threads=self.settings.threads)}
        return self.predictors[path]
