"""Loading the starter data that ships in data/ into an empty database."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ner_core.data import Example, split_lines
from ner_core.spans import Span
from storage.schema import SpanSource
from storage.sentences import NewSentence, add_recipe, validate_spans
from storage.views import sentence_count

log = logging.getLogger(__name__)

STARTER_PATH = Path(__file__).resolve().parent.parent / "data" / "starter_recipes.jsonl"
STARTER_SOURCE = "starter data (data/starter_recipes.jsonl)"
# Every QUEUE_EVERY-th recipe goes into the labelling queue without its spans, so a
# newcomer has a first model's training data and sentences to label on the first run.
QUEUE_EVERY = 3


@dataclass(frozen=True)
class StarterResult:
    """What loading the starter data did."""

    recipes: int
    confirmed: int
    queued: int


def read_starter(path: Path | None = None) -> list[tuple[str, Example]]:
    """The starter recipes as (name, Example) pairs, in file order."""
    recipes = []
    for line in (path or STARTER_PATH).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        spans = tuple(Span(s["start"], s["end"], s["label"]) for s in record["spans"])
        recipes.append((record["recipe"], Example(record["text"], spans)))
    return recipes


def load_starter(session: Session, path: Path | None = None) -> StarterResult:
    """Add the starter recipes: most confirmed, every QUEUE_EVERY-th one unlabelled."""
    confirmed = queued = 0
    recipes = read_starter(path)
    for index, (name, example) in enumerate(recipes):
        to_queue = index % QUEUE_EVERY == QUEUE_EVERY - 1
        items = [
            NewSentence(line.example.text,
                        None if to_queue else tuple(validate_spans(line.example.text, line.example.spans)))
            for line in split_lines(example)
        ]
        result = add_recipe(session, items, name=name, source=STARTER_SOURCE, span_source=SpanSource.IMPORT)
        if to_queue:
            queued += result.added
        else:
            confirmed += result.added
    log.info("starter data: %d confirmed and %d queued sentences", confirmed, queued)
    return StarterResult(len(recipes), confirmed, queued)


def load_starter_if_empty(session: Session) -> StarterResult | None:
    """Load the starter data when the database holds no sentence yet."""
    if sentence_count(session):
        return None
    return load_starter(session)
