"""TASTEset reading, ingredient lines and the reference splits."""
from __future__ import annotations

import io

import pytest

from ner_core.data import (DataFormatError, Example, line_examples, parse_tasteset_rows,
                           read_tasteset, seed_split, kfold_splits, split_lines)
from ner_core.spans import Span


def test_split_lines_moves_spans_to_line_offsets() -> None:
    ex = Example("2 eggs\n\n1 cup milk\n", (Span(0, 1, "QUANTITY"), Span(2, 6, "FOOD"), Span(8, 9, "QUANTITY"),
                                           Span(14, 18, "FOOD")))
    lines = split_lines(ex)
    assert [(line.example.text, line.offset) for line in lines] == [("2 eggs", 0), ("1 cup milk", 8)]
    assert lines[1].example.spans == (Span(0, 1, "QUANTITY"), Span(6, 10, "FOOD"))
    moved_back = [Span(s.start + line.offset, s.end + line.offset, s.label) for line in lines for s in line.example.spans]
    assert moved_back == list(ex.spans)


def test_span_across_lines_is_an_error() -> None:
    with pytest.raises(DataFormatError, match="crosses a line break"):
        split_lines(Example("a\nb", (Span(0, 3, "FOOD"),)))


def test_malformed_row_names_its_line() -> None:
    csv_text = 'ingredients,ingredients_entities\n"salt","[{""start"": 0, ""end"": 99, ""type"": ""FOOD""}]"\n'
    with pytest.raises(DataFormatError, match="line 2: span 0..99 ends past the text"):
        list(parse_tasteset_rows(io.StringIO(csv_text)))


def test_missing_column_is_named() -> None:
    with pytest.raises(DataFormatError, match="missing column"):
        list(parse_tasteset_rows(io.StringIO("text\nsalt\n")))


def test_reference_splits(tasteset_path) -> None:
    examples = read_tasteset(tasteset_path)
    train, test = seed_split(examples)
    assert (len(train), len(test)) == (630, 70)
    folds = kfold_splits(examples)
    assert [len(te) for _, te in folds] == [140] * 5
    assert sorted(ex.text for _, te in folds for ex in te) == sorted(ex.text for ex in examples)
    lines = line_examples(examples)
    assert len(lines) == 3788 and sum(len(ex.spans) for ex in lines) == 13362
