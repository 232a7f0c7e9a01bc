"""Exporting sentences in the import formats, so that import → export → import is identity.

JSONL carries every sentence (unlabelled ones without ``"spans"``); CoNLL and TASTEset
have no way to say "not labelled yet", so they carry confirmed sentences only.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ner_core.spans import SpanAlignmentError, spans_to_tags, tokenize
from storage.schema import Recipe, Sentence, SentenceStatus


class ExportError(ValueError):
    """A stored sentence cannot be written in the requested format."""


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    format: str
    recipes: int
    sentences: int


def _recipes(session: Session, *, confirmed_only: bool) -> list[tuple[Recipe, list[Sentence]]]:
    """Recipes in id order with their (confirmed) sentences in position order; empty ones left out."""
    query = select(Sentence).options(selectinload(Sentence.spans)).order_by(Sentence.recipe_id, Sentence.position)
    if confirmed_only:
        query = query.where(Sentence.status == SentenceStatus.CONFIRMED)
    by_recipe: dict[int, list[Sentence]] = {}
    for sentence in session.scalars(query):
        by_recipe.setdefault(sentence.recipe_id, []).append(sentence)
    recipes = session.scalars(select(Recipe).where(Recipe.id.in_(list(by_recipe))).order_by(Recipe.id))
    return [(recipe, by_recipe[recipe.id]) for recipe in recipes]


def _one_line(name: str) -> str:
    """A recipe name safe to write on one line."""
    return " ".join(name.split())


def write_jsonl(session: Session, out: TextIO) -> ExportResult:
    """Every sentence as a JSONL record; confirmed ones with their spans."""
    groups = _recipes(session, confirmed_only=False)
    for recipe, sentences in groups:
        for s in sentences:
            record: dict[str, object] = {"text": s.text}
            if s.status == SentenceStatus.CONFIRMED:
                record["spans"] = [{"start": r.start, "end": r.end, "label": r.label} for r in s.spans]
            record["recipe"] = _one_line(recipe.name)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return ExportResult("jsonl", len(groups), sum(len(s) for _, s in groups))


def write_conll(session: Session, out: TextIO) -> ExportResult:
    """Confirmed sentences as CoNLL IOB2 with ``# recipe =`` and ``# text =`` comments."""
    groups = _recipes(session, confirmed_only=True)
    for recipe, sentences in groups:
        out.write(f"# recipe = {_one_line(recipe.name)}\n")
        for s in sentences:
            tokens = tokenize(s.text)
            try:
                tags = spans_to_tags(s.text, tokens, [r.to_span() for r in s.spans])
            except SpanAlignmentError as e:
                raise ExportError(f"sentence {s.id} cannot be written as IOB2: {e}; fix its spans") from e
            out.write(f"# text = {s.text}\n")
            out.writelines(f"{tok.text}\t{tag}\n" for tok, tag in zip(tokens, tags))
            out.write("\n")
    return ExportResult("conll", len(groups), sum(len(s) for _, s in groups))


def write_tasteset(session: Session, out: TextIO) -> ExportResult:
    """Confirmed sentences as TASTEset CSV rows, one row per recipe."""
    groups = _recipes(session, confirmed_only=True)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["ingredients", "ingredients_entities"])
    for _, sentences in groups:
        entities, offset = [], 0
        for s in sentences:
            entities += [{"start": r.start + offset, "end": r.end + offset, "type": r.label,
                          "entity": s.text[r.start:r.end]} for r in s.spans]
            offset += len(s.text) + 1
        text = "".join(s.text + "\n" for s in sentences)
        writer.writerow([text, json.dumps(entities, ensure_ascii=False)])
    out.write(buffer.getvalue())
    return ExportResult("tasteset", len(groups), sum(len(s) for _, s in groups))


WRITERS = {"jsonl": write_jsonl, "conll": write_conll, "tasteset": write_tasteset}


def export(session: Session, fmt: str, out: TextIO) -> ExportResult:
    """Write the database in format fmt (jsonl, conll or tasteset) to out."""
    if fmt not in WRITERS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(WRITERS)}")
    return WRITERS[fmt](session, out)
