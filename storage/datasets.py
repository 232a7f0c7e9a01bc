"""What training and scoring read: confirmed train sentences and confirmed test sentences."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ner_core.data import Example
from storage.schema import Sentence, SentenceStatus, Split


@dataclass(frozen=True)
class Snapshot:
    """The exact training data of a run: examples in id order and their sha256."""

    examples: list[Example]
    sha256: str

    @property
    def size(self) -> int:
        """How many sentences the snapshot holds."""
        return len(self.examples)


def confirmed_sentences(session: Session, split: Split) -> list[Sentence]:
    """Confirmed sentences of a split with their spans, in id order."""
    return list(
        session.scalars(
            select(Sentence)
            .where(Sentence.status == SentenceStatus.CONFIRMED, Sentence.split == split)
            .options(selectinload(Sentence.spans))
            .order_by(Sentence.id)
        )
    )


def confirmed_examples(session: Session, split: Split) -> list[Example]:
    """Confirmed sentences of a split as Examples, in id order."""
    return [Example(s.text, tuple(sorted(row.to_span() for row in s.spans))) for s in confirmed_sentences(session, split)]


def examples_sha256(examples: list[Example]) -> str:
    """A sha256 over the texts and spans of examples, in order."""
    digest = hashlib.sha256()
    for ex in examples:
        record = [ex.text, [[s.start, s.end, s.label] for s in ex.spans]]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def training_snapshot(session: Session) -> Snapshot:
    """The confirmed train sentences as a Snapshot (the test split never trains)."""
    examples = confirmed_examples(session, Split.TRAIN)
    return Snapshot(examples, examples_sha256(examples))


def evaluation_examples(session: Session) -> list[Example]:
    """The confirmed test sentences every model is scored on."""
    return confirmed_examples(session, Split.TEST)


def unconfirmed_train_texts(session: Session) -> list[str]:
    """Texts of train-split sentences not confirmed yet (what a teacher may label)."""
    return list(session.scalars(
        select(Sentence.text).where(Sentence.split == Split.TRAIN, Sentence.status != SentenceStatus.CONFIRMED)
        .order_by(Sentence.id)))
