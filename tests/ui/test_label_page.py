"""The Label page: what the span editor returns is written to the database at once."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ner_core.spans import Span
from storage.labelling import get_sentence
from storage.schema import SentenceStatus
from storage.views import last_undoable_change
from ui.span_editor import EditorAction


class FakeEditor:
    """Stands in for the browser: records what the page showed and replays one action."""

    def __init__(self) -> None:
        self.shown: list[dict[str, Any]] = []
        self.next_action: tuple[str, tuple[Span, ...]] | None = None

    def __call__(self, text: str, spans, *, sentence_key: str, nonce: int = 0, key: str = "") -> EditorAction | None:
        self.shown.append({"text": text, "spans": list(spans), "key": sentence_key})
        if self.next_action is None:
            return None
        kind, chosen = self.next_action
        self.next_action = None
        return EditorAction(kind, sentence_key, chosen)

    @property
    def sentence_id(self) -> int:
        return int(self.shown[-1]["key"].split(":")[0])


@pytest.fixture
def editor(monkeypatch: pytest.MonkeyPatch) -> FakeEditor:
    fake = FakeEditor()
    monkeypatch.setattr("ui.span_editor.span_editor", fake)
    return fake


def test_confirm_writes_the_spans_and_moves_on(factory, app, editor: FakeEditor) -> None:
    at = app("label")
    first = editor.sentence_id
    text = editor.shown[-1]["text"]
    spans = (Span(0, len(text.split()[0]), "QUANTITY"),)
    editor.next_action = ("confirm", spans)
    at.run()
    assert not at.exception
    with factory() as session:
        sentence = get_sentence(session, first)
        assert sentence.status == SentenceStatus.CONFIRMED
        assert [r.to_span() for r in sentence.spans] == list(spans)
        assert sentence.spans[0].source == "human"
    assert editor.sentence_id != first
    assert "Confirmed 1 span" in at.success[0].value


def test_skip_marks_the_sentence_skipped(factory, app, editor: FakeEditor) -> None:
    at = app("label")
    first = editor.sentence_id
    editor.next_action = ("skip", ())
    at.run()
    with factory() as session:
        assert get_sentence(session, first).status == SentenceStatus.SKIPPED
    assert editor.sentence_id != first


def test_undo_reverts_the_last_confirm_and_reopens_it(factory, app, editor: FakeEditor) -> None:
    at = app("label")
    first = editor.sentence_id
    editor.next_action = ("confirm", ())
    at.run()
    editor.next_action = ("undo", ())
    at.run()
    with factory() as session:
        assert get_sentence(session, first).status == SentenceStatus.UNLABELLED
        assert last_undoable_change(session) is None
    assert editor.sentence_id == first
    assert "Reopened by undo" in at.caption[0].value


def test_invalid_spans_are_refused_with_a_message(factory, app, editor: FakeEditor) -> None:
    at = app("label")
    first = editor.sentence_id
    editor.next_action = ("confirm", (Span(0, 1, "NOT_A_LABEL"),))
    at.run()
    with factory() as session:
        assert get_sentence(session, first).status == SentenceStatus.UNLABELLED
    assert "Not saved" in at.warning[0].value
    assert editor.sentence_id == first


def test_model_suggestions_are_shown_as_suggestions(populated_db, app, editor: FakeEditor) -> None:
    from ner_core.decode import ScoredSpan
    from ner_core.spans import tokenize
    from storage.labelling import next_sentences_to_label, store_suggestions

    with populated_db.begin() as session:
        target = next_sentences_to_label(session, limit=5)[3]
        first = tokenize(target.text)[0]
        store_suggestions(session, 2, {target.id: [ScoredSpan(first.start, first.end, "QUANTITY", 0.31)]})
    at = app("label")
    assert editor.sentence_id == target.id  # least sure first
    (span,) = editor.shown[-1]["spans"]
    assert span.suggested and span.confidence == pytest.approx(0.31)
    assert "31% confidence" in at.caption[0].value


def test_a_fix_link_opens_that_sentence(populated_db, app, editor: FakeEditor) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "streamlit_app.py"), default_timeout=60)
    at.query_params["sentence"] = "7"
    at.run()
    assert editor.sentence_id == 7
    assert "Opened by link" in at.caption[0].value
