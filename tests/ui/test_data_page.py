"""The Data page: uploads and URL imports are one transaction; exports; counts."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from sqlalchemy import func, select

from storage.schema import Sentence

TASTESET = Path(__file__).resolve().parents[3] / "shared" / "data" / "TASTEset.csv"


def count(factory) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Sentence))


def test_upload_a_jsonl_file(factory, app) -> None:
    at = app("data")
    before = count(factory)
    lines = [{"text": "3 sprigs fresh thyme", "spans": [{"start": 0, "end": 1, "label": "QUANTITY"}]},
             {"text": "1 pinch saffron"}]
    payload = "".join(json.dumps(r) + "\n" for r in lines).encode()
    at.file_uploader[0].set_value(("mine.jsonl", payload, "application/jsonl"))
    at.run()
    next(b for b in at.button if b.label == "Import file").click()
    at.run()
    assert not at.exception
    assert count(factory) == before + 2
    assert "mine.jsonl (jsonl): 2 sentences added" in at.success[0].value


def test_a_malformed_upload_changes_nothing(factory, app) -> None:
    at = app("data")
    before = count(factory)
    payload = b'{"text": "1 cup rice"}\n{"text": "2 eggs", "spans": [{"start": 0, "end": 99, "label": "FOOD"}]}\n'
    at.file_uploader[0].set_value(("bad.jsonl", payload, "application/jsonl"))
    at.run()
    next(b for b in at.button if b.label == "Import file").click()
    at.run()
    assert count(factory) == before
    assert "Nothing was imported" in at.error[0].value and "line 2" in at.error[0].value


def test_one_click_tasteset_import_checks_the_sha256(factory, app, monkeypatch) -> None:
    data = TASTESET.read_bytes()

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout=None: Response(data))
    at = app("data")
    before = count(factory)
    next(b for b in at.button if b.label == "Import TASTEset").click()
    at.run()
    assert not at.exception
    assert count(factory) > before + 3000
    assert at.success[0].value.startswith("TASTEset:")

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout=None: Response(data + b"x"))
    next(b for b in at.button if b.label == "Import TASTEset").click()
    at.run()
    assert "sha256" in at.error[0].value
    assert hashlib.sha256(data).hexdigest() != hashlib.sha256(data + b"x").hexdigest()


def test_export_offers_every_format(factory, app) -> None:
    at = app("data")
    for fmt, name in [("jsonl", "recipes.jsonl"), ("conll", "recipes.conll"), ("tasteset", "recipes_tasteset.csv")]:
        at.radio[0].set_value(fmt)
        at.run()
        (button,) = at.get("download_button")
        assert "Download" in button.proto.label and "sentences" in button.proto.label


def test_counts_are_charted(factory, app) -> None:
    at = app("data")
    assert len(at.get("vega_lite_chart")) >= 3
