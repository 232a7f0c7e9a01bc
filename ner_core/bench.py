"""Benchmark command: train, evaluate on held-out recipes, time inference.

    python -m ner_core.bench --data ../shared/data/TASTEset.csv --split seed --model bert
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from ner_core.config import TrainConfig
from ner_core.data import Example, kfold_splits, read_tasteset, seed_split
from ner_core.evaluate import evaluate, span_scores
from ner_core.predict import Predictor
from ner_core.spans import LABELS
from ner_core.train import train

log = logging.getLogger(__name__)


@dataclass
class Fold:
    """One train/test split to benchmark."""

    name: str
    train: list[Example]
    test: list[Example]


def folds_for(examples: list[Example], split: str) -> list[Fold]:
    """The seed split as one fold, or the five k-fold splits."""
    if split == "seed":
        train_set, test_set = seed_split(examples)
        return [Fold("seed", train_set, test_set)]
    return [Fold(str(i), tr, te) for i, (tr, te) in enumerate(kfold_splits(examples))]


def recipes_per_second(predict: Callable[[Sequence[str]], object], texts: Sequence[str], *,
                       batch: bool, repeats: int = 3) -> float:
    """Best-of-repeats throughput; batch=False calls predict once per recipe."""
    predict(texts[:4])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        if batch:
            predict(texts)
        else:
            for text in texts:
                predict([text])
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def score_row(predictor: Predictor, fold: Fold, *, model: str, split: str, backend: str,
              train_seconds: float) -> dict:
    """Accuracy and speed of one predictor on a fold's held-out recipes."""
    texts = [ex.text for ex in fold.test]
    predicted = [[s.span for s in spans] for spans in predictor.predict(texts)]
    report = evaluate(fold.test, predicted)
    _, _, span_f1 = span_scores(fold.test, predicted)
    if abs(span_f1 - report.f1) > 1e-9:
        raise AssertionError(f"seqeval F1 {report.f1} and span-match F1 {span_f1} disagree")
    return {
        "model": model, "split": split, "fold": fold.name, "backend": backend,
        "f1": report.f1, "precision": report.precision, "recall": report.recall,
        "per_type": {label: report.per_type.get(label, {}).get("f1", 0.0) for label in LABELS},
        "train_seconds": train_seconds,
        "batch1_recipes_per_s": recipes_per_second(predictor.predict, texts, batch=False),
        "batched_recipes_per_s": recipes_per_second(predictor.predict, texts, batch=True),
        "test_recipes": len(texts),
    }


def run_fold(fold: Fold, config: TrainConfig, *, model: str, split: str, save_dir: Path | None) -> list[dict]:
    """Train on a fold, save the model, and score it."""
    final = None
    for progress in train(config, fold.train):
        if progress.done:
            final = progress
        elif progress.step % 50 == 0:
            log.info("fold %s epoch %d step %d loss %.4f elapsed %.0fs", fold.name, progress.epoch,
                     progress.step, progress.loss, progress.elapsed)
    assert final is not None and final.tagger is not None
    predictor = Predictor.from_tagger(final.tagger)
    row = score_row(predictor, fold, model=model, split=split, backend="torch-fp32",
                    train_seconds=final.elapsed)
    if save_dir is not None:
        target = save_dir if split == "seed" else save_dir / f"fold{fold.name}"
        final.tagger.save(target, train_config=config.to_dict(), metrics={k: v for k, v in row.items()})
    return [row]


def mean_row(rows: list[dict]) -> dict:
    """The k-fold mean of numeric figures, as a row with fold = "mean"."""
    numeric = ["f1", "precision", "recall", "train_seconds", "batch1_recipes_per_s", "batched_recipes_per_s"]
    out = {k: rows[0][k] for k in ("model", "split", "backend")}
    out["fold"] = "mean"
    out.update({k: statistics.fmean(r[k] for r in rows) for k in numeric})
    out["per_type"] = {label: statistics.fmean(r["per_type"][label] for r in rows) for label in LABELS}
    return out


def format_row(row: dict) -> str:
    """One printed table row."""
    types = " ".join(f"{label[:4]}={row['per_type'][label]:.3f}" for label in LABELS)
    return (f"{row['model']:<8} {row['split']:<6} {row['fold']:<5} {row['backend']:<10} F1={row['f1']:.4f} "
            f"P={row['precision']:.4f} R={row['recall']:.4f} train={row['train_seconds']:.0f}s "
            f"b1={row['batch1_recipes_per_s']:.1f}/s batched={row['batched_recipes_per_s']:.1f}/s | {types}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ner_core.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="TASTEset CSV path")
    parser.add_argument("--split", choices=("seed", "kfold5"), default="seed")
    parser.add_argument("--model", choices=("bert", "scratch"), default="bert")
    parser.add_argument("--encoder", help="Hugging Face model id or directory (default: embedded MiniLM)")
    parser.add_argument("--epochs", type=int, default=0, help="0 = the tagger's default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--unit", choices=("lines", "recipes"), default="lines", help="train on lines or recipes")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--folds", help="comma-separated fold numbers to run (kfold5 only)")
    parser.add_argument("--save-dir", type=Path, help="keep the trained model directory here")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(args.threads)
    config = TrainConfig(tagger=args.model, encoder=args.encoder, epochs=args.epochs, threads=args.threads,
                         unit=args.unit, seed=args.seed)
    folds = folds_for(read_tasteset(args.data), args.split)
    if args.folds:
        wanted = set(args.folds.split(","))
        folds = [f for f in folds if f.name in wanted]
    rows: list[dict] = []
    for fold in folds:
        for row in run_fold(fold, config, model=args.model, split=args.split, save_dir=args.save_dir):
            print(format_row(row), flush=True)
            rows.append(row)
    if args.split == "kfold5" and len(rows) > 1:
        rows.append(mean_row(rows))
        print(format_row(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
