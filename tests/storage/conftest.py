"""Fixtures for storage tests: a fresh SQLite file per test and a content dump."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_session_factory
from storage.schema import Recipe, Sentence


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where this test's SQLite file lives."""
    return tmp_path / "studio.db"


@pytest.fixture
def factory(db_path: Path) -> sessionmaker[Session]:
    """A session factory on a fresh SQLite file with every table created."""
    return make_session_factory(f"sqlite:///{db_path}")


def dump_content(db_path: Path) -> list[str]:
    """Every row of every table as SQL text, for byte-for-byte content comparisons."""
    with sqlite3.connect(db_path) as conn:
        return list(conn.iterdump())


def canonical(session: Session, *, with_names: bool = True) -> list[tuple]:
    """The data an import carries, independent of ids and times: per recipe (in id order)
    its name and its sentences with position, text, hash, split, status and spans."""
    out = []
    for recipe in session.scalars(select(Recipe).order_by(Recipe.id)):
        sentences = session.scalars(
            select(Sentence).where(Sentence.recipe_id == recipe.id).order_by(Sentence.position)
        )
        rows = tuple(
            (s.position, s.text, s.content_hash, s.split, s.status,
             tuple((r.start, r.end, r.label) for r in s.spans))
            for s in sentences
        )
        out.append((recipe.name if with_names else None, rows))
    return out
