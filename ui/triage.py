"""Error triage: each disagreement between gold and predicted spans, classed (no Streamlit)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ner_core.spans import Span

MISSED = "missed"
SPURIOUS = "spurious"
WRONG_TYPE = "wrong type"
WRONG_BOUNDARY = "wrong boundary"
KINDS = (MISSED, SPURIOUS, WRONG_TYPE, WRONG_BOUNDARY)


@dataclass(frozen=True)
class Disagreement:
    """One gold/predicted mismatch in a sentence; either side may be absent."""

    kind: str
    gold: Span | None
    predicted: Span | None


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def classify(gold: Sequence[Span], predicted: Sequence[Span]) -> list[Disagreement]:
    """Every disagreement: same boundaries but another label is a wrong type; overlapping
    but different boundaries a wrong boundary; a gold span no prediction touches is
    missed; a prediction no gold span touches is spurious. Exact matches are left out."""
    exact = set(gold) & set(predicted)
    golds = [g for g in sorted(gold) if g not in exact]
    preds = [p for p in sorted(predicted) if p not in exact]
    found: list[Disagreement] = []
    for p in list(preds):
        twin = next((g for g in golds if (g.start, g.end) == (p.start, p.end)), None)
        if twin is not None:
            found.append(Disagreement(WRONG_TYPE, twin, p))
            golds.remove(twin)
            preds.remove(p)
    for p in list(preds):
        near = next((g for g in golds if _overlaps(g, p)), None)
        if near is not None:
            found.append(Disagreement(WRONG_BOUNDARY, near, p))
            golds.remove(near)
            preds.remove(p)
    found += [Disagreement(MISSED, g, None) for g in golds]
    found += [Disagreement(SPURIOUS, None, p) for p in preds]
    return sorted(found, key=lambda d: (d.gold or d.predicted).start)  # type: ignore[union-attr]


def describe(text: str, span: Span | None) -> str:
    """A span as '“text” LABEL', or an em dash when absent."""
    return "—" if span is None else f"“{text[span.start:span.end]}” {span.label}"
