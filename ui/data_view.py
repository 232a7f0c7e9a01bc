"""Pieces of the Data page: importing uploads and URLs, exporting, and the count charts."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Mapping, Sequence

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from storage.exporter import export
from storage.importer import guess_format, parse_records, store_records
from storage.stats import DayCount

EXPORT_FILES = {"jsonl": ("recipes.jsonl", "application/jsonl"), "conll": ("recipes.conll", "text/plain"),
                "tasteset": ("recipes_tasteset.csv", "text/csv")}
UPLOAD_TYPES = ["csv", "jsonl", "json", "conll", "iob", "iob2", "bio", "txt"]
MAX_UPLOAD_MB = 20


@dataclass(frozen=True)
class UploadResult:
    """What importing an uploaded file did."""

    name: str
    format: str
    records: int
    added: int
    duplicates: int


def import_upload(session: Session, name: str, data: bytes, *, fmt: str | None) -> UploadResult:
    """Validate and add an uploaded file; raises (nothing written) on the first bad record."""
    fmt = fmt or guess_format(name)
    records = parse_records(data, fmt=fmt, source=name)
    added, duplicates, _ = store_records(session, records, source=f"upload: {name}")
    return UploadResult(name, fmt, len(records), added, duplicates)


def export_text(session: Session, fmt: str) -> tuple[str, int]:
    """The database in fmt as text, and how many sentences it holds."""
    out = io.StringIO()
    result = export(session, fmt, out)
    return out.getvalue(), result.sentences


def counts_chart(counts: Mapping[str, int], *, title: str, colors: Mapping[str, str] | None = None) -> alt.Chart:
    """A horizontal bar chart of counts."""
    frame = pd.DataFrame({"name": list(counts), "count": list(counts.values())})
    encoding: dict[str, object] = {"y": alt.Y("name:N", sort=None, title=None), "x": alt.X("count:Q", title=None),
                                   "tooltip": ["name", "count"]}
    if colors:
        encoding["color"] = alt.Color("name:N", legend=None, scale=alt.Scale(domain=list(colors),
                                                                              range=list(colors.values())))
    return alt.Chart(frame, title=title).mark_bar().encode(**encoding)


def over_time_chart(days: Sequence[DayCount]) -> alt.Chart | None:
    """Cumulative confirmed sentences per day, or None without any."""
    if not days:
        return None
    frame = pd.DataFrame([{"day": pd.Timestamp(d.day), "confirmed": d.cumulative} for d in days])
    return alt.Chart(frame, title="Sentences confirmed in the app, cumulative").mark_line(point=True).encode(
        x=alt.X("day:T", title=None), y=alt.Y("confirmed:Q", title=None), tooltip=["day", "confirmed"])


def show_chart(chart: alt.Chart | None, empty_message: str) -> None:
    """An Altair chart, or a caption when there is nothing to draw."""
    if chart is None:
        st.caption(empty_message)
    else:
        st.altair_chart(chart, width="stretch")
