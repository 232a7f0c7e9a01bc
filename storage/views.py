"""Read-only queries the app's pages need; the session comes first and nothing commits."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.datasets import confirmed_sentences
from storage.schema import HistoryEntry, ModelVersion, Recipe, Sentence, SpanSource, Split

UNDOABLE_ACTIONS = ("confirm", "skip")


def sentence_count(session: Session) -> int:
    """How many sentences the database holds."""
    return session.scalar(select(func.count()).select_from(Sentence)) or 0


def last_undoable_change(session: Session) -> HistoryEntry | None:
    """The newest human confirm or skip that has not been undone yet."""
    undone = select(HistoryEntry.undoes_id).where(HistoryEntry.undoes_id.is_not(None))
    return session.scalars(
        select(HistoryEntry)
        .where(
            HistoryEntry.source == SpanSource.HUMAN,
            HistoryEntry.action.in_(UNDOABLE_ACTIONS),
            HistoryEntry.id.not_in(undone),
        )
        .order_by(HistoryEntry.id.desc())
        .limit(1)
    ).first()


def recipe_context(session: Session, sentence: Sentence) -> tuple[Recipe | None, int]:
    """The recipe a sentence belongs to and how many lines it has."""
    recipe = session.get(Recipe, sentence.recipe_id)
    lines = session.scalar(select(func.count()).where(Sentence.recipe_id == sentence.recipe_id)) or 0
    return recipe, lines


def confirmed_test_sentences(session: Session) -> list[Sentence]:
    """Confirmed test-split sentences with their spans, in id order (the scoring set)."""
    return confirmed_sentences(session, Split.TEST)


def model_by_path(session: Session, path: str) -> ModelVersion | None:
    """The registered model stored at path, if any."""
    return session.scalars(select(ModelVersion).where(ModelVersion.path == path)).first()
