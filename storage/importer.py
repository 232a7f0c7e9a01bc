"""Importing a file or URL into the database in one transaction."""
from __future__ import annotations

import hashlib
import logging
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.error import URLError

from sqlalchemy.orm import Session

from ner_core.data import TASTESET_SHA256, TASTESET_URL
from storage.formats import Record, parse_conll, parse_jsonl, parse_tasteset
from storage.schema import SpanSource
from storage.sentences import NewSentence, add_recipe

log = logging.getLogger(__name__)

FORMATS = ("tasteset", "jsonl", "conll")
_SUFFIX_FORMATS = {".csv": "tasteset", ".jsonl": "jsonl", ".json": "jsonl", ".conll": "conll",
                   ".iob": "conll", ".iob2": "conll", ".bio": "conll", ".txt": "conll"}
KNOWN_CHECKSUMS = {TASTESET_URL: TASTESET_SHA256}
Fetch = Callable[[str], bytes]


class ImportSourceError(ValueError):
    """The file or URL to import cannot be read, or its format cannot be told."""


class ChecksumMismatchError(ImportSourceError):
    """A downloaded file is not the one expected: its sha256 differs."""


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    source: str
    format: str
    records: int
    added: int
    duplicates: int
    recipes: int


def guess_format(name: str) -> str:
    """The import format for a file name, by its suffix."""
    suffix = Path(name.split("?")[0]).suffix.lower()
    if suffix not in _SUFFIX_FORMATS:
        raise ImportSourceError(f"cannot tell the format of {name!r} from its suffix; pass one of {', '.join(FORMATS)}")
    return _SUFFIX_FORMATS[suffix]


def download(url: str) -> bytes:
    """The bytes at url."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except (URLError, OSError) as e:
        raise ImportSourceError(f"could not download {url}: {e}; download it by hand and import the file") from e


def read_source(source: str, *, sha256: str | None = None, fetch: Fetch = download) -> bytes:
    """The bytes of a local path or an http(s) URL; a URL needs a known or given sha256."""
    if source.startswith(("http://", "https://")):
        expected = sha256 or KNOWN_CHECKSUMS.get(source)
        if expected is None:
            raise ImportSourceError(f"no sha256 known for {source}; pass the expected sha256 to check the download")
        data = fetch(source)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected.lower():
            raise ChecksumMismatchError(f"{source} has sha256 {actual}, expected {expected}; the file changed or the "
                                        "download was corrupted, nothing was imported")
        return data
    try:
        data = Path(source).read_bytes()
    except OSError as e:
        raise ImportSourceError(f"cannot read {source}: {e.strerror}") from e
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
        raise ChecksumMismatchError(f"{source} does not have sha256 {sha256}; nothing was imported")
    return data


def parse_records(data: bytes, *, fmt: str, source: str) -> list[Record]:
    """Every record of a file's bytes, validated; the first bad one raises ImportFormatError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportSourceError(f"{source} is not UTF-8 text (byte {e.start}); save it as UTF-8") from e
    name = Path(source.split("?")[0]).name or source
    if fmt == "tasteset":
        return parse_tasteset(text, source=source, name=name)
    if fmt == "jsonl":
        return parse_jsonl(text.splitlines(), source=source, name=name)
    if fmt == "conll":
        return parse_conll(text.splitlines(), source=source, name=name)
    raise ImportSourceError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def store_records(session: Session, records: list[Record], *, source: str) -> tuple[int, int, int]:
    """Add records grouped by recipe; return (added, duplicates, recipes created)."""
    groups: dict[str, list[NewSentence]] = {}
    for record in records:
        groups.setdefault(record.group, []).append(NewSentence(record.text, record.spans))
    added = duplicates = recipes = 0
    for name, items in groups.items():
        result = add_recipe(session, items, name=name, source=source, span_source=SpanSource.IMPORT)
        added, duplicates = added + result.added, duplicates + result.duplicates
        recipes += result.recipe_id is not None
    return added, duplicates, recipes


def import_source(
    session: Session, source: str, *, fmt: str | None = None, sha256: str | None = None, fetch: Fetch = download
) -> ImportResult:
    """Read, validate and add a whole file or URL; raises before writing anything if a
    record is malformed. The caller's transaction makes the import all or nothing."""
    fmt = fmt or guess_format(source)
    records = parse_records(read_source(source, sha256=sha256, fetch=fetch), fmt=fmt, source=source)
    added, duplicates, recipes = store_records(session, records, source=source)
    log.info("imported %s: %d new sentences, %d duplicates skipped", source, added, duplicates)
    return ImportResult(source, fmt, len(records), added, duplicates, recipes)
