"""The Label page's workflow: which sentence to show, why, and applying the editor's actions."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.labelling import (
    SentenceNotFoundError,
    confirm_sentence,
    get_sentence,
    next_sentences_to_label,
    skip_sentence,
    undo_last,
)
from storage.registry import active_model
from storage.schema import HistoryEntry, Sentence, SentenceStatus, SpanSource
from storage.sentences import InvalidSpansError
from storage.views import last_undoable_change, recipe_context
from ui.span_editor import EditorAction, EditorSpan

log = logging.getLogger(__name__)

PINNED_FROM_LINK = "link"
PINNED_FROM_UNDO = "undo"


@dataclass(frozen=True)
class QueueItem:
    """A sentence ready for the editor, with why it was picked and where it comes from."""

    sentence_id: int
    key: str
    text: str
    status: str
    spans: tuple[EditorSpan, ...]
    reason: str
    recipe_name: str
    position: int
    recipe_lines: int


@dataclass(frozen=True)
class Outcome:
    """What applying an action did: a message, and a sentence undo reopened."""

    message: str
    ok: bool
    reopened_id: int | None = None


def editor_spans(sentence: Sentence) -> tuple[EditorSpan, ...]:
    """The sentence's current spans; model spans of a suggested sentence are suggestions."""
    suggested = sentence.status == SentenceStatus.SUGGESTED
    return tuple(
        EditorSpan(r.start, r.end, r.label, suggested=suggested and r.source == SpanSource.MODEL,
                   confidence=r.confidence)
        for r in sentence.spans
    )


def pick_reason(sentence: Sentence, *, pinned: str | None, has_model: bool) -> str:
    """Why this sentence is on screen, in one sentence."""
    if pinned == PINNED_FROM_LINK:
        return f"Opened by link to check its labels (currently {sentence.status})."
    if pinned == PINNED_FROM_UNDO:
        return f"Reopened by undo; it is {sentence.status} again."
    if sentence.uncertainty is not None:
        least = 1.0 - sentence.uncertainty
        if not sentence.spans:
            return "Least sure first: the active model found no entity in this line."
        return f"Least sure first: the model's weakest span here has {least:.0%} confidence."
    if has_model:
        return "The active model has not scored this line yet, so it comes in random order."
    return "No model yet, so lines come in random order. Train one on the Train page."


def _history_key(session: Session, sentence: Sentence) -> str:
    """A key that changes whenever the sentence changes: its id and latest history id."""
    latest = session.scalar(
        select(HistoryEntry.id).where(HistoryEntry.sentence_id == sentence.id).order_by(HistoryEntry.id.desc()).limit(1)
    )
    return f"{sentence.id}:{latest or 0}"


def load_item(session: Session, sentence: Sentence, *, pinned: str | None = None) -> QueueItem:
    """The QueueItem for a sentence."""
    recipe, lines = recipe_context(session, sentence)
    return QueueItem(
        sentence_id=sentence.id,
        key=_history_key(session, sentence),
        text=sentence.text,
        status=sentence.status,
        spans=editor_spans(sentence),
        reason=pick_reason(sentence, pinned=pinned, has_model=active_model(session) is not None),
        recipe_name=recipe.name if recipe else "",
        position=sentence.position,
        recipe_lines=lines,
    )


def current_item(session: Session, *, pinned_id: int | None, pinned: str | None) -> QueueItem | None:
    """The pinned sentence if there is one, else the head of the queue (None: empty)."""
    if pinned_id is not None:
        try:
            return load_item(session, get_sentence(session, pinned_id), pinned=pinned)
        except SentenceNotFoundError:
            log.info("pinned sentence %s no longer exists", pinned_id)
    head = next_sentences_to_label(session, limit=1)
    return load_item(session, head[0]) if head else None


def apply_action(session: Session, item: QueueItem, action: EditorAction) -> Outcome:
    """Write what the editor asked for; a stale action (another sentence) is ignored."""
    if action.sentence_key != item.key:
        return Outcome("That action was for a sentence no longer on screen; ignored.", ok=False)
    if action.type == "confirm":
        try:
            confirm_sentence(session, item.sentence_id, action.spans)
        except InvalidSpansError as e:
            return Outcome(f"Not saved: {e}", ok=False)
        return Outcome(f"Confirmed {len(action.spans)} span(s).", ok=True)
    if action.type == "skip":
        skip_sentence(session, item.sentence_id)
        return Outcome("Skipped.", ok=True)
    return undo_latest(session)


def undo_latest(session: Session) -> Outcome:
    """Revert the newest confirm or skip, wherever it was; show that sentence again."""
    change = last_undoable_change(session)
    if change is None:
        return Outcome("Nothing to undo.", ok=False)
    undo_last(session, change.sentence_id)
    return Outcome(f"Undid the last {change.action}.", ok=True, reopened_id=change.sentence_id)
