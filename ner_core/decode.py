"""Constrained IOB2 decoding of per-token tag probabilities into scored spans."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from ner_core.spans import Span, Token, tags_to_spans

_FORBIDDEN = -1e9


@dataclass(frozen=True)
class ScoredSpan:
    """A predicted span with the model's confidence in it, in [0, 1]."""

    start: int
    end: int
    label: str
    confidence: float

    @property
    def span(self) -> Span:
        """The span without its confidence."""
        return Span(self.start, self.end, self.label)


@lru_cache(maxsize=8)
def _transitions(tag_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(start scores [T], transition scores [T, T]): 0 where IOB2 allows, -1e9 where not."""
    n = len(tag_names)
    start = np.zeros(n)
    trans = np.zeros((n, n))
    for j, tag in enumerate(tag_names):
        if not tag.startswith("I-"):
            continue
        start[j] = _FORBIDDEN
        label = tag[2:]
        for i, prev in enumerate(tag_names):
            if prev not in (f"B-{label}", f"I-{label}"):
                trans[i, j] = _FORBIDDEN
    return start, trans


def viterbi(log_probs: np.ndarray, tag_names: Sequence[str]) -> list[int]:
    """Most probable tag sequence [W] under IOB2 constraints, from log-probs [W, T]."""
    if len(log_probs) == 0:
        return []
    start, trans = _transitions(tuple(tag_names))
    greedy = log_probs.argmax(axis=1)
    # The unconstrained best path is the answer whenever it is itself legal (the usual case).
    if start[greedy[0]] == 0 and not trans[greedy[:-1], greedy[1:]].any():
        return greedy.tolist()
    score = start + log_probs[0]
    back = np.zeros(log_probs.shape, dtype=np.int64)
    for w in range(1, len(log_probs)):
        candidates = score[:, None] + trans  # [T_prev, T]
        back[w] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_probs[w]
    path = [int(score.argmax())]
    for w in range(len(log_probs) - 1, 0, -1):
        path.append(int(back[w, path[-1]]))
    return path[::-1]


def decode(tokens: Sequence[Token], probs: np.ndarray, tag_names: Sequence[str]) -> list[ScoredSpan]:
    """Scored spans from token probabilities [W, T]; a span's confidence is the lowest
    probability the model gave any of its tags."""
    path = viterbi(np.log(np.clip(probs, 1e-12, 1.0)), tag_names)
    tags = [tag_names[i] for i in path]
    chosen = probs[np.arange(len(path)), path] if path else np.zeros(0)
    starts = {tok.start: i for i, tok in enumerate(tokens)}
    ends = {tok.end: i for i, tok in enumerate(tokens)}
    scored = []
    for span in tags_to_spans(tokens, tags):
        conf = float(chosen[starts[span.start] : ends[span.end] + 1].min())
        scored.append(ScoredSpan(span.start, span.end, span.label, conf))
    return scored
