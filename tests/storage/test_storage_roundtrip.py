"""import → export → import gives identical data, over all of TASTEset, in every format."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_session_factory
from storage.exporter import ExportError, export
from storage.importer import import_source
from storage.labelling import confirm_sentence
from storage.schema import SentenceStatus
from storage.sentences import add_sentences
from tests.storage.conftest import canonical

SUFFIX = {"jsonl": ".jsonl", "conll": ".conll", "tasteset": ".csv"}


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory, tasteset_path: Path) -> sessionmaker[Session]:
    """All of TASTEset plus a recipe of unlabelled lines, imported once."""
    factory = make_session_factory(f"sqlite:///{tmp_path_factory.mktemp('orig') / 'orig.db'}")
    with factory.begin() as session:
        assert import_source(session, str(tasteset_path)).added == 3116
        add_sentences(session, ["3 ripe bananas", "1 cup  walnuts, chopped"], recipe_name="typed in")
    return factory


def _confirmed_only(data: list[tuple]) -> list[tuple]:
    kept = [(name, tuple(r for r in rows if r[4] == SentenceStatus.CONFIRMED)) for name, rows in data]
    return [(name, rows) for name, rows in kept if rows]


@pytest.mark.parametrize("fmt", ["jsonl", "conll", "tasteset"])
def test_import_export_import_is_identity(original: sessionmaker[Session], tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"export{SUFFIX[fmt]}"
    with original.begin() as session, open(out, "w", encoding="utf-8", newline="") as f:
        export(session, fmt, f)
        expected = canonical(session, with_names=fmt != "tasteset")
    copy = make_session_factory(f"sqlite:///{tmp_path / 'copy.db'}")
    with copy.begin() as session:
        result = import_source(session, str(out))
        again = canonical(session, with_names=fmt != "tasteset")
    assert result.duplicates == 0
    assert again == (expected if fmt == "jsonl" else _confirmed_only(expected))
    with copy.begin() as session:
        second = io.StringIO(newline="")
        export(session, fmt, second)
    assert second.getvalue() == out.read_text(encoding="utf-8")


def test_conll_export_names_a_span_that_does_not_fit_the_tokens(factory: sessionmaker[Session]) -> None:
    from storage.schema import SpanRow

    with factory.begin() as session:
        add_sentences(session, ["2 cups flour"])
        confirm_sentence(session, 1, [])
        session.add(SpanRow(sentence_id=1, start=8, end=12, label="FOOD", source="human"))
    with factory.begin() as session, pytest.raises(ExportError, match="sentence 1 cannot be written as IOB2"):
        export(session, "conll", io.StringIO())
