"""The labelling workflow: queue order, confirm, skip, undo, suggestions, snapshots, stats."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ner_core.data import Example
from ner_core.spans import Span
from storage.datasets import evaluation_examples, examples_sha256, training_snapshot
from storage.labelling import (
    SentenceNotFoundError,
    confirm_sentence,
    get_sentence,
    next_sentences_to_label,
    sentence_history,
    skip_sentence,
    store_suggestions,
    undo_last,
)
from storage.registry import register_model
from storage.schema import HistoryEntry, Sentence, SentenceStatus, Split
from storage.sentences import InvalidSpansError, add_sentences
from storage.stats import label_counts, labelled_over_time, status_counts


@dataclass(frozen=True)
class Scored:
    start: int
    end: int
    label: str
    confidence: float


def _ids(session: Session) -> list[int]:
    return list(session.scalars(select(Sentence.id).order_by(Sentence.id)))


def _model(session: Session, path: str = "/m/1") -> int:
    return register_model(session, run_id=None, path=path, tagger="scratch", encoder=None, n_train=1,
                          snapshot_hash=None, n_test=0, test_f1=None, test_metrics=None, train_seconds=1.0).id


@pytest.fixture
def three(factory: sessionmaker[Session]) -> list[int]:
    with factory.begin() as session:
        add_sentences(session, ["2 cups flour", "1 egg", "salt"])
        return _ids(session)


def test_confirm_stores_spans_and_status(factory: sessionmaker[Session], three: list[int]) -> None:
    with factory.begin() as session:
        confirm_sentence(session, three[0], [Span(0, 1, "QUANTITY"), Span(2, 6, "UNIT"), Span(7, 12, "FOOD")])
    with factory.begin() as session:
        sentence = get_sentence(session, three[0])
        assert sentence.status == SentenceStatus.CONFIRMED
        assert [(r.to_span(), r.source) for r in sentence.spans] == [
            (Span(0, 1, "QUANTITY"), "human"), (Span(2, 6, "UNIT"), "human"), (Span(7, 12, "FOOD"), "human")]


def test_confirm_rejects_invalid_spans_and_changes_nothing(factory: sessionmaker[Session], three: list[int]) -> None:
    with pytest.raises(InvalidSpansError, match="inside a token"):
        with factory.begin() as session:
            confirm_sentence(session, three[0], [Span(7, 9, "FOOD")])
    with factory.begin() as session:
        assert get_sentence(session, three[0]).status == SentenceStatus.UNLABELLED
        assert len(sentence_history(session, three[0])) == 1


def test_missing_sentence_is_a_lookup_error(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session, pytest.raises(SentenceNotFoundError, match="no sentence with id 99"):
        skip_sentence(session, 99)


def test_undo_walks_back_change_by_change_and_history_only_grows(
    factory: sessionmaker[Session], three: list[int]
) -> None:
    sid = three[1]
    with factory.begin() as session:
        confirm_sentence(session, sid, [Span(0, 1, "QUANTITY")])
        confirm_sentence(session, sid, [Span(0, 1, "QUANTITY"), Span(2, 5, "FOOD")])
        skip_sentence(session, sid)
    states = []
    with factory.begin() as session:
        for _ in range(4):
            entry = undo_last(session, sid)
            sentence = get_sentence(session, sid)
            states.append((entry is not None, sentence.status, [r.to_span() for r in sentence.spans]))
    assert states == [
        (True, "confirmed", [Span(0, 1, "QUANTITY"), Span(2, 5, "FOOD")]),
        (True, "confirmed", [Span(0, 1, "QUANTITY")]),
        (True, "unlabelled", []),
        (False, "unlabelled", []),
    ]
    with factory.begin() as session:
        actions = [h.action for h in sentence_history(session, sid)]
    assert actions == ["create", "confirm", "confirm", "skip", "undo", "undo", "undo"]


def test_suggestions_order_the_queue_and_never_touch_confirmed(
    factory: sessionmaker[Session], three: list[int]
) -> None:
    flour, egg, salt = three
    with factory.begin() as session:
        confirm_sentence(session, salt, [Span(0, 4, "FOOD")])
        model_id = _model(session)
        stored = store_suggestions(session, model_id, {
            flour: [Scored(0, 1, "QUANTITY", 0.99), Scored(7, 12, "FOOD", 0.9)],
            egg: [Scored(0, 1, "QUANTITY", 0.4)],
            salt: [Scored(0, 4, "FOOD", 0.1)],
        })
    assert stored == 2
    with factory.begin() as session:
        queue = next_sentences_to_label(session, 10)
        assert [s.id for s in queue] == [egg, flour]
        assert queue[0].status == SentenceStatus.SUGGESTED
        assert queue[0].uncertainty == pytest.approx(0.6)
        assert [(r.source, r.model_id, r.confidence) for r in queue[0].spans] == [("model", model_id, 0.4)]
        assert [r.source for r in get_sentence(session, salt).spans] == ["human"]
        # undoing a suggestion brings back the unlabelled sentence
        undo_last(session, egg)
        assert get_sentence(session, egg).spans == []


def test_queue_without_a_model_is_stable_and_skips_closed_sentences(
    factory: sessionmaker[Session], three: list[int]
) -> None:
    with factory.begin() as session:
        skip_sentence(session, three[2])
        first = [s.id for s in next_sentences_to_label(session, 10)]
        assert first == [s.id for s in next_sentences_to_label(session, 10)]
        assert sorted(first) == three[:2]
        assert [s.id for s in next_sentences_to_label(session, 10, exclude_ids=[three[0]])] == [three[1]]


def test_snapshot_holds_confirmed_train_sentences_only(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        add_sentences(session, [f"{n} cups flour" for n in range(60)])
        sentences = session.scalars(select(Sentence).order_by(Sentence.id)).all()
        for s in sentences[:40]:
            confirm_sentence(session, s.id, [Span(0, len(s.text.split()[0]), "QUANTITY")])
        skip_sentence(session, sentences[40].id)
        train_ids = [s for s in sentences[:40] if s.split == Split.TRAIN]
        snapshot = training_snapshot(session)
        tests = evaluation_examples(session)
    assert snapshot.size == len(train_ids) and len(tests) == 40 - len(train_ids)
    assert snapshot.examples[0] == Example(train_ids[0].text, (Span(0, len(train_ids[0].text.split()[0]),
                                                                    "QUANTITY"),))
    assert snapshot.sha256 == examples_sha256(snapshot.examples) != examples_sha256(snapshot.examples[1:])


def test_stats_count_statuses_labels_and_days(factory: sessionmaker[Session], three: list[int]) -> None:
    with factory.begin() as session:
        confirm_sentence(session, three[0], [Span(0, 1, "QUANTITY"), Span(7, 12, "FOOD")])
        confirm_sentence(session, three[1], [Span(2, 5, "FOOD")])
        skip_sentence(session, three[2])
        assert status_counts(session) == {"unlabelled": 0, "suggested": 0, "confirmed": 2, "skipped": 1}
        labels = label_counts(session)
        assert (labels["FOOD"], labels["QUANTITY"], labels["UNIT"]) == (2, 1, 0)
        days = labelled_over_time(session)
        assert [(d.confirmed, d.cumulative) for d in days] == [(2, 2)]
        assert session.scalar(select(func.count()).select_from(HistoryEntry)) == 6


def test_views_for_the_pages(factory: sessionmaker[Session], three: list[int]) -> None:
    from storage.views import confirmed_test_sentences, last_undoable_change, model_by_path, recipe_context, \
        sentence_count

    with factory.begin() as session:
        assert sentence_count(session) == 3 and last_undoable_change(session) is None
        confirm_sentence(session, three[0], [Span(7, 12, "FOOD")])
        skip_sentence(session, three[1])
        assert last_undoable_change(session).sentence_id == three[1]
        undo_last(session, three[1])
        assert last_undoable_change(session).sentence_id == three[0]
        recipe, lines = recipe_context(session, get_sentence(session, three[0]))
        assert (recipe.name, lines) == ("Added in the app", 3)
        assert [s.id for s in confirmed_test_sentences(session)] == [
            sid for sid in three[:1] if get_sentence(session, sid).split == Split.TEST]
        model_id = _model(session, "/m/x")
        assert model_by_path(session, "/m/x").id == model_id and model_by_path(session, "/m/y") is None
