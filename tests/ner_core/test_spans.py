"""Tokenizer, spans ↔ IOB2 tags, on hand-built cases and all of TASTEset."""
from __future__ import annotations

import pytest

from ner_core.data import read_tasteset
from ner_core.spans import (LABELS, OverlappingSpansError, Span, SpanAlignmentError, check_spans, spans_to_tags,
                            tag_names, tags_to_spans, tokenize)


@pytest.mark.parametrize("text, expected", [
    ("1/2 cup milk", ["1/2", "cup", "milk"]),
    ("1½ cups flour", ["1", "½", "cups", "flour"]),
    ("2-3 cloves garlic", ["2", "-", "3", "cloves", "garlic"]),
    ("1 (14.5-oz) can tomatoes", ["1", "(", "14.5", "-", "oz", ")", "can", "tomatoes"]),
    ("salt, pepper", ["salt", ",", "pepper"]),
    ("baker's yeast", ["baker's", "yeast"]),
    ("1,000 g sugar", ["1,000", "g", "sugar"]),
    ("crème fraîche", ["crème", "fraîche"]),
    ("", []),
    ("  \n ", []),
])
def test_tokenize_recipe_cases(text: str, expected: list[str]) -> None:
    assert [t.text for t in tokenize(text)] == expected


def test_token_offsets_point_into_text() -> None:
    text = "2 (8-ounce) packages cream cheese,\nsoftened"
    for tok in tokenize(text):
        assert text[tok.start:tok.end] == tok.text


@pytest.mark.parametrize("text, spans, tags", [
    ("2 cups flour", [Span(0, 1, "QUANTITY"), Span(2, 6, "UNIT"), Span(7, 12, "FOOD")],
     ["B-QUANTITY", "B-UNIT", "B-FOOD"]),
    ("olive oil, extra virgin", [Span(0, 9, "FOOD")], ["B-FOOD", "I-FOOD", "O", "O", "O"]),
    ("2-3 eggs", [Span(0, 3, "QUANTITY"), Span(4, 8, "FOOD")], ["B-QUANTITY", "I-QUANTITY", "I-QUANTITY", "B-FOOD"]),
    ("red red wine", [Span(0, 3, "COLOR"), Span(4, 7, "COLOR"), Span(8, 12, "FOOD")],
     ["B-COLOR", "B-COLOR", "B-FOOD"]),
])
def test_spans_to_tags_and_back(text: str, spans: list[Span], tags: list[str]) -> None:
    tokens = tokenize(text)
    assert spans_to_tags(text, tokens, spans) == tags
    assert tags_to_spans(tokens, tags) == spans


def test_span_inside_a_token_is_reported_by_name() -> None:
    text = "tomatoes"
    with pytest.raises(SpanAlignmentError, match=r"0\.\.6 FOOD 'tomato' has its end inside a token"):
        spans_to_tags(text, tokenize(text), [Span(0, 6, "FOOD")])


def test_span_with_surrounding_spaces_is_trimmed() -> None:
    text = "a  salt "
    assert spans_to_tags(text, tokenize(text), [Span(1, 8, "FOOD")]) == ["O", "B-FOOD"]


@pytest.mark.parametrize("spans, message", [
    ([Span(0, 4, "FOOD"), Span(2, 6, "FOOD")], "overlap"),
    ([Span(0, 40, "FOOD")], "ends past the text"),
    ([Span(0, 4, "SPICE")], "unknown label 'SPICE'"),
])
def test_check_spans_rejects_bad_spans(spans: list[Span], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_spans("salt and pepper", spans)


def test_overlap_is_its_own_error() -> None:
    with pytest.raises(OverlappingSpansError):
        check_spans("salt", [Span(0, 4, "FOOD"), Span(0, 2, "FOOD")])


@pytest.mark.parametrize("tags, expected", [
    (["I-FOOD", "I-FOOD"], []),  # strict IOB2: an entity must start with B-
    (["B-FOOD", "I-UNIT"], [Span(0, 1, "FOOD")]),
    (["O", "I-FOOD", "B-FOOD"], [Span(4, 5, "FOOD")]),
    (["B-FOOD", "B-FOOD", "I-FOOD"], [Span(0, 1, "FOOD"), Span(2, 5, "FOOD")]),
])
def test_tags_to_spans_reads_broken_sequences_strictly(tags: list[str], expected: list[Span]) -> None:
    assert tags_to_spans(tokenize("a b c")[: len(tags)], tags) == expected


def test_tags_to_spans_rejects_unknown_tags() -> None:
    with pytest.raises(ValueError, match="not an IOB2 tag"):
        tags_to_spans(tokenize("a"), ["X-FOOD"])


def test_tag_inventory() -> None:
    names = tag_names(LABELS)
    assert names[0] == "O" and len(names) == 1 + 2 * len(LABELS)


def test_round_trip_over_all_of_tasteset(tasteset_path) -> None:
    examples = read_tasteset(tasteset_path)
    total = 0
    for ex in examples:
        tokens = tokenize(ex.text)
        assert tags_to_spans(tokens, spans_to_tags(ex.text, tokens, ex.spans)) == list(ex.spans)
        total += len(ex.spans)
    assert (len(examples), total) == (700, 13362)
