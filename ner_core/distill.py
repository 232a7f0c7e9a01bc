"""Distillation data: a teacher's per-token distributions and cheap augmentation.

The student (the from-scratch architecture) learns from gold tags where a sentence has
them and from the teacher's probabilities on every sentence, labelled or not.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Sequence

import numpy as np

from ner_core.data import Example
from ner_core.models import ModelDirectoryError
from ner_core.predict import Predictor
from ner_core.spans import Span, SpanAlignmentError, spans_to_tags, tokenize

# Entity types whose surface forms can be swapped between lines without breaking them.
SWAPPABLE = ("FOOD", "QUANTITY", "UNIT", "PROCESS", "PHYSICAL_QUALITY", "COLOR", "TASTE")


class TeacherMismatchError(ValueError):
    """The teacher's tag inventory differs from the student's."""


def load_teacher(directory: str, *, threads: int) -> Predictor:
    """The teacher at full precision: its ONNX fp32 graph when exported, else PyTorch."""
    try:
        return Predictor.load(directory, backend="onnx-fp32", threads=threads)
    except ModelDirectoryError:
        return Predictor.load(directory, backend="torch-fp32", threads=threads)


def teacher_probabilities(teacher: Predictor, sentences: Sequence[Sequence[str]], tag_names: Sequence[str], *,
                          batch_size: int = 64) -> list[np.ndarray]:
    """The teacher's tag distribution [W, T] for each word list."""
    if list(teacher.tag_names) != list(tag_names):
        raise TeacherMismatchError(f"teacher tags {teacher.tag_names} differ from the student's {list(tag_names)}")
    return teacher.probabilities(sentences, batch_size=batch_size)


def _surface_forms(lines: Sequence[Example]) -> dict[str, list[str]]:
    forms: dict[str, set[str]] = defaultdict(set)
    for ex in lines:
        for s in ex.spans:
            if s.label in SWAPPABLE:
                forms[s.label].add(ex.text[s.start:s.end])
    return {label: sorted(values) for label, values in forms.items()}


def recombine(example: Example, forms: dict[str, list[str]], rng: random.Random, *, swap: float = 0.5) -> Example:
    """A new line: each swappable entity replaced, with probability swap, by another
    line's entity of the same type; gold spans move with the text."""
    pieces, spans, cursor, shift = [], [], 0, 0
    for s in example.spans:
        text = example.text[s.start:s.end]
        if s.label in forms and rng.random() < swap:
            text = rng.choice(forms[s.label])
        pieces.append(example.text[cursor:s.start])
        start = s.start + shift
        pieces.append(text)
        spans.append(Span(start, start + len(text), s.label))
        shift += len(text) - (s.end - s.start)
        cursor = s.end
    pieces.append(example.text[cursor:])
    return Example("".join(pieces), tuple(spans))


def vary_case(example: Example, rng: random.Random) -> Example:
    """The same line lowercased or with its first letter capitalized (offsets unchanged)."""
    text = example.text.lower() if rng.random() < 0.5 else example.text[:1].upper() + example.text[1:]
    return Example(text, example.spans) if len(text) == len(example.text) else example


def fits_tokens(example: Example) -> bool:
    """Whether every span of example starts and ends on token boundaries."""
    try:
        spans_to_tags(example.text, tokenize(example.text), example.spans)
    except SpanAlignmentError:
        return False
    return True


def augment(lines: Sequence[Example], copies: int, *, seed: int = 0) -> list[Example]:
    """copies × len(lines) new labelled lines by entity recombination and case variation;
    a recombination that glues an entity to its neighbour (so that a span no longer
    fits the tokens, e.g. "2x" → "or as neededx") is replaced by the original line."""
    rng = random.Random(seed)
    forms = _surface_forms(lines)
    out = []
    for _ in range(copies):
        for ex in lines:
            new = recombine(ex, forms, rng)
            new = vary_case(new, rng) if rng.random() < 0.2 else new
            out.append(new if fits_tokens(new) else ex)
    return out
