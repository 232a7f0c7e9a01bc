"""Pieces of the Models page: the registry table, curves, comparisons and error triage."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import altair as alt
import pandas as pd
import streamlit as st

from ner_core.spans import LABELS, Span
from storage.schema import ModelVersion
from ui.resources import load_predictor
from ui.theme import LABEL_COLORS
from ui.triage import classify, describe

TestItem = tuple[int, str, tuple[Span, ...]]  # sentence id, text, gold spans


def model_name(model: ModelVersion) -> str:
    """A short human name: 'v3 scratch (active)'."""
    return f"v{model.id} {model.tagger}" + (" (active)" if model.is_active else "")


def per_type_f1(model: ModelVersion) -> dict[str, float | None]:
    """Test F1 per label (None where the label had no test support)."""
    per_type = (model.test_metrics or {}).get("per_type", {})
    return {label: (per_type[label]["f1"] if label in per_type else None) for label in LABELS}


def score_columns() -> dict[str, Any]:
    """Column formats for the registry's score columns (three decimals)."""
    names = ["test F1", "precision", "recall", *[f"F1 {label}" for label in LABELS]]
    return {name: st.column_config.NumberColumn(format="%.3f") for name in names}


def registry_frame(models: Sequence[ModelVersion]) -> pd.DataFrame:
    """One row per registered model."""
    rows: list[dict[str, Any]] = []
    for m in models:
        metrics = m.test_metrics or {}
        rows.append({
            "model": f"v{m.id}",
            "active": m.is_active,
            "tagger": m.tagger,
            "encoder": Path(m.encoder).name if m.encoder else "—",
            "train sentences": m.n_train,
            "test sentences": m.n_test,
            "test F1": m.test_f1,
            "precision": metrics.get("precision"),
            "recall": metrics.get("recall"),
            **{f"F1 {label}": f1 for label, f1 in per_type_f1(m).items()},
            "training time (s)": round(m.train_seconds, 1),
            "created": m.created_at,
        })
    return pd.DataFrame(rows)


def learning_curve(models: Sequence[ModelVersion]) -> alt.Chart:
    """Test F1 against the number of training sentences, one point per version."""
    frame = pd.DataFrame([{"version": f"v{m.id}", "train sentences": m.n_train, "test F1": m.test_f1,
                           "tagger": m.tagger} for m in models if m.test_f1 is not None])
    return alt.Chart(frame, title="Learning curve: test F1 by training sentences").mark_line(point=True).encode(
        x=alt.X("train sentences:Q", axis=alt.Axis(format="d")), y=alt.Y("test F1:Q", scale=alt.Scale(domain=[0, 1])), color="tagger:N",
        tooltip=["version", "train sentences", "test F1", "tagger"])


def per_type_chart(model: ModelVersion) -> alt.Chart:
    """Test F1 per label as coloured bars."""
    frame = pd.DataFrame([{"label": k, "F1": v} for k, v in per_type_f1(model).items() if v is not None])
    return alt.Chart(frame, title=f"{model_name(model)}: test F1 per type").mark_bar().encode(
        x=alt.X("F1:Q", scale=alt.Scale(domain=[0, 1])), y=alt.Y("label:N", sort=list(LABELS), title=None),
        color=alt.Color("label:N", legend=None, scale=alt.Scale(domain=list(LABEL_COLORS),
                                                                range=list(LABEL_COLORS.values()))),
        tooltip=["label", "F1"])


def compare_frame(a: ModelVersion, b: ModelVersion) -> pd.DataFrame:
    """Micro and per-type test F1 of two models side by side, with the difference B − A."""
    fa, fb = per_type_f1(a), per_type_f1(b)
    col_a, col_b = f"A: {model_name(a)}", f"B: {model_name(b)}"
    rows = [{"": "micro", col_a: a.test_f1, col_b: b.test_f1}]
    rows += [{"": label, col_a: fa[label], col_b: fb[label]} for label in LABELS]
    frame = pd.DataFrame(rows).set_index("").astype(float)  # None (no test support) becomes NaN
    frame["B − A"] = frame[col_b] - frame[col_a]
    return frame


@st.cache_data(show_spinner="Tagging the test sentences…", max_entries=8)
def triage_rows(model_path: str, items: tuple[TestItem, ...]) -> list[dict[str, Any]]:
    """Every disagreement of the model on the test items, one row each, with a fix link."""
    predictions = load_predictor(model_path).predict([text for _, text, _ in items])
    rows = []
    for (sentence_id, text, gold), predicted in zip(items, predictions):
        for d in classify(gold, [p.span for p in predicted]):
            rows.append({"kind": d.kind, "gold": describe(text, d.gold), "predicted": describe(text, d.predicted),
                         "sentence": text, "fix": f"label?sentence={sentence_id}"})
    return rows
