"""Adding sentences: content hashes, the frozen split, span validation, duplicates."""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ner_core.spans import LABELS, Span, check_spans, spans_to_tags, tokenize, trim_span
from storage.schema import (
    HistoryEntry,
    Recipe,
    Sentence,
    SentenceStatus,
    SpanRow,
    SpanSource,
    Split,
)

TEST_SHARE_PERCENT = 10
_HASH_LOOKUP_CHUNK = 500


class InvalidSpansError(ValueError):
    """Spans that cannot be stored for a text (out of range, unknown label, overlap,
    or a boundary inside a token)."""


@dataclass(frozen=True)
class NewSentence:
    """A sentence to add; ``spans`` is None for an unlabelled one."""

    text: str
    spans: tuple[Span, ...] | None = None


@dataclass(frozen=True)
class AddResult:
    """What adding a batch of sentences did."""

    recipe_id: int | None
    added: int
    duplicates: int


def normalize_text(text: str) -> str:
    """The text as hashed: Unicode NFC, whitespace runs collapsed, ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def content_hash(text: str) -> str:
    """The stable sha256 hex digest of a sentence's normalized text."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def split_for_hash(digest: str) -> Split:
    """The frozen split for a content hash: about TEST_SHARE_PERCENT % go to test."""
    return Split.TEST if int(digest[:8], 16) % 100 < TEST_SHARE_PERCENT else Split.TRAIN


def validate_spans(text: str, spans: Sequence[Span]) -> list[Span]:
    """Spans trimmed of surrounding whitespace and sorted; raise InvalidSpansError if
    one is out of range, has an unknown label, overlaps another or splits a token."""
    if not text.strip():
        raise InvalidSpansError("the sentence text is empty")
    try:
        checked = check_spans(text, spans, LABELS)
        trimmed = [trim_span(text, s) for s in checked]
        spans_to_tags(text, tokenize(text), trimmed)  # raises if a boundary splits a token
    except ValueError as e:
        raise InvalidSpansError(str(e)) from e
    return trimmed


def spans_as_json(rows: Sequence[SpanRow]) -> list[dict[str, Any]]:
    """Span rows as the JSON stored in history entries."""
    return [
        {
            "start": r.start,
            "end": r.end,
            "label": r.label,
            "source": r.source,
            "model_id": r.model_id,
            "confidence": r.confidence,
        }
        for r in sorted(rows, key=lambda r: r.start)
    ]


def rows_from_json(items: Sequence[dict[str, Any]]) -> list[SpanRow]:
    """Span rows rebuilt from history JSON."""
    return [
        SpanRow(start=int(i["start"]), end=int(i["end"]), label=str(i["label"]), source=str(i["source"]),
                model_id=i.get("model_id"), confidence=i.get("confidence"))
        for i in items
    ]


def existing_hashes(session: Session, digests: Sequence[str]) -> set[str]:
    """Those of digests that some stored sentence already has."""
    found: set[str] = set()
    unique = sorted(set(digests))
    for i in range(0, len(unique), _HASH_LOOKUP_CHUNK):
        chunk = unique[i : i + _HASH_LOOKUP_CHUNK]
        found.update(session.scalars(select(Sentence.content_hash).where(Sentence.content_hash.in_(chunk))))
    return found


def add_recipe(
    session: Session,
    items: Sequence[NewSentence],
    *,
    name: str,
    source: str,
    span_source: SpanSource = SpanSource.IMPORT,
) -> AddResult:
    """Add sentences as one new recipe, skipping those whose hash is already stored.

    Labelled items become confirmed with spans from ``span_source``; the recipe is only
    created when at least one sentence is new. Spans must already be validated.
    """
    digests = [content_hash(item.text) for item in items]
    seen = existing_hashes(session, digests)
    fresh: list[tuple[NewSentence, str]] = []
    for item, digest in zip(items, digests):
        if digest not in seen:
            seen.add(digest)
            fresh.append((item, digest))
    if not fresh:
        return AddResult(recipe_id=None, added=0, duplicates=len(items))
    recipe = Recipe(name=name, source=source)
    session.add(recipe)
    session.flush()
    for position, (item, digest) in enumerate(fresh):
        session.add(_new_sentence(recipe.id, position, item, digest, span_source))
    session.flush()
    return AddResult(recipe_id=recipe.id, added=len(fresh), duplicates=len(items) - len(fresh))


def _new_sentence(
    recipe_id: int, position: int, item: NewSentence, digest: str, span_source: SpanSource
) -> Sentence:
    """A new Sentence row with its spans and its 'create' history entry."""
    labelled = item.spans is not None
    status = SentenceStatus.CONFIRMED if labelled else SentenceStatus.UNLABELLED
    rows = [SpanRow(start=s.start, end=s.end, label=s.label, source=span_source) for s in item.spans or ()]
    sentence = Sentence(
        recipe_id=recipe_id,
        position=position,
        text=item.text,
        content_hash=digest,
        split=split_for_hash(digest),
        status=status,
        spans=rows,
    )
    sentence.history = [
        HistoryEntry(
            action="create",
            source=span_source,
            status_before=None,
            status_after=status,
            spans_before=[],
            spans_after=spans_as_json(rows),
        )
    ]
    return sentence


def add_sentences(session: Session, lines: Sequence[str], *, recipe_name: str = "Added in the app") -> AddResult:
    """Add unlabelled lines (blank ones dropped) as a new recipe for the labelling queue."""
    items = [NewSentence(line.strip()) for line in lines if line.strip()]
    return add_recipe(session, items, name=recipe_name, source="app", span_source=SpanSource.HUMAN)
