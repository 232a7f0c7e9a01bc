"""Build data/starter_recipes.jsonl from the readable data/starter_source.txt.

Usage: ``python data/build_starter.py`` (writes the JSONL) or ``--check`` (exit 1 if the
JSONL on disk is out of date). Each entity in the source is written inline as
``[text|LABEL]``; the script strips the markup and records half-open character offsets.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
SOURCE = DATA_DIR / "starter_source.txt"
TARGET = DATA_DIR / "starter_recipes.jsonl"

_MARK_RE = re.compile(r"\[([^\[\]|]+)\|([A-Z_]+)\]")


@dataclass(frozen=True)
class Recipe:
    """One recipe of the source: its title, ingredient text and spans."""

    title: str
    text: str
    spans: list[dict[str, int | str]]


def parse_line(marked: str, *, where: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and ``(start, end, label)`` spans of one marked-up line."""
    plain: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    length = 0
    for m in _MARK_RE.finditer(marked):
        before = marked[pos:m.start()]
        plain.append(before)
        length += len(before)
        plain.append(m.group(1))
        spans.append((length, length + len(m.group(1)), m.group(2)))
        length += len(m.group(1))
        pos = m.end()
    plain.append(marked[pos:])
    text = "".join(plain)
    if any(ch in text for ch in "[]|"):
        raise ValueError(f"{where}: unbalanced markup in {marked!r}")
    return text, spans


def parse_source(source: str) -> list[Recipe]:
    """Recipes of the source text: ``## title`` then lines, a blank line ends one."""
    recipes: list[Recipe] = []
    title: str | None = None
    lines: list[tuple[str, list[tuple[int, int, str]]]] = []

    def flush() -> None:
        if title is None or not lines:
            return
        text, spans, offset = [], [], 0
        for line_text, line_spans in lines:
            spans += [{"start": s + offset, "end": e + offset, "label": lab} for s, e, lab in line_spans]
            text.append(line_text)
            offset += len(line_text) + 1
        recipes.append(Recipe(title, "\n".join(text), spans))

    for number, raw in enumerate(source.splitlines(), start=1):
        if raw.startswith("## "):
            flush()
            title, lines = raw[3:].strip(), []
        elif raw.startswith("#"):
            continue
        elif not raw.strip():
            flush()
            title, lines = None, []
        elif title is None:
            raise ValueError(f"line {number}: ingredient line outside a recipe: {raw!r}")
        else:
            lines.append(parse_line(raw.rstrip(), where=f"line {number}"))
    flush()
    return recipes


def render_jsonl(recipes: list[Recipe]) -> str:
    """The JSONL text: one ``{"text", "spans", "recipe"}`` object per recipe."""
    return "".join(
        json.dumps({"text": r.text, "spans": r.spans, "recipe": r.title}, ensure_ascii=False) + "\n"
        for r in recipes
    )


def main(argv: list[str] | None = None) -> int:
    """Write or check the JSONL file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSONL is out of date")
    args = parser.parse_args(argv)
    rendered = render_jsonl(parse_source(SOURCE.read_text(encoding="utf-8")))
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != rendered:
            sys.stderr.write(f"{TARGET} is out of date; run python data/build_starter.py\n")
            return 1
        return 0
    TARGET.write_text(rendered, encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET} ({rendered.count(chr(10))} recipes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
