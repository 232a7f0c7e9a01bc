"""ONNX backends against PyTorch on the same sentences; missing and corrupted exports."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ner_core.backends import MANIFEST_FILE, file_sha256
from ner_core.config import TrainConfig
from ner_core.export import export_onnx
from ner_core.models import ModelDirectoryError
from ner_core.predict import Predictor
from ner_core.train import train

SENTENCES = ["2 cups flour", "1 red onion, chopped", "3 large eggs\n1/2 cup butter, melted",
             "sweet olive oil for garnish", "salt", "2 boneless chicken breast, diced tomatoes and cups of sugar"]


@pytest.fixture(scope="module", params=["bert", "scratch"])
def exported(request, toy_examples, tiny_bert_dir, tmp_path_factory):
    """A trained toy model of each kind, saved and exported to ONNX fp32 + int8."""
    kind = request.param
    config = TrainConfig(tagger=kind, encoder=str(tiny_bert_dir) if kind == "bert" else None, epochs=30,
                         batch_size=4, d_model=32, layers=1, heads=2, learning_rate=3e-3, head_learning_rate=3e-3,
                         threads=1)
    *_, final = train(config, toy_examples)
    directory = tmp_path_factory.mktemp(kind) / "model"
    final.tagger.save(directory)
    export_onnx(directory, tagger=final.tagger)
    return directory


def _spans(predictor: Predictor) -> list[list[tuple]]:
    return [[(s.start, s.end, s.label) for s in spans] for spans in predictor.predict(SENTENCES)]


def _probs(predictor: Predictor) -> np.ndarray:
    words = [["2", "cups", "flour", ",", "chopped"], ["salt"], ["1", "red", "onion"]]
    return np.concatenate(predictor.probabilities(words))


def test_onnx_fp32_gives_the_same_spans_as_torch(exported) -> None:
    torch_p = Predictor.load(exported, backend="torch-fp32")
    onnx_p = Predictor.load(exported, backend="onnx-fp32")
    assert onnx_p.layout == "packed"  # several lines per row, each attending only to itself
    assert _spans(onnx_p) == _spans(torch_p)
    np.testing.assert_allclose(_probs(onnx_p), _probs(torch_p), atol=1e-4)


def test_onnx_int8_stays_close_to_torch(exported) -> None:
    # Documented difference: int8 weights and activations move probabilities a little, so a
    # borderline token may flip; we allow 0.1 in probability and require 90% span agreement.
    torch_p = Predictor.load(exported, backend="torch-fp32")
    int8_p = Predictor.load(exported, backend="onnx-int8")
    np.testing.assert_allclose(_probs(int8_p), _probs(torch_p), atol=0.1)
    expected = {(i, s) for i, spans in enumerate(_spans(torch_p)) for s in spans}
    got = {(i, s) for i, spans in enumerate(_spans(int8_p)) for s in spans}
    assert len(expected & got) >= 0.9 * len(expected)


def test_auto_picks_int8_when_present(exported) -> None:
    assert Predictor.load(exported).backend == "onnx-int8"


def test_directory_without_onnx_loads_with_torch(exported, tmp_path) -> None:
    plain = _copy(exported, tmp_path, "plain")
    for name in ("model.onnx", "model.int8.onnx", MANIFEST_FILE):
        (plain / name).unlink()
    predictor = Predictor.load(plain)
    assert predictor.backend == "torch-fp32"
    assert _spans(predictor) == _spans(Predictor.load(exported, backend="torch-fp32"))
    with pytest.raises(ModelDirectoryError, match="no onnx-int8 export"):
        Predictor.load(plain, backend="onnx-int8")


def _copy(exported, tmp_path, name: str):
    """A copy of the exported model directory that a test may damage."""
    return shutil.copytree(exported, tmp_path / name)


def test_corrupted_onnx_is_a_clear_error(exported, tmp_path) -> None:
    broken = _copy(exported, tmp_path, "broken")
    path = broken / "model.int8.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    path.write_bytes(bytes(data))
    with pytest.raises(ModelDirectoryError, match="corrupted"):
        Predictor.load(broken, backend="onnx-int8")


def test_unreadable_onnx_is_a_clear_error(exported, tmp_path) -> None:
    broken = _copy(exported, tmp_path, "unreadable")
    path = broken / "model.onnx"
    path.write_bytes(path.read_bytes()[:1000])  # truncated, with a manifest that agrees
    manifest = json.loads((broken / MANIFEST_FILE).read_text())
    manifest["files"]["model.onnx"] = file_sha256(path)
    (broken / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelDirectoryError, match="ONNX Runtime cannot load"):
        Predictor.load(broken, backend="onnx-fp32")
