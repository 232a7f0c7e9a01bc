"""Label colours and key bindings shared by every page (no Streamlit here)."""
from __future__ import annotations

from ner_core.spans import LABELS

# Pastel backgrounds that keep dark text readable; one per TASTEset type.
LABEL_COLORS: dict[str, str] = {
    "FOOD": "#ffd28a",
    "QUANTITY": "#9fd8f5",
    "UNIT": "#b9e6a6",
    "PROCESS": "#f5b3c8",
    "PHYSICAL_QUALITY": "#d3c2f2",
    "COLOR": "#f7e480",
    "TASTE": "#ffb59a",
    "PURPOSE": "#a8e3d6",
    "PART": "#d8d0c0",
}
assert set(LABEL_COLORS) == set(LABELS)

# Spans a model is less sure of than this are marked on the Label and Try-it pages.
LOW_CONFIDENCE = 0.6


def label_key(label: str) -> int:
    """The keyboard key (1-9) that assigns label in the span editor."""
    return LABELS.index(label) + 1
