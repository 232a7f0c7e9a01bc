"""Pure pieces of the app: triage classes, highlighting, editor data, starter loading."""
from __future__ import annotations

import pytest

from ner_core.decode import ScoredSpan
from ner_core.spans import Span, tokenize
from storage.stats import status_counts
from ui.highlight import highlight_html, ingredient_rows, results_csv, results_json, split_recipes
from ui.span_editor import EditorSpan, editor_data, parse_action
from ui.starter import load_starter, load_starter_if_empty, read_starter
from ui.triage import MISSED, SPURIOUS, WRONG_BOUNDARY, WRONG_TYPE, classify

S = Span


@pytest.mark.parametrize(
    ("gold", "predicted", "expected"),
    [
        ([S(0, 1, "QUANTITY")], [S(0, 1, "QUANTITY")], []),
        ([S(0, 1, "QUANTITY")], [], [(MISSED, S(0, 1, "QUANTITY"), None)]),
        ([], [S(2, 6, "UNIT")], [(SPURIOUS, None, S(2, 6, "UNIT"))]),
        ([S(2, 6, "UNIT")], [S(2, 6, "FOOD")], [(WRONG_TYPE, S(2, 6, "UNIT"), S(2, 6, "FOOD"))]),
        ([S(7, 16, "FOOD")], [S(7, 11, "FOOD")], [(WRONG_BOUNDARY, S(7, 16, "FOOD"), S(7, 11, "FOOD"))]),
        ([S(7, 16, "FOOD")], [S(7, 11, "COLOR")], [(WRONG_BOUNDARY, S(7, 16, "FOOD"), S(7, 11, "COLOR"))]),
        (
            [S(0, 1, "QUANTITY"), S(2, 6, "UNIT"), S(7, 16, "FOOD")],
            [S(0, 1, "QUANTITY"), S(2, 6, "FOOD"), S(20, 25, "PROCESS")],
            [(WRONG_TYPE, S(2, 6, "UNIT"), S(2, 6, "FOOD")), (MISSED, S(7, 16, "FOOD"), None),
             (SPURIOUS, None, S(20, 25, "PROCESS"))],
        ),
    ],
)
def test_classify_disagreements(gold, predicted, expected) -> None:
    assert [(d.kind, d.gold, d.predicted) for d in classify(gold, predicted)] == expected


def test_highlight_escapes_text_and_marks_low_confidence() -> None:
    text = "1 <b>onion</b> & 2 eggs"
    spans = [ScoredSpan(0, 1, "QUANTITY", 0.95), ScoredSpan(5, 10, "FOOD", 0.2)]
    out = highlight_html(text, spans)
    assert "<b>onion" not in out and "&lt;b&gt;" in out and "&amp;" in out
    assert 'title="QUANTITY · 95% confidence"' in out
    assert 'title="FOOD · 20% confidence (low)"' in out and "dashed" in out


def test_split_recipes_on_blank_lines() -> None:
    assert split_recipes("a\nb\n\n\n c \r\n\r\nd\n") == ["a\nb", " c", "d"]


def test_ingredient_rows_and_downloads() -> None:
    text = "2 cups flour\nsalt"
    spans = [ScoredSpan(0, 1, "QUANTITY", 0.9), ScoredSpan(2, 6, "UNIT", 0.9), ScoredSpan(7, 12, "FOOD", 0.9),
             ScoredSpan(13, 17, "FOOD", 0.8)]
    rows = ingredient_rows(text, spans)
    assert [(r["line"], r["quantity"], r["unit"], r["food"]) for r in rows] == [
        ("2 cups flour", "2", "cups", "flour"), ("salt", "", "", "salt")]
    assert results_csv([text], [spans]).splitlines()[1].startswith("1,2 cups flour,flour,2,cups,")
    assert '"text": "flour"' in results_json([text], [spans])


def test_editor_data_carries_tokens_and_marks_suggestions() -> None:
    text = "2 (14.5-oz) cans tomatoes"
    data = editor_data(text, [EditorSpan(0, 1, "QUANTITY", suggested=True, confidence=0.4)], sentence_key="3:9")
    assert [(t["start"], t["end"]) for t in data["tokens"]] == [(t.start, t.end) for t in tokenize(text)]
    assert data["spans"] == [{"start": 0, "end": 1, "label": "QUANTITY", "suggested": True, "confidence": 0.4}]
    assert [label["name"] for label in data["labels"]][:3] == ["FOOD", "QUANTITY", "UNIT"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "confirm", "sentence_key": "1:2", "spans": [{"start": 0, "end": 1, "label": "FOOD"}]},
         ("confirm", "1:2", (S(0, 1, "FOOD"),))),
        ({"type": "skip", "sentence_key": "1:2", "spans": []}, ("skip", "1:2", ())),
        ({"type": "undo", "sentence_key": "1:2"}, ("undo", "1:2", ())),
        ({"type": "delete-everything"}, None),
        ({"type": "confirm", "spans": [{"start": 3, "end": 1, "label": "FOOD"}]}, None),
        ({"type": "confirm", "spans": [{"start": 0}]}, None),
        ("confirm", None),
        (None, None),
    ],
)
def test_parse_action(raw, expected) -> None:
    action = parse_action(raw)
    assert (None if action is None else (action.type, action.sentence_key, action.spans)) == expected


def test_starter_loads_once_with_a_labelling_queue(factory) -> None:
    with factory.begin() as session:
        first = load_starter_if_empty(session)
        again = load_starter_if_empty(session)
        counts = status_counts(session)
    assert again is None and first is not None
    assert first.recipes == len(read_starter())
    assert counts["confirmed"] == first.confirmed and counts["unlabelled"] == first.queued
    assert first.queued > 100 and first.confirmed > first.queued


def test_starter_loading_skips_duplicates(factory) -> None:
    with factory.begin() as session:
        load_starter(session)
        second = load_starter(session)
    assert second.confirmed == second.queued == 0
