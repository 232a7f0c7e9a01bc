"""The labelling workflow: the queue, confirm, skip, undo and model suggestions."""
from __future__ import annotations

import logging
from typing import Mapping, Protocol, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ner_core.spans import Span
from storage.schema import HistoryEntry, Sentence, SentenceStatus, SpanRow, SpanSource, Split
from storage.sentences import InvalidSpansError, rows_from_json, spans_as_json, validate_spans

log = logging.getLogger(__name__)

OPEN_STATUSES = (SentenceStatus.UNLABELLED, SentenceStatus.SUGGESTED)


class SentenceNotFoundError(LookupError):
    """No sentence has the requested id."""


class ScoredSpanLike(Protocol):
    """A predicted span with a confidence (ner_core.predict.ScoredSpan fits)."""

    start: int
    end: int
    label: str
    confidence: float


def get_sentence(session: Session, sentence_id: int) -> Sentence:
    """The sentence with its spans loaded; raise SentenceNotFoundError if absent."""
    sentence = session.get(Sentence, sentence_id, options=[selectinload(Sentence.spans)])
    if sentence is None:
        raise SentenceNotFoundError(f"no sentence with id {sentence_id}")
    return sentence


def next_sentences_to_label(
    session: Session, limit: int = 10, *, split: Split | None = None, exclude_ids: Sequence[int] = ()
) -> list[Sentence]:
    """Open sentences, least confident suggestions first, then unsuggested ones in a
    stable pseudo-random order (by content hash)."""
    query = (
        select(Sentence)
        .where(Sentence.status.in_(OPEN_STATUSES))
        .options(selectinload(Sentence.spans))
        .order_by(Sentence.uncertainty.desc().nulls_last(), Sentence.content_hash)
        .limit(limit)
    )
    if split is not None:
        query = query.where(Sentence.split == split)
    if exclude_ids:
        query = query.where(Sentence.id.not_in(list(exclude_ids)))
    return list(session.scalars(query))


def _record_change(
    session: Session,
    sentence: Sentence,
    *,
    action: str,
    source: str,
    status: str,
    rows: list[SpanRow] | None = None,
    undoes_id: int | None = None,
) -> HistoryEntry:
    """Apply a change to a sentence (new span rows unless None, new status) and append
    the history entry that describes it."""
    before, status_before = spans_as_json(sentence.spans), sentence.status
    if rows is not None:
        sentence.spans = rows
    sentence.status = status
    entry = HistoryEntry(
        sentence_id=sentence.id,
        action=action,
        source=source,
        status_before=status_before,
        status_after=status,
        spans_before=before,
        spans_after=spans_as_json(sentence.spans),
        undoes_id=undoes_id,
    )
    session.add(entry)
    session.flush()
    return entry


def confirm_sentence(
    session: Session, sentence_id: int, spans: Sequence[Span], *, source: str = SpanSource.HUMAN
) -> Sentence:
    """Store spans as the sentence's confirmed labels; raise InvalidSpansError if bad."""
    sentence = get_sentence(session, sentence_id)
    checked = validate_spans(sentence.text, spans)
    rows = [SpanRow(start=s.start, end=s.end, label=s.label, source=source) for s in checked]
    _record_change(session, sentence, action="confirm", source=source, status=SentenceStatus.CONFIRMED, rows=rows)
    return sentence


def skip_sentence(session: Session, sentence_id: int) -> Sentence:
    """Mark a sentence skipped (kept out of training and of the queue), spans unchanged."""
    sentence = get_sentence(session, sentence_id)
    _record_change(session, sentence, action="skip", source=SpanSource.HUMAN, status=SentenceStatus.SKIPPED)
    return sentence


def undo_last(session: Session, sentence_id: int) -> HistoryEntry | None:
    """Revert the latest change not yet undone by appending an 'undo' entry; None when
    there is nothing left to undo (creation is never undone)."""
    sentence = get_sentence(session, sentence_id)
    undone = select(HistoryEntry.undoes_id).where(
        HistoryEntry.sentence_id == sentence_id, HistoryEntry.undoes_id.is_not(None)
    )
    target = session.scalars(
        select(HistoryEntry)
        .where(
            HistoryEntry.sentence_id == sentence_id,
            HistoryEntry.action.not_in(("create", "undo")),
            HistoryEntry.id.not_in(undone),
        )
        .order_by(HistoryEntry.id.desc())
        .limit(1)
    ).first()
    if target is None:
        return None
    return _record_change(
        session,
        sentence,
        action="undo",
        source=SpanSource.HUMAN,
        status=target.status_before or SentenceStatus.UNLABELLED,
        rows=rows_from_json(target.spans_before),
        undoes_id=target.id,
    )


def sentence_history(session: Session, sentence_id: int) -> list[HistoryEntry]:
    """Every change to a sentence, oldest first."""
    return list(
        session.scalars(select(HistoryEntry).where(HistoryEntry.sentence_id == sentence_id).order_by(HistoryEntry.id))
    )


def suggestion_uncertainty(spans: Sequence[ScoredSpanLike]) -> float:
    """1 - the least span confidence; 1.0 when the model found nothing, since every
    ingredient line names at least a food."""
    return 1.0 - min((s.confidence for s in spans), default=0.0)


def sentences_needing_suggestions(session: Session, model_id: int, limit: int = 64) -> list[Sentence]:
    """Open sentences whose current suggestion is not from model_id."""
    query = (
        select(Sentence)
        .where(Sentence.status.in_(OPEN_STATUSES))
        .where((Sentence.suggestion_model_id.is_(None)) | (Sentence.suggestion_model_id != model_id))
        .order_by(Sentence.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def store_suggestions(
    session: Session, model_id: int, predictions: Mapping[int, Sequence[ScoredSpanLike]]
) -> int:
    """Make model predictions the current spans of the sentences still open; return how
    many were stored (a sentence confirmed meanwhile is left alone)."""
    stored = 0
    for sentence_id, predicted in predictions.items():
        sentence = get_sentence(session, sentence_id)
        if sentence.status not in OPEN_STATUSES:
            continue
        try:
            validate_spans(sentence.text, [Span(s.start, s.end, s.label) for s in predicted])
        except InvalidSpansError as e:
            # Marked as done for this model (spans untouched) so it is not predicted again.
            log.warning("model %s suggested invalid spans for sentence %s: %s", model_id, sentence_id, e)
            sentence.suggestion_model_id = model_id
            continue
        rows = [
            SpanRow(start=s.start, end=s.end, label=s.label, source=SpanSource.MODEL, model_id=model_id,
                    confidence=float(s.confidence))
            for s in sorted(predicted, key=lambda s: s.start)
        ]
        _record_change(session, sentence, action="suggest", source=SpanSource.MODEL,
                       status=SentenceStatus.SUGGESTED, rows=rows)
        sentence.uncertainty = suggestion_uncertainty(predicted)
        sentence.suggestion_model_id = model_id
        stored += 1
    session.flush()
    return stored
