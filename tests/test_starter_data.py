"""The starter data that ships in data/: valid, token-aligned, covering every label."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ner_core.data import Example, line_examples
from ner_core.spans import LABELS, Span, check_spans, spans_to_tags, tokenize

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
STARTER = DATA_DIR / "starter_recipes.jsonl"


def _examples() -> list[Example]:
    records = [json.loads(line) for line in STARTER.read_text(encoding="utf-8").splitlines()]
    return [
        Example(r["text"], tuple(Span(s["start"], s["end"], s["label"]) for s in r["spans"]))
        for r in records
    ]


EXAMPLES = _examples()


def test_at_least_forty_recipes() -> None:
    assert len(EXAMPLES) >= 40


def test_records_have_text_spans_and_recipe_name() -> None:
    for line in STARTER.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert set(record) == {"text", "spans", "recipe"}
        assert record["recipe"].strip()
        assert all(set(s) == {"start", "end", "label"} for s in record["spans"])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.text.split("\n")[0][:40])
def test_spans_are_valid_and_fit_tokens(example: Example) -> None:
    check_spans(example.text, example.spans, LABELS)
    spans_to_tags(example.text, tokenize(example.text), example.spans)
    for span in example.spans:
        covered = example.text[span.start:span.end]
        assert covered == covered.strip(), f"span {covered!r} has surrounding whitespace"
        assert "\n" not in covered, f"span {covered!r} crosses a line break"


def test_every_label_appears() -> None:
    seen = {s.label for e in EXAMPLES for s in e.spans}
    assert seen == set(LABELS)


def test_lines_split_cleanly() -> None:
    lines = line_examples(EXAMPLES)
    assert len(lines) >= 300
    assert all(ex.spans for ex in lines), "every ingredient line has at least one entity"


def test_jsonl_is_built_from_the_source() -> None:
    result = subprocess.run(
        [sys.executable, str(DATA_DIR / "build_starter.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
