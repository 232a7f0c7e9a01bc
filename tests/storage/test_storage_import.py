"""Import: every malformed record rejects the whole file and leaves the database as it was."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ner_core.data import TASTESET_URL
from storage.db import make_session_factory
from storage.formats import ImportFormatError
from storage.importer import ChecksumMismatchError, ImportSourceError, import_source
from storage.stats import status_counts
from tests.storage.conftest import dump_content

REPO = Path(__file__).resolve().parents[2]

GOOD_JSONL = '{"text": "2 cups flour", "spans": [{"start": 0, "end": 1, "label": "QUANTITY"}]}\n'
GOOD_CONLL = "2\tB-QUANTITY\ncups\tB-UNIT\nflour\tB-FOOD\n\n"
GOOD_CSV = 'ingredients,ingredients_entities\n"1 egg\n2 cups flour\n","[{""start"": 0, ""end"": 1, ""type"": ""QUANTITY""}]"\n'


def _write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


MALFORMED = [
    # (file name, content, line, reason)
    ("bad.jsonl", GOOD_JSONL + '{"text": "1 egg", "spans": [\n', 2, "bad JSON"),
    ("bad.jsonl", GOOD_JSONL + '["1 egg"]\n', 2, 'string "text"'),
    ("bad.jsonl", GOOD_JSONL + '{"text": "1 egg", "spans": [{"start": 0, "end": 9, "label": "FOOD"}]}\n', 2,
     "ends past the text"),
    ("bad.jsonl", GOOD_JSONL + '{"text": "1 egg", "spans": [{"start": -1, "end": 1, "label": "FOOD"}]}\n', 2,
     "0 <= start < end"),
    ("bad.jsonl", GOOD_JSONL + '{"text": "1 egg", "spans": [{"start": 0, "end": 5, "label": "FOOD"}, '
     '{"start": 2, "end": 5, "label": "FOOD"}]}\n', 2, "overlap"),
    ("bad.jsonl", GOOD_JSONL + '{"text": "1 egg", "spans": [{"start": 2, "end": 5, "label": "SPICE"}]}\n', 2,
     "unknown label"),
    ("bad.jsonl", GOOD_JSONL + '{"text": "1 egg", "spans": [{"start": 2, "end": 4, "label": "FOOD"}]}\n', 2,
     "inside a token"),
    ("bad.jsonl", GOOD_JSONL + '{"text": "1 egg", "spans": [{"start": "2", "end": 5, "label": "FOOD"}]}\n', 2,
     "integer"),
    ("bad.jsonl", GOOD_JSONL + '{"text": "1 egg\\n2 eggs", "spans": [{"start": 2, "end": 8, "label": "FOOD"}]}\n',
     2, "crosses a line break"),
    ("bad.jsonl", GOOD_JSONL + '{"text": "  "}\n', 2, "empty"),
    ("bad.conll", GOOD_CONLL + "1\tB-QUANTITY\negg\tI-FOOD\n", 6, "broken IOB2: I-FOOD follows B-QUANTITY"),
    ("bad.conll", GOOD_CONLL + "egg\tI-FOOD\n", 5, "broken IOB2"),
    ("bad.conll", GOOD_CONLL + "egg\tB-SPICE\n", 5, "unknown tag"),
    ("bad.conll", GOOD_CONLL + "egg\tX-FOOD\n", 5, "unknown tag"),
    ("bad.conll", GOOD_CONLL + "egg\n", 5, "expected 'TOKEN TAG'"),
    ("bad.conll", GOOD_CONLL + "# text = 1 egg\n1\tO\negs\tB-FOOD\n", 6, "is not next"),
    ("bad.conll", GOOD_CONLL + "bak\tB-FOOD\ner\tI-FOOD\n" + "\n", 5, None),  # "bak er" is fine: two tokens
    ("bad.csv", GOOD_CSV + '"1 egg","[{""start"": 0, ""end"": 7, ""type"": ""FOOD""}]"\n', 5, "ends past"),
    ("bad.csv", GOOD_CSV + '"2 eggs","not json"\n', 5, "Expecting value"),
    ("bad.csv", GOOD_CSV + '"2 eggs","[{""start"": 2, ""end"": 6, ""type"": ""EGGS""}]"\n', 5, "unknown label"),
    ("bad.csv", GOOD_CSV + '"2 eggs"\n', 5, "expected 2 columns"),
    ("bad.csv", GOOD_CSV + '"2 eggs,"[]\n', 5, "expected 2 columns"),  # unterminated quote
    ("bad.csv", "text,entities\n", 1, "header must be"),
    ("bad.csv", GOOD_CSV + '"3 eggs\n1 cup milk\n4 cups water","[{""start"": 9, ""end"": 12, ""type"": ""UNIT""},'
     '{""start"": 22, ""end"": 24, ""type"": ""UNIT""}]"\n', 7, "inside a token"),
]


@pytest.fixture(scope="module")
def starter_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file holding the starter recipes, built once for the module."""
    path = tmp_path_factory.mktemp("starter") / "starter.db"
    factory = make_session_factory(f"sqlite:///{path}")
    with factory.begin() as session:
        import_source(session, str(REPO / "data" / "starter_recipes.jsonl"))
    factory.kw["bind"].dispose()  # checkpoints the WAL into the file
    return path


@pytest.mark.parametrize("name, content, line, reason", MALFORMED)
def test_a_malformed_record_rejects_the_file_and_leaves_the_database_unchanged(
    starter_db: Path, tmp_path: Path, name: str, content: str, line: int, reason: str | None
) -> None:
    db_path = tmp_path / "studio.db"
    shutil.copy(starter_db, db_path)
    factory = make_session_factory(f"sqlite:///{db_path}")
    before = dump_content(db_path)
    assert len(before) > 1000
    source = _write(tmp_path, name, content)
    if reason is None:  # control case: the file is well formed
        with factory.begin() as session:
            assert import_source(session, source).added > 0
        return
    with pytest.raises(ImportFormatError) as caught:
        with factory.begin() as session:
            import_source(session, source)
    assert (caught.value.line, caught.value.source) == (line, source)
    assert reason in caught.value.reason
    assert f"line {line}:" in str(caught.value)
    assert dump_content(db_path) == before


def test_duplicates_are_skipped_and_counted(factory: sessionmaker[Session], tmp_path: Path) -> None:
    source = _write(tmp_path, "a.jsonl", GOOD_JSONL + '{"text": "1 egg"}\n{"text": "2  cups flour"}\n')
    with factory.begin() as session:
        first = import_source(session, source)
        again = import_source(session, source)
        assert status_counts(session)["confirmed"] == 1 and status_counts(session)["unlabelled"] == 1
    assert (first.records, first.added, first.duplicates, first.recipes) == (3, 2, 1, 2)
    assert (again.added, again.duplicates, again.recipes) == (0, 3, 0)


def test_conll_without_text_comment_joins_tokens_with_single_spaces(factory: sessionmaker[Session],
                                                                    tmp_path: Path) -> None:
    from storage.datasets import evaluation_examples, training_snapshot

    source = _write(tmp_path, "a.conll", "-DOCSTART- O\n\n14.5-oz\tB-UNIT\ncan\tI-UNIT\n(\tO\n\n")
    with factory.begin() as session:
        import_source(session, source)
        examples = training_snapshot(session).examples + evaluation_examples(session)
    assert [(ex.text, [(s.start, s.end, s.label) for s in ex.spans]) for ex in examples] == [
        ("14.5-oz can (", [(0, 11, "UNIT")])]


def test_url_import_checks_the_sha256(factory: sessionmaker[Session], db_path: Path, tasteset_path: Path) -> None:
    real = tasteset_path.read_bytes()
    before = dump_content(db_path)
    with pytest.raises(ChecksumMismatchError, match="expected e5d455b5"):
        with factory.begin() as session:
            import_source(session, TASTESET_URL, fetch=lambda url: real[:-10])
    assert dump_content(db_path) == before
    with pytest.raises(ImportSourceError, match="no sha256 known"):
        with factory.begin() as session:
            import_source(session, "https://example.org/other.csv", fetch=lambda url: real)
    with factory.begin() as session:
        result = import_source(session, TASTESET_URL, fetch=lambda url: real)
    assert result.format == "tasteset" and result.added == 3116


def test_local_file_with_a_given_sha256(factory: sessionmaker[Session], tmp_path: Path) -> None:
    source = _write(tmp_path, "a.jsonl", GOOD_JSONL)
    with pytest.raises(ChecksumMismatchError):
        with factory.begin() as session:
            import_source(session, source, sha256="0" * 64)
    with factory.begin() as session:
        assert import_source(session, source, sha256=hashlib.sha256(GOOD_JSONL.encode()).hexdigest()).added == 1


@pytest.mark.parametrize("source, message", [("missing.jsonl", "cannot read"), ("a.xlsx", "cannot tell the format")])
def test_unreadable_sources_say_what_to_do(factory: sessionmaker[Session], tmp_path: Path, source: str,
                                           message: str) -> None:
    with factory.begin() as session, pytest.raises(ImportSourceError, match=message):
        import_source(session, str(tmp_path / source))


def test_cli_reports_a_malformed_file_in_one_line(tmp_path: Path) -> None:
    source = _write(tmp_path, "bad.jsonl", json.dumps({"text": "1 egg", "spans": [{"start": 0, "end": 1,
                                                                                    "label": "EGG"}]}) + "\n")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "storage", "import", source], capture_output=True, text=True,
                            cwd=REPO, env=env)
    assert result.returncode == 1
    assert f"error: {source} line 1: span 0..1 has unknown label 'EGG'" in result.stderr
