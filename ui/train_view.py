"""Pieces of the Train page: the training form's config and the live run panel."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Sequence

import altair as alt
import pandas as pd
import streamlit as st

from ner_core.config import TrainConfig
from storage.schema import RunProgress, RunStatus, TrainingRun

POLL_SECONDS = 2.0
STATUS_ICONS = {
    RunStatus.QUEUED: ":material/hourglass_top:",
    RunStatus.RUNNING: ":material/directions_run:",
    RunStatus.SUCCEEDED: ":green[:material/check_circle:]",
    RunStatus.FAILED: ":red[:material/error:]",
    RunStatus.CANCELLED: ":material/block:",
}


def tagger_defaults(tagger: str) -> TrainConfig:
    """The config a tagger gets when the form leaves epochs and learning rate at 0."""
    return TrainConfig(tagger=tagger, encoder="(default)")


def defaults_help(field: str) -> str:
    """'Default: 6 for BERT, 20 for scratch' for an auto-filled TrainConfig field."""
    bert, scratch = tagger_defaults("bert"), tagger_defaults("scratch")
    return f"Default: {getattr(bert, field):g} for BERT, {getattr(scratch, field):g} for scratch"


def fraction_done(progress: RunProgress | None) -> float:
    """How far a run is, from its latest progress row (steps are counted across epochs)."""
    if progress is None:
        return 0.0
    total = max(1, progress.epochs * progress.steps_per_epoch)
    return min(1.0, progress.step / total)


def eta_text(seconds: float | None) -> str:
    """A rounded duration such as '2:05' or 'unknown'."""
    if seconds is None:
        return "unknown"
    return str(timedelta(seconds=round(seconds))).removeprefix("0:")


def progress_line(run: TrainingRun, progress: RunProgress | None) -> str:
    """One line: epoch, step, loss, dev F1 and time left."""
    if progress is None:
        return "Waiting for the worker to pick the run up…" if run.status == RunStatus.QUEUED else "Starting…"
    parts = [f"epoch {progress.epoch}/{progress.epochs}", f"step {progress.step}/{progress.epochs * progress.steps_per_epoch}"]
    if progress.loss is not None:
        parts.append(f"loss {progress.loss:.3f}")
    if progress.dev_f1 is not None:
        parts.append(f"dev F1 {progress.dev_f1:.3f}")
    if run.status == RunStatus.RUNNING:
        parts.append(f"elapsed {eta_text(progress.elapsed)}, about {eta_text(progress.eta)} left")
    else:
        parts.append(f"took {eta_text(progress.elapsed)}")
    return " · ".join(parts)


def curves_frame(rows: Sequence[RunProgress]) -> pd.DataFrame:
    """Progress rows as a long table (step, metric, value) for the loss and dev-F1 charts."""
    records: list[dict[str, Any]] = []
    for row in rows:
        if row.loss is not None:
            records.append({"step": row.step, "metric": "loss", "value": row.loss, "epoch": row.epoch})
        if row.dev_f1 is not None and row.epoch_end:
            records.append({"step": row.step, "metric": "dev F1", "value": row.dev_f1, "epoch": row.epoch})
    return pd.DataFrame(records, columns=["step", "metric", "value", "epoch"])


def show_curves(rows: Sequence[RunProgress]) -> None:
    """Live loss and dev-F1 curves of a run."""
    frame = curves_frame(rows)
    if frame.empty:
        return
    left, right = st.columns(2)
    loss = frame[frame.metric == "loss"]
    f1 = frame[frame.metric == "dev F1"]
    left.altair_chart(
        alt.Chart(loss, title="Training loss").mark_line().encode(x="step:Q", y="value:Q", tooltip=["epoch", "value"]),
        width="stretch",
    )
    if f1.empty:
        right.caption("Dev F1 appears after the first epoch (when the run has dev sentences).")
    else:
        right.altair_chart(
            alt.Chart(f1, title="Dev F1 per epoch").mark_line(point=True).encode(
                x="step:Q", y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1])), tooltip=["epoch", "value"]),
            width="stretch",
        )


def runs_frame(runs: Sequence[TrainingRun]) -> pd.DataFrame:
    """Recent runs as a table."""
    return pd.DataFrame(
        [
            {
                "run": r.id,
                "status": r.status,
                "tagger": r.tagger,
                "epochs": r.config.get("epochs"),
                "sentences": r.snapshot_size,
                "requested": r.requested_at,
                "finished": r.finished_at,
                "note": r.error or r.note or "",
            }
            for r in runs
        ]
    )
