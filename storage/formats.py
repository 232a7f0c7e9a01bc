"""Parsing the three import formats into records; nothing here touches the database.

- TASTEset CSV: one recipe per row, split into its ingredient lines.
- JSONL: ``{"text": str, "spans": [{"start", "end", "label"}], "recipe": str}`` per line.
  A text may hold several ingredient lines (``\n``-separated); each record is a recipe,
  unless records share a ``"recipe"`` name, which joins them. Without ``"spans"`` the
  sentences are unlabelled.
- CoNLL IOB2: ``TOKEN TAG`` per line (first and last column), a blank line after each
  sentence. The text is the tokens joined by single spaces, unless a ``# text = ...``
  comment precedes the sentence, whose text the tokens are then located in (so our own
  exports round-trip exactly). ``# recipe = NAME`` or ``-DOCSTART-`` starts a new recipe.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ner_core.data import DataFormatError, Example, parse_tasteset_row, split_lines
from ner_core.spans import LABELS, Span, Token, check_spans, tags_to_spans
from storage.sentences import InvalidSpansError, validate_spans


class ImportFormatError(ValueError):
    """A malformed record; names the file, the line and the reason."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source} line {line}: {reason}; nothing was imported, fix the record and retry")


@dataclass(frozen=True)
class Record:
    """One sentence read from a file: spans are None when unlabelled; group names its recipe."""

    text: str
    spans: tuple[Span, ...] | None
    group: str
    line: int


def _checked(text: str, spans: Sequence[Span] | None, *, source: str, line: int) -> tuple[Span, ...] | None:
    """Validated spans of a one-line record (None stays None), or ImportFormatError at line."""
    if spans is None:
        return None
    try:
        return tuple(validate_spans(text, spans))
    except InvalidSpansError as e:
        raise ImportFormatError(source, line, str(e)) from e


def _line_records(text: str, spans: Sequence[Span] | None, *, group: str, source: str, line: int,
                  count_lines: bool) -> list[Record]:
    """The ingredient lines of a (possibly multi-line) text as Records; with count_lines,
    the file line of each advances with the line breaks before it (CSV fields)."""
    if "\r" in text:
        raise ImportFormatError(source, line, "text contains a carriage return; use \\n line breaks")
    try:
        # Checked on the whole text first, so an offset past the end is named as such.
        checked = check_spans(text, spans or (), LABELS)
        lines = split_lines(Example(text, tuple(checked)))
    except ValueError as e:  # DataFormatError and the span checks
        raise ImportFormatError(source, line, str(e)) from e
    if not lines:
        raise ImportFormatError(source, line, "text is empty")
    records = []
    for item in lines:
        at = line + text.count("\n", 0, item.offset) if count_lines else line
        line_spans = None if spans is None else item.example.spans
        records.append(Record(item.example.text, _checked(item.example.text, line_spans, source=source, line=at),
                              group, at))
    return records


def parse_tasteset(text: str, *, source: str, name: str) -> list[Record]:
    """Records of a TASTEset CSV; recipes are grouped as ``"{name} row {n}"``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or header[:2] != ["ingredients", "ingredients_entities"]:
            raise ImportFormatError(source, 1, f"header must be 'ingredients,ingredients_entities', got {header}")
        records: list[Record] = []
        row_start = reader.line_num + 1
        for row_number, row in enumerate(reader, start=1):
            records.extend(_tasteset_row(row, source=source, line=row_start, group=f"{name} row {row_number}"))
            row_start = reader.line_num + 1
    except csv.Error as e:
        raise ImportFormatError(source, reader.line_num, f"broken CSV: {e}") from e
    return records


def _tasteset_row(row: list[str], *, source: str, line: int, group: str) -> list[Record]:
    """The ingredient lines of one TASTEset row (the row starts at file line ``line``)."""
    if len(row) != 2:
        raise ImportFormatError(source, line, f"expected 2 columns, got {len(row)}")
    try:
        example = parse_tasteset_row(row[0], row[1], where=f"{source} line {line}")
    except DataFormatError as e:
        raise ImportFormatError(source, line, str(e.__cause__ or e)) from e
    return _line_records(example.text, example.spans, group=group, source=source, line=line, count_lines=True)


def parse_jsonl(lines: Iterable[str], *, source: str, name: str) -> list[Record]:
    """Records of a JSONL file; a line without ``"recipe"`` is recipe ``"{name} line {n}"``."""
    records = []
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            records += _jsonl_records(raw, source=source, line=number, default_group=f"{name} line {number}")
    return records


def _jsonl_records(raw: str, *, source: str, line: int, default_group: str) -> list[Record]:
    """The sentences of one JSONL line."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ImportFormatError(source, line, f"bad JSON: {e.msg} at column {e.colno}") from e
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise ImportFormatError(source, line, 'expected an object with a string "text"')
    group = obj.get("recipe", default_group)
    if not isinstance(group, str) or not group.strip():
        raise ImportFormatError(source, line, '"recipe" must be a non-empty string')
    spans = None if "spans" not in obj else _jsonl_spans(obj["spans"], source=source, line=line)
    return _line_records(obj["text"], spans, group=group, source=source, line=line, count_lines=False)


def _jsonl_spans(items: Any, *, source: str, line: int) -> list[Span]:
    """The spans list of a JSONL record."""
    if not isinstance(items, list):
        raise ImportFormatError(source, line, '"spans" must be a list')
    spans = []
    for item in items:
        ok = isinstance(item, dict) and all(
            isinstance(item.get(k), int) and not isinstance(item.get(k), bool) for k in ("start", "end")
        ) and isinstance(item.get("label"), str)
        if not ok:
            raise ImportFormatError(source, line, f'each span needs integer "start", "end" and a string "label", '
                                                  f"got {item!r}")
        try:
            spans.append(Span(item["start"], item["end"], item["label"]))
        except ValueError as e:
            raise ImportFormatError(source, line, str(e)) from e
    return spans


@dataclass
class _ConllSentence:
    """Tokens and tags collected so far for one CoNLL sentence."""

    first_line: int
    text: str | None
    words: list[str]
    tags: list[str]


def parse_conll(lines: Iterable[str], *, source: str, name: str) -> list[Record]:
    """Records of a CoNLL IOB2 file (see the module docstring for the dialect)."""
    records: list[Record] = []
    group, documents = name, 0
    current: _ConllSentence | None = None
    pending_text: str | None = None
    for number, raw in enumerate(lines, start=1):
        fields = raw.split()
        if current is not None and not fields:
            records.append(_conll_record(current, group, source))
            current = None
        if not fields:
            continue
        if raw.startswith("#") and len(fields) != 2:
            key, _, value = raw[1:].partition("=")
            if key.strip() == "recipe" and value.strip():
                group = value.strip()
            elif key.strip() == "text":
                pending_text = value.strip("\r\n").removeprefix(" ")
            continue
        if fields[0] == "-DOCSTART-":
            documents += 1
            group = f"{name} document {documents}"
            continue
        if len(fields) < 2:
            raise ImportFormatError(source, number, f"expected 'TOKEN TAG', got {raw.strip()!r}")
        if current is None:
            current, pending_text = _ConllSentence(number, pending_text, [], []), None
        _check_tag(fields[-1], current.tags[-1] if current.tags else "O", source=source, line=number)
        current.words.append(fields[0])
        current.tags.append(fields[-1])
    if current is not None:
        records.append(_conll_record(current, group, source))
    return records


def _check_tag(tag: str, previous: str, *, source: str, line: int) -> None:
    """Reject a tag outside the IOB2 inventory or an I- that continues nothing."""
    prefix, _, label = tag.partition("-")
    if tag != "O" and (prefix not in ("B", "I") or label not in LABELS):
        raise ImportFormatError(source, line, f"unknown tag {tag!r}; use O, B-X or I-X with X one of "
                                              f"{', '.join(LABELS)}")
    if prefix == "I" and previous not in (f"B-{label}", f"I-{label}"):
        raise ImportFormatError(source, line, f"broken IOB2: {tag} follows {previous}; an entity starts with B-")


def _conll_record(sentence: _ConllSentence, group: str, source: str) -> Record:
    """A finished CoNLL sentence as a Record with character offsets."""
    text = sentence.text if sentence.text is not None else " ".join(sentence.words)
    tokens: list[Token] = []
    position = 0
    for word in sentence.words:
        while position < len(text) and text[position].isspace():
            position += 1
        if not text.startswith(word, position):
            raise ImportFormatError(source, sentence.first_line, f"token {word!r} is not next in the "
                                                                 f"'# text' line at offset {position}")
        tokens.append(Token(word, position, position + len(word)))
        position += len(word)
    if text[position:].strip():
        raise ImportFormatError(source, sentence.first_line, f"'# text' continues after the last token: "
                                                             f"{text[position:]!r}")
    spans = tags_to_spans(tokens, sentence.tags)
    return _line_records(text, spans, group=group, source=source, line=sentence.first_line, count_lines=False)[0]
