"""The benchmark command end to end on a small slice of TASTEset."""
from __future__ import annotations

import csv
import json

import pytest

from ner_core import bench

KEYS = {"model", "split", "fold", "backend", "f1", "precision", "recall", "per_type", "train_seconds",
        "batch1_recipes_per_s", "batched_recipes_per_s"}


@pytest.fixture
def small_csv(tasteset_path, tmp_path):
    """The first 60 TASTEset recipes as a CSV of their own."""
    with open(tasteset_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[:61]
    path = tmp_path / "small.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def test_bench_writes_rows_and_saves_model(small_csv, tmp_path, capsys) -> None:
    out = tmp_path / "rows.json"
    code = bench.main(["--data", str(small_csv), "--split", "seed", "--model", "scratch", "--epochs", "2",
                       "--threads", "1", "--save-dir", str(tmp_path / "model"), "--json", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())
    assert [r["backend"] for r in rows] == ["torch-fp32", "onnx-fp32", "onnx-int8"]
    for row in rows:
        assert KEYS <= set(row) and row["test_recipes"] == 6
        assert 0.0 <= row["f1"] <= 1.0 and row["batch1_recipes_per_s"] > 0 and row["peak_rss_mb"] > 0
        assert row["ratio_to_torch"]["size_mb"] == pytest.approx(row["size_mb"] / rows[0]["size_mb"])
    assert rows[2]["size_mb"] < rows[1]["size_mb"]
    for name in ("model.safetensors", "model.onnx", "model.int8.onnx", "metrics.json"):
        assert (tmp_path / "model" / name).is_file()
    assert "F1=" in capsys.readouterr().out


def test_bench_kfold_has_a_mean_row_and_rescores_its_saved_folds(small_csv, tmp_path) -> None:
    out, again = tmp_path / "rows.json", tmp_path / "again.json"
    common = ["--data", str(small_csv), "--split", "kfold5", "--model", "scratch", "--threads", "1", "--folds", "0,1",
              "--backends", "torch-fp32"]
    bench.main([*common, "--epochs", "1", "--save-dir", str(tmp_path / "models"), "--json", str(out)])
    rows = json.loads(out.read_text())
    assert [r["fold"] for r in rows] == ["0", "1", "mean"]
    assert rows[-1]["f1"] == pytest.approx((rows[0]["f1"] + rows[1]["f1"]) / 2)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["fold0", "fold1"]

    bench.main([*common, "--score", str(tmp_path / "models"), "--json", str(again)])  # no training
    rescored = json.loads(again.read_text())
    assert [(r["fold"], r["split"]) for r in rescored] == [("0", "kfold5"), ("1", "kfold5"), ("mean", "kfold5")]
    assert [r["f1"] for r in rescored] == pytest.approx([r["f1"] for r in rows])
    assert [r["train_seconds"] for r in rescored[:2]] == pytest.approx([r["train_seconds"] for r in rows[:2]])
