"""The worker's side of ner_core: dev split, training, scoring, saving, suggesting.

Every call into ner_core's training and prediction API is in this module, so a change
there is adjusted here alone.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from ner_core.config import TrainConfig
from ner_core.data import Example
from ner_core.evaluate import evaluate
from ner_core.export import ExportError, export_onnx
from ner_core.models import ModelDirectoryError, Tagger, read_model_config
from ner_core.predict import Predictor
from ner_core.train import Progress, train

log = logging.getLogger(__name__)

DEV_SHARE_PERCENT = 10
MIN_TRAINING_SENTENCES = 2


class NotEnoughDataError(ValueError):
    """Too few confirmed training sentences to train on."""


class ModelUnavailableError(RuntimeError):
    """A registered model directory that cannot be loaded (moved, deleted, damaged)."""


@dataclass(frozen=True)
class EvaluationScores:
    """A model's scores on the confirmed test sentences (None when there are none)."""

    n_test: int
    f1: float | None
    metrics: dict[str, Any] | None


def split_dev(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """Hold out about DEV_SHARE_PERCENT % of the training snapshot for early stopping,
    chosen by text hash (stable as data grows); no dev set below 10 sentences."""
    if len(examples) < MIN_TRAINING_SENTENCES:
        raise NotEnoughDataError(
            f"{len(examples)} confirmed training sentence(s); confirm at least {MIN_TRAINING_SENTENCES} "
            "in the train split before training"
        )
    if len(examples) < 10:
        return list(examples), []
    # Bytes 8.. of the text's hash, independent of the test split (leading bytes).
    dev_rows = {i for i, ex in enumerate(examples)
                if int(hashlib.sha256(ex.text.encode("utf-8")).hexdigest()[8:16], 16) % 100 < DEV_SHARE_PERCENT}
    dev_rows = dev_rows or {len(examples) - 1}
    train_part = [ex for i, ex in enumerate(examples) if i not in dev_rows]
    return train_part, [examples[i] for i in sorted(dev_rows)]


def training_progress(config: TrainConfig, train_part: list[Example], dev: list[Example],
                      unlabelled: Sequence[str] = ()) -> Iterator[Progress]:
    """ner_core's training generator; the last item carries the best tagger."""
    return train(config, train_part, dev, unlabelled)


def with_teacher(config: TrainConfig, active: Any) -> TrainConfig:
    """A distilled run's config with its teacher: the one it names, else the active
    model, which must be a BERT model."""
    if config.teacher:
        return config
    if active is None or read_model_config(active.path)["kind"] != "bert":
        raise NotEnoughDataError("distillation needs a BERT teacher: train a BERT model (or activate one) first")
    return dataclasses.replace(config, teacher=active.path)


def score(tagger: Tagger, test: Sequence[Example], *, unit: str = "lines") -> EvaluationScores:
    """Strict seqeval scores of a trained tagger on the test examples."""
    if not test:
        return EvaluationScores(0, None, None)
    predicted = Predictor.from_tagger(tagger, unit=unit).predict([ex.text for ex in test])
    report = evaluate(list(test), [[s.span for s in spans] for spans in predicted])
    return EvaluationScores(len(test), report.f1, report.to_dict())


def save_model(tagger: Tagger, config: TrainConfig, scores: EvaluationScores, *, models_dir: Path,
               name: str) -> Path:
    """Write a trained tagger (with its ONNX fp32/int8 exports) to a temporary directory in
    models_dir and rename it into place."""
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / name
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=models_dir))
    try:
        tagger.save(tmp, train_config=config.to_dict(), metrics=scores.metrics)
        try:
            export_onnx(tmp, tagger=tagger)  # Predictor.load then serves the fastest backend
        except ExportError as e:
            log.warning("model %s keeps only its PyTorch weights: %s", name, e)
        os.replace(tmp, final)  # atomic on one filesystem; a crash leaves only a .tmp-* dir
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def remove_stale_temp_dirs(models_dir: Path) -> list[Path]:
    """Delete .tmp-* directories a killed worker left in models_dir."""
    stale = sorted(models_dir.glob(".tmp-*")) if models_dir.is_dir() else []
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def load_predictor(path: str | Path, *, threads: int) -> Predictor:
    """A predictor for a saved model directory (the fastest backend it holds); raise
    ModelUnavailableError when the directory cannot be loaded."""
    try:
        return Predictor.load(path, threads=threads)
    except (ModelDirectoryError, OSError) as e:
        raise ModelUnavailableError(f"cannot load the model at {path}: {e}") from e


def predict(predictor: Predictor, texts: list[str]) -> list[list[Any]]:
    """Scored spans (start, end, label, confidence) for each text."""
    return predictor.predict(texts)
