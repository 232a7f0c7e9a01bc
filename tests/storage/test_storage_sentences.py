"""Content hashes, the frozen split, span validation and adding sentences."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ner_core.data import line_examples, read_tasteset
from ner_core.spans import Span
from storage.schema import HistoryEntry, Sentence, SentenceStatus, Split
from storage.sentences import (
    InvalidSpansError,
    NewSentence,
    add_recipe,
    add_sentences,
    content_hash,
    split_for_hash,
    validate_spans,
)


@pytest.mark.parametrize(
    "a, b",
    [
        ("2 cups flour", "2  cups\tflour "),
        ("1 jalapeño", "1 jalapen\u0303o"),  # NFC: composed and decomposed ñ
    ],
)
def test_content_hash_ignores_whitespace_runs_and_unicode_composition(a: str, b: str) -> None:
    assert content_hash(a) == content_hash(b)


def test_content_hash_keeps_case_and_words() -> None:
    assert content_hash("Salt") != content_hash("salt")
    assert content_hash("1 cup sugar") != content_hash("1 cup sugars")


def test_split_is_deterministic_and_about_ten_percent_on_tasteset(tasteset_path: Path) -> None:
    texts = {ex.text for ex in line_examples(read_tasteset(tasteset_path))}
    splits = [split_for_hash(content_hash(t)) for t in texts]
    assert splits == [split_for_hash(content_hash(t)) for t in texts]
    share = splits.count(Split.TEST) / len(splits)
    assert 0.08 < share < 0.12


@pytest.mark.parametrize(
    "text, spans, message",
    [
        ("2 cups flour", [Span(7, 13, "FOOD")], "ends past the text"),
        ("2 cups flour", [Span(7, 12, "SPICE")], "unknown label"),
        ("2 cups flour", [Span(0, 6, "UNIT"), Span(2, 6, "UNIT")], "overlap"),
        ("2 cups flour", [Span(7, 10, "FOOD")], "inside a token"),
        ("   ", [], "empty"),
    ],
)
def test_validate_spans_rejects_bad_spans_with_the_reason(text: str, spans: list[Span], message: str) -> None:
    with pytest.raises(InvalidSpansError, match=message):
        validate_spans(text, spans)


def test_validate_spans_trims_surrounding_spaces_and_sorts() -> None:
    assert validate_spans("2 cups flour", [Span(6, 12, "FOOD"), Span(0, 1, "QUANTITY")]) == [
        Span(0, 1, "QUANTITY"),
        Span(7, 12, "FOOD"),
    ]


def test_add_recipe_skips_duplicates_by_hash_and_counts_them(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        first = add_recipe(session, [NewSentence("2 cups flour", (Span(7, 12, "FOOD"),)), NewSentence("salt")],
                           name="r1", source="test")
    with factory.begin() as session:
        second = add_recipe(session, [NewSentence("salt "), NewSentence("1 egg"), NewSentence("1 egg")],
                            name="r2", source="test")
        sentences = session.scalars(select(Sentence).order_by(Sentence.id)).all()
        assert [(s.text, s.position, s.status) for s in sentences] == [
            ("2 cups flour", 0, SentenceStatus.CONFIRMED),
            ("salt", 1, SentenceStatus.UNLABELLED),
            ("1 egg", 0, SentenceStatus.UNLABELLED),
        ]
        assert session.scalar(select(func.count()).select_from(HistoryEntry)) == 3
    assert (first.added, first.duplicates) == (2, 0)
    assert (second.added, second.duplicates) == (1, 2)


def test_a_batch_of_only_duplicates_creates_no_recipe(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        add_sentences(session, ["1 egg"])
        result = add_sentences(session, ["1 egg", "  "])
    assert (result.recipe_id, result.added, result.duplicates) == (None, 0, 1)


def test_split_is_fixed_when_the_sentence_enters(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        add_sentences(session, [f"{n} cups flour" for n in range(200)])
        rows = session.execute(select(Sentence.content_hash, Sentence.split)).all()
    assert all(split == split_for_hash(digest) for digest, split in rows)
    assert {split for _, split in rows} == {"train", "test"}
