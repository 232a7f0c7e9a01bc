"""Entities as escaped HTML, per-line tables and downloads for the Try-it page (no Streamlit)."""
from __future__ import annotations

import csv
import html
import io
import json
from typing import Any, Protocol, Sequence

from ner_core.data import Example, split_lines
from ner_core.spans import LABELS
from ui.theme import LABEL_COLORS, LOW_CONFIDENCE

MAX_PASTE_CHARS = 20_000
TABLE_COLUMNS = ("line", *[label.lower() for label in LABELS])


class ScoredSpanLike(Protocol):
    """A predicted span (ner_core.decode.ScoredSpan fits)."""

    start: int
    end: int
    label: str
    confidence: float


def split_recipes(pasted: str) -> list[str]:
    """Recipes of a pasted text: blocks of non-blank lines separated by blank lines."""
    blocks, current = [], []
    for line in pasted.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def _text_html(text: str) -> str:
    """Escaped text with line breaks kept."""
    return html.escape(text).replace("\n", "<br>")


def _mark(text: str, span: ScoredSpanLike, *, low_confidence: float) -> str:
    """One highlighted entity; its label and confidence show on hover."""
    color = LABEL_COLORS.get(span.label, "#ddd")
    low = span.confidence < low_confidence
    title = f"{span.label} · {span.confidence:.0%} confidence" + (" (low)" if low else "")
    border = "2px dashed #c62828" if low else f"2px solid {color}"
    flag = '<b style="color:#c62828">?</b>' if low else ""
    return (
        f'<mark class="ent{" low" if low else ""}" data-label="{html.escape(span.label)}" '
        f'title="{html.escape(title)}" style="background:{color};border:{border};border-radius:0.3rem;'
        f'padding:0 0.15rem;color:#1f2330">{_text_html(text[span.start:span.end])}'
        f'<sup style="font-size:0.6rem;margin-left:0.15rem">{html.escape(span.label)}</sup>{flag}</mark>'
    )


def highlight_html(text: str, spans: Sequence[ScoredSpanLike], *, low_confidence: float = LOW_CONFIDENCE) -> str:
    """The text as HTML with every span highlighted; all of the text is escaped."""
    parts, pos = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos:  # overlapping predictions cannot be drawn; keep the first
            continue
        parts.append(_text_html(text[pos:span.start]))
        parts.append(_mark(text, span, low_confidence=low_confidence))
        pos = span.end
    parts.append(_text_html(text[pos:]))
    return f'<div class="highlighted" style="line-height:2;font-size:1.05rem">{"".join(parts)}</div>'


def legend_html() -> str:
    """A colour legend of the labels, with how low confidence is drawn."""
    items = "".join(
        f'<span style="background:{color};color:#1f2330;border-radius:0.3rem;padding:0.05rem 0.4rem;'
        f'margin:0 0.3rem 0.3rem 0;display:inline-block;font-size:0.8rem">{html.escape(label)}</span>'
        for label, color in LABEL_COLORS.items()
    )
    low = ('<span style="border:2px dashed #c62828;border-radius:0.3rem;padding:0 0.4rem;font-size:0.8rem">'
           f'low confidence (&lt; {LOW_CONFIDENCE:.0%}) <b style="color:#c62828">?</b></span>')
    return f"<div>{items}{low}</div>"


def ingredient_rows(text: str, spans: Sequence[ScoredSpanLike]) -> list[dict[str, str]]:
    """One row per ingredient line: the line, and the text of its entities per label."""
    rows = []
    for line in split_lines(Example(text)):
        end = line.offset + len(line.example.text)
        row = {column: "" for column in TABLE_COLUMNS}
        row["line"] = line.example.text
        for span in sorted(spans, key=lambda s: s.start):
            if line.offset <= span.start and span.end <= end:
                column = span.label.lower()
                piece = text[span.start:span.end]
                row[column] = f"{row[column]}; {piece}" if row[column] else piece
        rows.append(row)
    return rows


def results_json(recipes: Sequence[str], predictions: Sequence[Sequence[ScoredSpanLike]]) -> str:
    """Every recipe with its entities (offsets, label, text, confidence) as JSON."""
    payload: list[dict[str, Any]] = [
        {
            "text": text,
            "entities": [
                {"start": s.start, "end": s.end, "label": s.label, "text": text[s.start:s.end],
                 "confidence": round(float(s.confidence), 4)}
                for s in spans
            ],
        }
        for text, spans in zip(recipes, predictions)
    ]
    return json.dumps(payload, ensure_ascii=False, indent=2)


def results_csv(recipes: Sequence[str], predictions: Sequence[Sequence[ScoredSpanLike]]) -> str:
    """One CSV row per ingredient line, with the recipe number and a column per label."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["recipe", *TABLE_COLUMNS])
    writer.writeheader()
    for number, (text, spans) in enumerate(zip(recipes, predictions), start=1):
        for row in ingredient_rows(text, spans):
            writer.writerow({"recipe": number, **row})
    return out.getvalue()
