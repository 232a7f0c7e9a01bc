"""Counts for the dashboard: per status, per label, and labelling over time."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ner_core.spans import LABELS
from storage.schema import HistoryEntry, Sentence, SentenceStatus, SpanRow, SpanSource, Split


@dataclass(frozen=True)
class DayCount:
    """Sentences confirmed on one day, and in all up to and including it."""

    day: date
    confirmed: int
    cumulative: int


def status_counts(session: Session, *, split: Split | None = None) -> dict[str, int]:
    """Number of sentences per status (every status present, zeros included)."""
    query = select(Sentence.status, func.count()).group_by(Sentence.status)
    if split is not None:
        query = query.where(Sentence.split == split)
    counts = {status.value: 0 for status in SentenceStatus}
    counts.update({status: n for status, n in session.execute(query).tuples()})
    return counts


def split_counts(session: Session, *, status: SentenceStatus = SentenceStatus.CONFIRMED) -> dict[str, int]:
    """Number of sentences with status per split."""
    query = select(Sentence.split, func.count()).where(Sentence.status == status).group_by(Sentence.split)
    counts = {s.value: 0 for s in Split}
    counts.update({split: n for split, n in session.execute(query).tuples()})
    return counts


def label_counts(session: Session) -> dict[str, int]:
    """Number of spans per label over confirmed sentences (every label, zeros included)."""
    query = (
        select(SpanRow.label, func.count())
        .join(Sentence, SpanRow.sentence_id == Sentence.id)
        .where(Sentence.status == SentenceStatus.CONFIRMED)
        .group_by(SpanRow.label)
    )
    counts = {label: 0 for label in LABELS}
    counts.update({label: n for label, n in session.execute(query).tuples()})
    return counts


def labelled_over_time(session: Session, *, include_imports: bool = False) -> list[DayCount]:
    """Confirmations per day (human ones, plus imported ones if asked), oldest first."""
    sources = [SpanSource.HUMAN] + ([SpanSource.IMPORT] if include_imports else [])
    query = select(HistoryEntry.created_at).where(
        HistoryEntry.status_after == SentenceStatus.CONFIRMED,
        HistoryEntry.action.in_(("confirm", "create")),
        HistoryEntry.source.in_(sources),
    )
    # Grouped in Python: date truncation is spelled differently in each SQL dialect.
    per_day = Counter(created.date() for created in session.scalars(query))
    result: list[DayCount] = []
    total = 0
    for day in sorted(per_day):
        total += per_day[day]
        result.append(DayCount(day, per_day[day], total))
    return result
