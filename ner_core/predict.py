"""Prediction: texts in, scored spans out, for any saved model directory."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ner_core.data import Example, split_lines
from ner_core.decode import ScoredSpan, decode
from ner_core.models import Tagger, load_tagger
from ner_core.spans import Token, tokenize


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, so padding stays small."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@torch.inference_mode()
def tag_probabilities(tagger: Tagger, sentences: Sequence[Sequence[str]], *, batch_size: int = 64) -> list[np.ndarray]:
    """Per-word tag probabilities [W, T] for each sentence (word lists), in input order."""
    was_training = tagger.training
    if was_training:  # switching modes walks every submodule: skip it when already in eval
        tagger.eval()
    out: list[np.ndarray] = [np.zeros((0, len(tagger.tag_names)))] * len(sentences)
    try:
        for batch in length_batches([len(s) for s in sentences], batch_size):
            batch = [i for i in batch if sentences[i]]
            if not batch:
                continue
            inputs = tagger.encode([sentences[i] for i in batch])
            probs = torch.softmax(tagger(**inputs).float(), dim=-1).numpy()
            for row, i in enumerate(batch):
                out[i] = probs[row, : len(sentences[i])]
    finally:
        if was_training:
            tagger.train()
    return out


def predict_spans(tagger: Tagger, texts: Sequence[str], *, batch_size: int = 64) -> list[list[ScoredSpan]]:
    """Scored spans for each text, tagging it line by line (one batch across all lines)."""
    lines: list[tuple[int, int, list[Token]]] = []  # (text index, line offset, tokens)
    for i, text in enumerate(texts):
        for line in split_lines(Example(text)):
            lines.append((i, line.offset, tokenize(line.example.text)))
    probs = tag_probabilities(tagger, [[t.text for t in toks] for _, _, toks in lines], batch_size=batch_size)
    results: list[list[ScoredSpan]] = [[] for _ in texts]
    for (i, offset, tokens), p in zip(lines, probs):
        for s in decode(tokens, p, tagger.tag_names):
            results[i].append(ScoredSpan(s.start + offset, s.end + offset, s.label, s.confidence))
    return results


class Predictor:
    """A loaded model that turns texts into scored spans."""

    def __init__(self, tagger: Tagger, *, directory: Path | None = None) -> None:
        self.tagger = tagger.eval()
        self.directory = directory

    @classmethod
    def load(cls, directory: str | Path) -> "Predictor":
        """Load a saved model directory (needs nothing but the directory)."""
        return cls(load_tagger(directory), directory=Path(directory))

    @property
    def tag_names(self) -> list[str]:
        """The model's IOB2 tags."""
        return self.tagger.tag_names

    def predict(self, texts: Sequence[str], *, batch_size: int = 64) -> list[list[ScoredSpan]]:
        """For each text, its spans with start, end, label and confidence in [0, 1]."""
        return predict_spans(self.tagger, texts, batch_size=batch_size)
