"""Strict entity-level scores: seqeval (IOB2, strict mode) and exact span matching."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from ner_core.data import Example
from ner_core.spans import Span, spans_to_tags, tokenize


@dataclass(frozen=True)
class Report:
    """Micro precision/recall/F1 and, per entity type, the same plus support."""

    precision: float
    recall: float
    f1: float
    support: int
    per_type: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return asdict(self)


def _tag_sequences(gold: Sequence[Example], predicted: Sequence[Sequence[Span]]) -> tuple[list, list]:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold examples but {len(predicted)} predictions")
    y_true, y_pred = [], []
    for example, spans in zip(gold, predicted):
        tokens = tokenize(example.text)
        y_true.append(spans_to_tags(example.text, tokens, example.spans))
        y_pred.append(spans_to_tags(example.text, tokens, spans))
    return y_true, y_pred


def evaluate(gold: Sequence[Example], predicted: Sequence[Sequence[Span]]) -> Report:
    """seqeval strict IOB2 scores of predicted spans against gold examples."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    y_true, y_pred = _tag_sequences(gold, predicted)
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True,
                                   zero_division=0)
    micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
    per_type = {
        label: {"precision": float(r["precision"]), "recall": float(r["recall"]),
                "f1": float(r["f1-score"]), "support": int(r["support"])}
        for label, r in report.items() if not label.endswith(" avg")
    }
    return Report(float(micro["precision"]), float(micro["recall"]), float(micro["f1-score"]),
                  int(micro["support"]), per_type)


def span_scores(gold: Sequence[Example], predicted: Sequence[Sequence[Span]]) -> tuple[float, float, float]:
    """(precision, recall, F1) by exact character-span and type matching."""
    gold_set = {(i, s.start, s.end, s.label) for i, ex in enumerate(gold) for s in ex.spans}
    pred_set = {(i, s.start, s.end, s.label) for i, spans in enumerate(predicted) for s in spans}
    hits = len(gold_set & pred_set)
    precision = hits / len(pred_set) if pred_set else 0.0
    recall = hits / len(gold_set) if gold_set else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
