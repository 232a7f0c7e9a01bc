"""Small display pieces more than one page uses."""
from __future__ import annotations

import html
from typing import Mapping

import streamlit as st

from ui.theme import LABEL_COLORS


def chip(text: str, color: str) -> str:
    """An inline coloured label chip as escaped HTML."""
    return (f'<span style="background:{html.escape(color)};color:#1f2330;border-radius:0.35rem;'
            f'padding:0.05rem 0.4rem;margin-right:0.3rem;font-size:0.8rem;white-space:nowrap">'
            f"{html.escape(text)}</span>")


def label_count_chips(counts: Mapping[str, int]) -> None:
    """Spans per label as a row of coloured chips."""
    chips = "".join(chip(f"{label} {n}", LABEL_COLORS.get(label, "#ddd")) for label, n in counts.items())
    st.html(f'<div style="line-height:1.9">{chips}</div>')


def show_flash(key: str) -> None:
    """Show, once, a (kind, message) pair a previous run left in session state under key."""
    flash = st.session_state.pop(key, None)
    if not flash:
        return
    kind, message = flash
    (st.success if kind == "success" else st.warning)(message)
