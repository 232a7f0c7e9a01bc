"""Examples, the TASTEset reader, ingredient lines and the reference splits."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ner_core.spans import LABELS, Span, check_spans

TASTESET_SHA256 = "e5d455b5ea4073e47220a7047a6d02d5fd07522b26f3a86336220ddd1868f2e4"
TASTESET_URL = (
    "https://raw.githubusercontent.com/taisti/TASTEset/"
    "80bb783f521023db9193a90202fa9339afc8f678/data/TASTEset.csv"
)


class DataFormatError(ValueError):
    """A record that cannot be read; the message names the record and the reason."""


@dataclass(frozen=True)
class Example:
    """A text with its gold spans (sorted, non-overlapping, half-open offsets)."""

    text: str
    spans: tuple[Span, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Line:
    """One ingredient line of a recipe: the line as an Example, and where it starts."""

    example: Example
    offset: int


def parse_tasteset_row(ingredients: str, entities_json: str, *, where: str) -> Example:
    """One TASTEset CSV row as an Example; raise DataFormatError naming ``where``."""
    try:
        entities = json.loads(entities_json)
        spans = [Span(int(e["start"]), int(e["end"]), str(e["type"])) for e in entities]
        spans = check_spans(ingredients, spans, LABELS)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise DataFormatError(f"{where}: {e}") from e
    return Example(ingredients, tuple(spans))


def read_tasteset(path: str | Path) -> list[Example]:
    """Read a TASTEset CSV (columns ``ingredients``, ``ingredients_entities``), one
    Example per recipe, in file order."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(parse_tasteset_rows(f, source=str(path)))


def parse_tasteset_rows(lines: Iterable[str], *, source: str = "<csv>") -> Iterator[Example]:
    """Parse TASTEset CSV text (an iterable of lines, header first)."""
    reader = csv.DictReader(lines)
    missing = {"ingredients", "ingredients_entities"} - set(reader.fieldnames or ())
    if missing:
        raise DataFormatError(f"{source}: missing column(s) {', '.join(sorted(missing))}")
    for row in reader:
        yield parse_tasteset_row(
            row["ingredients"], row["ingredients_entities"], where=f"{source} line {reader.line_num}"
        )


def split_lines(example: Example) -> list[Line]:
    """The non-blank lines of an example with their spans moved to line offsets.

    Raises DataFormatError for a span that crosses a line break (none in TASTEset).
    """
    lines: list[Line] = []
    offset = 0
    remaining = list(example.spans)
    for raw in example.text.split("\n"):
        end = offset + len(raw)
        inside = [s for s in remaining if s.start < end + 1 and s.start >= offset]
        for s in inside:
            if s.end > end:
                raise DataFormatError(f"span {s.start}..{s.end} {s.label} crosses a line break")
        remaining = [s for s in remaining if s not in inside]
        if raw.strip():
            moved = tuple(Span(s.start - offset, s.end - offset, s.label) for s in inside)
            lines.append(Line(Example(raw, moved), offset))
        offset = end + 1
    return lines


def line_examples(examples: Iterable[Example]) -> list[Example]:
    """Every ingredient line of every example, as examples of their own."""
    return [line.example for ex in examples for line in split_lines(ex)]


def seed_split(examples: Sequence[Example], *, seed: int = 1337) -> tuple[list[Example], list[Example]]:
    """The blog's split: ``train_test_split(test_size=0.1, random_state=1337)`` over
    recipes in file order (630 / 70 on TASTEset)."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(list(examples), test_size=0.1, random_state=seed)
    return train, test


def kfold_splits(
    examples: Sequence[Example], *, n_splits: int = 5, seed: int = 42
) -> list[tuple[list[Example], list[Example]]]:
    """The dataset authors' protocol: ``KFold(5, shuffle=True, random_state=42)``."""
    from sklearn.model_selection import KFold

    items = list(examples)
    folds = KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(items)
    return [([items[i] for i in tr], [items[i] for i in te]) for tr, te in folds]
