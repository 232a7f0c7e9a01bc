"""The span editor: a components-v2 custom component and its Python wrapper."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import streamlit as st

from ner_core.spans import LABELS, Span, tokenize
from ui.theme import LABEL_COLORS, LOW_CONFIDENCE

log = logging.getLogger(__name__)

_ASSETS = Path(__file__).resolve().parent / "assets"
ACTIONS = ("confirm", "skip", "undo")

_component = st.components.v2.component(
    "recipe_ner_span_editor",
    css=(_ASSETS / "span_editor.css").read_text(encoding="utf-8"),
    js=(_ASSETS / "span_editor.js").read_text(encoding="utf-8"),
)


@dataclass(frozen=True)
class EditorSpan:
    """A span shown in the editor; ``suggested`` ones are drawn with a dashed outline."""

    start: int
    end: int
    label: str
    suggested: bool = False
    confidence: float | None = None


@dataclass(frozen=True)
class EditorAction:
    """What the user did: confirm (with the edited spans), skip or undo."""

    type: str
    sentence_key: str
    spans: tuple[Span, ...]


def editor_data(
    text: str, spans: Sequence[EditorSpan], *, sentence_key: str, nonce: int = 0, autofocus: bool = True
) -> dict[str, Any]:
    """The JSON the component renders: text, tokens, spans and the label legend."""
    return {
        "sentence_key": sentence_key,
        "nonce": nonce,
        "text": text,
        "tokens": [{"start": t.start, "end": t.end} for t in tokenize(text)],
        "spans": [
            {"start": s.start, "end": s.end, "label": s.label, "suggested": s.suggested,
             "confidence": s.confidence}
            for s in sorted(spans, key=lambda s: s.start)
        ],
        "labels": [{"name": label, "color": LABEL_COLORS[label]} for label in LABELS],
        "low_confidence": LOW_CONFIDENCE,
        "autofocus": autofocus,
    }


def parse_action(raw: Any) -> EditorAction | None:
    """The component's trigger value as an EditorAction; None for anything malformed."""
    if not isinstance(raw, dict) or raw.get("type") not in ACTIONS:
        return None
    try:
        spans = tuple(Span(int(s["start"]), int(s["end"]), str(s["label"])) for s in raw.get("spans") or ())
    except (KeyError, TypeError, ValueError) as e:
        log.warning("span editor sent malformed spans %r: %s", raw.get("spans"), e)
        return None
    return EditorAction(str(raw["type"]), str(raw.get("sentence_key", "")), spans)


def span_editor(
    text: str,
    spans: Sequence[EditorSpan],
    *,
    sentence_key: str,
    nonce: int = 0,
    key: str = "span_editor",
) -> EditorAction | None:
    """Show the editor for one sentence; return the user's action on the rerun it causes."""
    result = _component(
        key=key,
        data=editor_data(text, spans, sentence_key=sentence_key, nonce=nonce),
        on_action_change=lambda: None,
    )
    return parse_action(result.get("action"))
