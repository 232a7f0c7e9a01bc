"""The metric against hand-computed values, and decoding of broken tag sequences."""
from __future__ import annotations

import numpy as np
import pytest

from ner_core.data import Example
from ner_core.decode import decode, viterbi
from ner_core.evaluate import evaluate, span_scores
from ner_core.spans import Span, tag_names, tokenize

GOLD = [Example("2 cups flour", (Span(0, 1, "QUANTITY"), Span(2, 6, "UNIT"), Span(7, 12, "FOOD"))),
        Example("olive oil", (Span(0, 9, "FOOD"),))]


def test_hand_computed_scores() -> None:
    # 2 of 3 predictions right (a wrong boundary on "olive oil"), 2 of 4 gold found.
    predicted = [[Span(0, 1, "QUANTITY"), Span(7, 12, "FOOD")], [Span(6, 9, "FOOD")]]
    report = evaluate(GOLD, predicted)
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 4)
    assert report.f1 == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))
    assert report.per_type["FOOD"]["f1"] == pytest.approx(0.5)
    assert report.per_type["UNIT"]["recall"] == 0.0
    assert span_scores(GOLD, predicted) == pytest.approx((report.precision, report.recall, report.f1))


def test_perfect_and_empty() -> None:
    assert evaluate(GOLD, [list(ex.spans) for ex in GOLD]).f1 == 1.0
    assert evaluate(GOLD, [[], []]).f1 == 0.0


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 gold examples but 1 predictions"):
        evaluate(GOLD, [[]])


TAGS = tag_names(("FOOD", "UNIT"))


def _probs(rows: list[dict[str, float]]) -> np.ndarray:
    out = np.full((len(rows), len(TAGS)), 0.01)
    for i, row in enumerate(rows):
        for tag, p in row.items():
            out[i, TAGS.index(tag)] = p
    return out / out.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("rows, expected", [
    # I-FOOD first: argmax would start with an I-; decoding turns it into a B-.
    ([{"I-FOOD": 0.6, "B-FOOD": 0.3}, {"I-FOOD": 0.9}], ["B-FOOD", "I-FOOD"]),
    # I-UNIT after B-FOOD is not allowed; the best legal path keeps FOOD going.
    ([{"B-FOOD": 0.9}, {"I-UNIT": 0.5, "I-FOOD": 0.4}], ["B-FOOD", "I-FOOD"]),
    # O then I-FOOD: not allowed, so O, B-FOOD or B-FOOD, I-FOOD wins.
    ([{"O": 0.5, "B-FOOD": 0.45}, {"I-FOOD": 0.6, "B-FOOD": 0.3}], ["B-FOOD", "I-FOOD"]),
])
def test_viterbi_repairs_broken_sequences(rows, expected) -> None:
    probs = _probs(rows)
    assert [TAGS[i] for i in viterbi(np.log(probs), TAGS)] == expected


def test_decode_gives_spans_with_min_confidence() -> None:
    tokens = tokenize("olive oil")
    probs = _probs([{"B-FOOD": 0.9}, {"I-FOOD": 0.7}])
    (span,) = decode(tokens, probs, TAGS)
    assert (span.start, span.end, span.label) == (0, 9, "FOOD")
    assert span.confidence == pytest.approx(probs[1, TAGS.index("I-FOOD")])
    assert 0.0 <= span.confidence <= 1.0
