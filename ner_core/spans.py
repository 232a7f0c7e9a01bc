"""Spans, tokens and the IOB2 tags between them.

One span currency everywhere: half-open character offsets ``(start, end, label)`` into
the text the user sees. BIO tags exist only at the model boundary.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple, Sequence

LABELS: tuple[str, ...] = (
    "FOOD",
    "QUANTITY",
    "UNIT",
    "PROCESS",
    "PHYSICAL_QUALITY",
    "COLOR",
    "TASTE",
    "PURPOSE",
    "PART",
)


@dataclass(frozen=True, order=True)
class Span:
    """An entity: half-open character offsets ``[start, end)`` and a label."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"span offsets must satisfy 0 <= start < end, got {self.start}..{self.end}")


class Token(NamedTuple):
    """A word of the recipe-aware tokenizer with its half-open character offsets (a
    tuple: prediction makes one per word of every text it tags)."""

    text: str
    start: int
    end: int


class SpanAlignmentError(ValueError):
    """A span whose boundaries fall inside a token, so it cannot be written as tags."""

    def __init__(self, text: str, span: Span, reason: str) -> None:
        self.span = span
        super().__init__(
            f"span {span.start}..{span.end} {span.label} {text[span.start:span.end]!r} {reason}"
        )


class OverlappingSpansError(ValueError):
    """Two spans share characters; IOB2 cannot express nested or crossing entities."""


_VULGAR_FRACTIONS = "¼½¾⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞"
# Order matters: numbers (decimals, a/b fractions, vulgar fractions) before words, and
# every other non-space character is a token of its own ("-", "(", ",", ...), which is
# what lets "2-3", "14.5-oz" and "(8 ounce)" split at every boundary an annotator uses.
_TOKEN_RE = re.compile(
    rf"""
      \d+(?:[.,]\d+)*(?:/\d+)?   # 2, 14.5, 1,000, 1/2
    | [{_VULGAR_FRACTIONS}]       # ½
    | [^\W\d_]+(?:'[^\W\d_]+)?   # words, with one inner apostrophe (baker's)
    | \S                          # any other single character
    """,
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    """Split text into recipe-aware word tokens with character offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def check_spans(text: str, spans: Sequence[Span], labels: Sequence[str] = LABELS) -> list[Span]:
    """Return spans sorted; raise ValueError naming the first one that is out of range,
    has an unknown label, or overlaps another."""
    ordered = sorted(spans)
    previous: Span | None = None
    for span in ordered:
        if span.end > len(text):
            raise ValueError(f"span {span.start}..{span.end} ends past the text (length {len(text)})")
        if span.label not in labels:
            raise ValueError(f"span {span.start}..{span.end} has unknown label {span.label!r}; known: {', '.join(labels)}")
        if previous is not None and span.start < previous.end:
            raise OverlappingSpansError(
                f"spans {previous.start}..{previous.end} {previous.label} and "
                f"{span.start}..{span.end} {span.label} overlap"
            )
        previous = span
    return ordered


def spans_to_tags(text: str, tokens: Sequence[Token], spans: Sequence[Span]) -> list[str]:
    """IOB2 tags for tokens; raise SpanAlignmentError for a span that does not fit them."""
    tags = ["O"] * len(tokens)
    starts = {tok.start: i for i, tok in enumerate(tokens)}
    ends = {tok.end: i for i, tok in enumerate(tokens)}
    for span in check_spans(text, spans, labels=sorted({s.label for s in spans})):
        # Annotators sometimes include surrounding spaces; those are not tokens.
        core = trim_span(text, span)
        first, last = starts.get(core.start), ends.get(core.end)
        if first is None or last is None:
            where = "start" if first is None else "end"
            raise SpanAlignmentError(text, span, f"has its {where} inside a token")
        tags[first] = f"B-{span.label}"
        for i in range(first + 1, last + 1):
            tags[i] = f"I-{span.label}"
    return tags


def trim_span(text: str, span: Span) -> Span:
    """The span without leading and trailing whitespace."""
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        raise SpanAlignmentError(text, span, "covers only whitespace")
    return Span(start, end, span.label)


def tags_to_spans(tokens: Sequence[Token], tags: Sequence[str]) -> list[Span]:
    """Spans from IOB2 tags, chunked as seqeval's strict IOB2 mode does: a span starts at
    B-X and runs over the I-X that follow; an I-X that continues nothing is dropped."""
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
    spans: list[Span] = []
    open_label: str | None = None
    open_start = open_end = 0
    for tok, tag in zip(tokens, tags):
        prefix, _, label = tag.partition("-")
        if prefix not in ("B", "I") and tag != "O":
            raise ValueError(f"not an IOB2 tag: {tag!r}")
        if prefix == "I" and open_label == label:
            open_end = tok.end
            continue
        if open_label is not None:
            spans.append(Span(open_start, open_end, open_label))
        open_label = None
        if prefix == "B":
            open_label, open_start, open_end = label, tok.start, tok.end
    if open_label is not None:
        spans.append(Span(open_start, open_end, open_label))
    return spans


def tag_names(labels: Sequence[str] = LABELS) -> list[str]:
    """The IOB2 tag inventory for labels: O first, then B-/I- per label."""
    return ["O"] + [f"{p}-{label}" for label in labels for p in ("B", "I")]
