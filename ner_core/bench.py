"""Benchmark command: train, evaluate on held-out recipes, time inference.

    python -m ner_core.bench --data ../shared/data/TASTEset.csv --split seed --model bert
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from ner_core.backends import BACKENDS, ONNX_FILES
from ner_core.config import TrainConfig
from ner_core.data import Example, kfold_splits, read_tasteset, seed_split
from ner_core.evaluate import evaluate, span_scores
from ner_core.export import export_onnx
from ner_core.models import read_model_config
from ner_core.models.base import METRICS_FILE, WEIGHTS_FILE
from ner_core.predict import Predictor
from ner_core.spans import LABELS
from ner_core.train import train

log = logging.getLogger(__name__)

RATIO_KEYS = ("batch1_recipes_per_s", "batched_recipes_per_s", "size_mb", "peak_rss_mb", "f1")


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


def score_backend(directory: Path, backend: str, test: list[Example], threads: int) -> dict:
    """F1, speed, load time and peak memory of one backend of a saved model (run this in
    a fresh process so the memory figure is its own)."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    predictor = Predictor.load(directory, backend=backend, threads=threads)
    load_seconds = time.perf_counter() - start
    texts = [ex.text for ex in test]
    predicted = [[s.span for s in spans] for spans in predictor.predict(texts)]
    report = evaluate(test, predicted)
    _, _, span_f1 = span_scores(test, predicted)
    if abs(span_f1 - report.f1) > 1e-9:
        raise AssertionError(f"seqeval F1 {report.f1} and span-match F1 {span_f1} disagree")
    weights = directory / (ONNX_FILES.get(backend) or WEIGHTS_FILE)
    row = {
        "backend": backend, "f1": report.f1, "precision": report.precision, "recall": report.recall,
        "per_type": {label: report.per_type.get(label, {}).get("f1", 0.0) for label in LABELS},
        "batch1_recipes_per_s": recipes_per_second(predictor.predict, texts, batch=False),
        "batched_recipes_per_s": recipes_per_second(predictor.predict, texts, batch=True),
        "load_seconds": load_seconds, "size_mb": weights.stat().st_size / 2**20, "test_recipes": len(texts),
    }
    row["peak_rss_mb"] = peak_rss_mb()
    return row


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it restarts at exec,
    so a spawned child does not report its parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_backends(directory: Path, backends: Sequence[str], test: list[Example], threads: int) -> list[dict]:
    """score_backend for each backend, each in its own spawned process, with ratios to
    torch-fp32 when it is among them."""
    context = multiprocessing.get_context("spawn")
    rows = []
    for backend in backends:
        with context.Pool(1) as pool:
            rows.append(pool.apply(score_backend, (directory, backend, test, threads)))
    base = next((r for r in rows if r["backend"] == "torch-fp32"), None)
    for row in rows:
        if base is not None:
            row["ratio_to_torch"] = {k: row[k] / base[k] for k in RATIO_KEYS if base[k]}
    return rows


def labelled_rows(rows: list[dict], **labels: object) -> list[dict]:
    """Rows with the model / split / fold / training-time labels every row carries."""
    return [{**row, **labels} for row in rows]


def train_and_score(fold: Fold, config: TrainConfig, target: Path, *, model: str, split: str,
                    backends: Sequence[str]) -> list[dict]:
    """Train on a fold, save (and export) the model into target, and score each backend."""
    final = None
    for progress in train(config, fold.train):
        if progress.done:
            final = progress
        elif progress.step % 100 == 0:
            log.info("%s fold %s epoch %d step %d loss %.4f elapsed %.0fs", model, fold.name, progress.epoch,
                     progress.step, progress.loss, progress.elapsed)
    assert final is not None and final.tagger is not None
    final.tagger.save(target, train_config=config.to_dict())
    if any(b.startswith("onnx") for b in backends):
        export_onnx(target, tagger=final.tagger)
    rows = labelled_rows(score_backends(target, backends, fold.test, config.threads), model=model, split=split,
                         fold=fold.name, train_seconds=final.elapsed)
    (target / METRICS_FILE).write_text(json.dumps(rows, indent=2))
    return rows


def run_fold(fold: Fold, config: TrainConfig, *, model: str, split: str, backends: Sequence[str],
             save_dir: Path | None, teacher: Path | None = None) -> list[dict]:
    """Rows for one fold; a distilled model first trains its BERT teacher on the same
    training recipes (the held-out ones are never seen by either), unless ``teacher``
    names one already trained on this fold's training recipes."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) if save_dir is None else fold_directory(save_dir, fold, split)
        if model != "distilled":
            return train_and_score(fold, config, base, model=model, split=split, backends=backends)
        if teacher is not None:
            teacher = fold_directory(teacher, fold, split)
            rows = labelled_rows(score_backends(teacher, backends, fold.test, config.threads), model="teacher",
                                 split=split, fold=fold.name, train_seconds=0.0)
            config = dataclasses.replace(config, teacher=str(teacher))
            return rows + train_and_score(fold, config, base / "student", model=model, split=split,
                                          backends=backends)
        teacher_config = TrainConfig(tagger="bert", encoder=config.encoder, threads=config.threads,
                                     unit=config.unit, seed=config.seed)
        rows = train_and_score(fold, teacher_config, base / "teacher", model="teacher", split=split,
                               backends=backends)
        config = dataclasses.replace(config, teacher=str(base / "teacher"))
        return rows + train_and_score(fold, config, base / "student", model=model, split=split, backends=backends)


def fold_directory(base: Path, fold: Fold, split: str) -> Path:
    """Where a run with --save-dir base keeps (and --teacher / --score find) a fold's model."""
    return base if split == "seed" else base / f"fold{fold.name}"


def score_saved(directory: Path, fold: Fold, backends: Sequence[str], *, split: str, threads: int) -> list[dict]:
    """Rows for a model saved by an earlier run on this fold, re-exported first (so the
    current export code is measured); training time comes from its metrics.json."""
    config = read_model_config(directory)
    train_config = config.get("train_config", {})
    if any(b.startswith("onnx") for b in backends):
        export_onnx(directory)
    try:
        saved = json.loads((directory / METRICS_FILE).read_text())
        seconds = saved[0]["train_seconds"] if isinstance(saved, list) and saved else 0.0
    except (OSError, ValueError, KeyError):
        seconds = 0.0
    model = "distilled" if train_config.get("tagger") == "distilled" else config["kind"]
    return labelled_rows(score_backends(directory, backends, fold.test, threads), model=model, split=split,
                         fold=fold.name, train_seconds=seconds)


def mean_row(rows: list[dict]) -> dict:
    """The k-fold mean of numeric figures, as a row with fold = "mean"."""
    numeric = ["f1", "precision", "recall", "train_seconds", *RATIO_KEYS, "load_seconds", "size_mb"]
    out = {k: rows[0][k] for k in ("model", "split", "backend")}
    out["fold"] = "mean"
    out.update({k: statistics.fmean(r[k] for r in rows) for k in numeric})
    out["per_type"] = {label: statistics.fmean(r["per_type"][label] for r in rows) for label in LABELS}
    return out


def format_row(row: dict) -> str:
    """One printed table row (ratios are to torch-fp32 of the same model and fold)."""
    types = " ".join(f"{label[:4]}={row['per_type'][label]:.3f}" for label in LABELS)
    ratio = row.get("ratio_to_torch") or {}
    ratios = (f" ×torch: b1 {ratio['batch1_recipes_per_s']:.2f} batched {ratio['batched_recipes_per_s']:.2f} "
              f"size {ratio['size_mb']:.2f} rss {ratio['peak_rss_mb']:.2f}") if len(ratio) == len(RATIO_KEYS) else ""
    return (f"{row['model']:<9} {row['split']:<6} {row['fold']:<5} {row['backend']:<10} F1={row['f1']:.4f} "
            f"P={row['precision']:.4f} R={row['recall']:.4f} train={row['train_seconds']:.0f}s "
            f"b1={row['batch1_recipes_per_s']:.1f}/s batched={row['batched_recipes_per_s']:.1f}/s "
            f"load={row['load_seconds']:.2f}s size={row['size_mb']:.1f}MB rss={row.get('peak_rss_mb', 0):.0f}MB"
            f"{ratios} | {types}")


def parse_options(pairs: Sequence[str]) -> dict:
    """KEY=VALUE pairs as TrainConfig keyword arguments, typed like the field defaults."""
    defaults = TrainConfig(tagger="scratch").to_dict()
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in defaults:
            raise SystemExit(f"unknown training option {key!r}")
        kind = type(defaults[key]) if defaults[key] is not None else str
        options[key] = value.lower() in ("1", "true") if kind is bool else kind(value)
    return options


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ner_core.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="TASTEset CSV path")
    parser.add_argument("--split", choices=("seed", "kfold5"), default="seed")
    parser.add_argument("--model", choices=("bert", "scratch", "distilled"), default="bert",
                        help="distilled: a BERT teacher, then a scratch-size student taught by it")
    parser.add_argument("--encoder", help="Hugging Face model id or directory (default: embedded MiniLM)")
    parser.add_argument("--epochs", type=int, default=0, help="0 = the tagger's default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--unit", choices=("lines", "recipes"), default="lines", help="train on lines or recipes")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--distill-alpha", type=float, default=0.7, help="teacher weight (distilled only)")
    parser.add_argument("--augment", type=int, default=1, help="recombined copies per line (distilled only)")
    parser.add_argument("--teacher", type=Path,
                        help="distilled: a BERT model dir already trained on the same training recipes (for kfold5, "
                             "the --save-dir of a BERT kfold5 run: one fold<N> subdirectory per fold)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="any other TrainConfig field, e.g. --option d_model=128 (repeatable)")
    parser.add_argument("--folds", help="comma-separated fold numbers to run (kfold5 only)")
    parser.add_argument("--backends", default="all",
                        help=f"comma-separated from {', '.join(BACKENDS)}, or all")
    parser.add_argument("--save-dir", type=Path, help="keep the trained model directory here")
    parser.add_argument("--score", type=Path, metavar="MODEL_DIR",
                        help="skip training: re-export and score the model(s) this benchmark saved before "
                             "(--save-dir) on the same --split (for kfold5, one fold<N> subdirectory per fold)")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("ner_core").setLevel(logging.INFO)
    torch.set_num_threads(args.threads)
    config = TrainConfig(tagger=args.model, encoder=args.encoder, epochs=args.epochs, threads=args.threads,
                         unit=args.unit, seed=args.seed, distill_alpha=args.distill_alpha, augment=args.augment,
                         **parse_options(args.option))
    folds = folds_for(read_tasteset(args.data), args.split)
    if args.folds:
        wanted = set(args.folds.split(","))
        folds = [f for f in folds if f.name in wanted]
    backends = list(BACKENDS) if args.backends == "all" else args.backends.split(",")
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser_error = f"unknown backend(s) {', '.join(sorted(unknown))}; choose from {', '.join(BACKENDS)}"
        raise SystemExit(parser_error)
    rows: list[dict] = []
    for fold in folds:
        if args.score:
            fold_rows = score_saved(fold_directory(args.score, fold, args.split), fold, backends, split=args.split,
                                    threads=args.threads)
        else:
            fold_rows = run_fold(fold, config, model=args.model, split=args.split, backends=backends,
                                 save_dir=args.save_dir, teacher=args.teacher)
        for row in fold_rows:
            print(format_row(row), flush=True)
            rows.append(row)
    if args.split == "kfold5" and len(folds) > 1:
        for name in dict.fromkeys(r["model"] for r in rows):
            for backend in backends:
                rows.append(mean_row([r for r in rows if r["backend"] == backend and r["model"] == name]))
                print(format_row(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
