"""Engine configuration: SQLite pragmas, DATABASE_URL, and nothing SQLite-only elsewhere."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from storage import db

REPO = Path(__file__).resolve().parents[2]


def test_sqlite_runs_with_foreign_keys_wal_and_busy_timeout(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == db.SQLITE_BUSY_TIMEOUT_MS


def test_database_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x' / 'y.db'}")
    assert db.make_engine().url.database == str(tmp_path / "x" / "y.db")
    monkeypatch.delenv("DATABASE_URL")
    assert db.database_url() == db.DEFAULT_DATABASE_URL
    assert db.DEFAULT_DATABASE_URL.endswith("/data/studio.db")


def test_foreign_keys_are_enforced(factory: sessionmaker[Session]) -> None:
    from sqlalchemy.exc import IntegrityError

    from storage.schema import SpanRow

    with pytest.raises(IntegrityError):
        with factory.begin() as session:
            session.add(SpanRow(sentence_id=12345, start=0, end=1, label="FOOD", source="human"))


@pytest.mark.parametrize("package", ["storage", "jobs"])
def test_nothing_outside_db_py_is_sqlite_specific(package: str) -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / package).rglob("*.py")
        if path.name != "db.py" and re.search(r"sqlite|PRAGMA", path.read_text(), re.IGNORECASE)
    ]
    assert offenders == []


def test_schema_and_queue_query_compile_for_postgresql() -> None:
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from storage.schema import Base, Sentence

    ddl = [str(CreateTable(table).compile(dialect=postgresql.dialect())) for table in Base.metadata.sorted_tables]
    assert any("CREATE TABLE sentences" in statement for statement in ddl)
    query = select(Sentence).order_by(Sentence.uncertainty.desc().nulls_last(), Sentence.content_hash)
    assert "NULLS LAST" in str(query.compile(dialect=postgresql.dialect()))
