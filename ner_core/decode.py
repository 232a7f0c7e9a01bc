"""Constrained IOB2 decoding of per-token tag probabilities into scored spans."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from ner_core.spans import Span, Token

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


@lru_cache(maxsize=8)
def _tag_parts(tag_names: tuple[str, ...]) -> tuple[list[str | None], list[bool]]:
    """(label or None for O, is-inside flag) of each tag id."""
    labels = [None if t == "O" else t[2:] for t in tag_names]
    return labels, [t.startswith("I-") for t in tag_names]


def _legal(path: np.ndarray, tag_names: tuple[str, ...]) -> bool:
    start, trans = _transitions(tag_names)
    return start[path[0]] == 0 and not trans[path[:-1], path[1:]].any()


def viterbi(log_probs: np.ndarray, tag_names: Sequence[str]) -> list[int]:
    """Most probable tag sequence [W] under IOB2 constraints, from log-probs [W, T]."""
    if len(log_probs) == 0:
        return []
    start, trans = _transitions(tuple(tag_names))
    greedy = log_probs.argmax(axis=1)
    # The unconstrained best path is the answer whenever it is itself legal (the usual case).
    if _legal(greedy, tuple(tag_names)):
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
    return decode_many([tokens], [probs], tag_names)[0]


def decode_many(token_lists: Sequence[Sequence[Token]], probs_list: Sequence[np.ndarray],
                tag_names: Sequence[str], *, offsets: Sequence[int] | None = None) -> list[list[ScoredSpan]]:
    """decode for several sentences at once, each sentence's spans shifted by its offset
    (default 0). Chunking is seqeval's strict IOB2 (as spans.tags_to_spans), on tag ids."""
    for tokens, probs in zip(token_lists, probs_list, strict=True):
        if len(tokens) != len(probs):
            raise ValueError(f"{len(tokens)} tokens but {len(probs)} rows of probabilities")
    names = tuple(tag_names)
    bounds = np.cumsum([0, *(len(p) for p in probs_list)]).tolist()
    if not bounds[-1]:
        return [[] for _ in token_lists]
    path, chosen = _best_paths(probs_list, bounds, names)
    labels, inside = _tag_parts(names)
    results = []
    for tokens, lo, hi, shift in zip(token_lists, bounds[:-1], bounds[1:], offsets or [0] * len(token_lists)):
        spans: list[ScoredSpan] = []
        open_label: str | None = None
        first = lo
        for i in range(lo, hi):
            tag = path[i]
            if inside[tag] and labels[tag] == open_label:
                continue
            if open_label is not None:
                spans.append(ScoredSpan(tokens[first - lo].start + shift, tokens[i - 1 - lo].end + shift,
                                        open_label, min(chosen[first:i])))
            open_label = None if inside[tag] else labels[tag]  # B-X opens a span; O, or an I-X continuing nothing, not
            first = i
        if open_label is not None:
            spans.append(ScoredSpan(tokens[first - lo].start + shift, tokens[-1].end + shift, open_label,
                                    min(chosen[first:hi])))
        results.append(spans)
    return results


def _best_paths(probs_list: Sequence[np.ndarray], bounds: list[int],
                names: tuple[str, ...]) -> tuple[list[int], list[float]]:
    """(tag ids, their probabilities) of all sentences end to end: one argmax for all,
    Viterbi only for a sentence whose greedy path breaks IOB2 (it rarely does)."""
    every = np.concatenate([p for p in probs_list if len(p)])  # [N, T]
    greedy = every.argmax(axis=1)  # argmax of probabilities = argmax of log-probabilities
    start, trans = _transitions(names)
    illegal = np.zeros(len(greedy) + 1, dtype=np.int64)  # illegal[k]: illegal steps among pairs before k - 1
    illegal[2:] = np.cumsum(trans[greedy[:-1], greedy[1:]] != 0)
    path = greedy.tolist()
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        # steps inside [lo, hi) are the pairs (lo, lo + 1) ... (hi - 2, hi - 1)
        if hi > lo and (start[path[lo]] != 0 or illegal[hi] > illegal[lo + 1]):
            path[lo:hi] = viterbi(np.log(np.clip(probs_list[i], 1e-12, 1.0)), names)
    return path, every[np.arange(len(path)), path].tolist()
