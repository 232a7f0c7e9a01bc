"""Train: pick a tagger and hyperparameters, Retrain, and watch the run live."""
from __future__ import annotations

import streamlit as st

from ner_core.config import TrainConfig
from storage.runs import FINISHED_STATUSES, active_runs, enqueue_run, get_run, list_runs, request_cancel, run_progress
from storage.schema import RunStatus
from storage.stats import split_counts
from ui.resources import session_factory
from ui.train_view import (
    POLL_SECONDS,
    STATUS_ICONS,
    defaults_help,
    fraction_done,
    progress_line,
    runs_frame,
    show_curves,
)
from ui.widgets import show_flash
from ui.worker_control import ensure_worker, worker_view

TAGGER_NAMES = {
    "bert": "BERT fine-tuning (pretrained encoder; best F1, slower)",
    "scratch": "Scratch encoder (small transformer trained from zero; fast on CPU)",
    "distilled": "Distilled (scratch-size student taught by the active BERT model; near-BERT F1 at scratch speed)",
}

factory = session_factory()
with factory() as session:
    active = active_runs(session)
    recent = list_runs(session, limit=1)
    splits = split_counts(session)

st.title("Train")
st.caption(f"A run trains on the **{splits['train']}** confirmed train sentences and is scored on the "
           f"**{splits['test']}** confirmed test sentences (a frozen split, so versions stay comparable).")
show_flash("train_flash")

with st.form("train_form"):
    tagger = st.radio("Tagger", list(TAGGER_NAMES), format_func=TAGGER_NAMES.get, horizontal=True)
    encoder = st.text_input("Encoder for BERT: a Hugging Face model id or a local model directory",
                            placeholder="empty = the embedded all-MiniLM-L6-v2 (works offline)")
    c1, c2, c3, c4 = st.columns(4)
    epochs = c1.number_input("Epochs (0 = default)", 0, 500, 0, help=defaults_help("epochs"))
    batch_size = c2.number_input("Batch size", 1, 512, 16)
    learning_rate = c3.number_input("Learning rate (0 = default)", 0.0, 1.0, 0.0, step=1e-5, format="%.5f",
                                    help=defaults_help("learning_rate"))
    minutes = c4.number_input("Time limit in minutes (0 = none)", 0, 24 * 60, 0)
    with st.expander("More options"):
        d1, d2, d3, d4 = st.columns(4)
        dropout = d1.number_input("Dropout", 0.0, 0.9, 0.1, step=0.05)
        patience = d2.number_input("Early-stop patience (epochs)", 1, 100, 3)
        seed = d3.number_input("Seed", 0, 2**31 - 1, 13)
        unit = d4.selectbox("Train on", ["lines", "recipes"], help="Ingredient lines or whole recipes")
        encoder_layers = d1.number_input(
            "BERT: encoder layers to keep (0 = all)", 0, 48, 0,
            help="Fewer layers predict faster. On TASTEset the embedded 6-layer encoder cut to 4 ran 1.3x "
                 "faster (int8) at 0.2 points less strict F1 (kfold5 mean).")
    submitted = st.form_submit_button("Retrain", icon=":material/rocket_launch:", type="primary", disabled=bool(active),
                                      help="Only one run at a time: cancel the current one first" if active else None)

if submitted:
    try:
        config = TrainConfig(tagger=tagger, encoder=encoder.strip() or None, epochs=int(epochs),
                             batch_size=int(batch_size), learning_rate=float(learning_rate), dropout=float(dropout),
                             patience=int(patience), seed=int(seed), unit=unit, encoder_layers=int(encoder_layers),
                             max_seconds=float(minutes) * 60 or None)
    except ValueError as e:
        st.error(f"Cannot train with these settings: {e}")
        st.stop()
    with factory.begin() as session:
        running = active_runs(session)
        run = None if running else enqueue_run(session, config)
    if run is None:
        st.session_state["train_flash"] = ("warning", f"Run {running[0].id} is already {running[0].status}.")
    else:
        ensure_worker(factory)
        st.session_state["train_flash"] = ("success", f"Run {run.id} queued: {config.tagger}, {config.epochs} epochs.")
    st.rerun()

shown_id = active[0].id if active else (recent[0].id if recent else None)


@st.fragment(run_every=POLL_SECONDS if active else None)
def run_panel() -> None:
    """The shown run's status, progress, curves and cancel button; polls while it is active."""
    if shown_id is None:
        st.info("No run yet. Pick a tagger and click **Retrain**.")
        return
    with factory() as session:
        run = get_run(session, shown_id)
        rows = run_progress(session, shown_id)
        runs = list_runs(session, limit=10)
    if active and run.status in FINISHED_STATUSES:
        st.rerun()  # the run ended: rerun the page, which stops polling
    st.subheader(f"{STATUS_ICONS.get(run.status, '')} Run {run.id}: {run.status}")
    latest = rows[-1] if rows else None
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        st.progress(fraction_done(latest), text=progress_line(run, latest))
        worker = worker_view(factory)
        if not worker.running:
            st.warning("No worker is running, so the run cannot start.")
            if st.button("Start worker", key="start_worker_train"):
                ensure_worker(factory)
        if run.cancel_requested:
            st.caption("Cancel requested; the worker stops within seconds.")
        elif st.button("Cancel run", key=f"cancel_{run.id}"):
            with factory.begin() as session:
                request_cancel(session, run.id)
            st.rerun()
    elif run.status == RunStatus.FAILED:
        st.error(run.error or "The run failed without a message.")
    elif run.status == RunStatus.SUCCEEDED:
        st.success(f"Finished: {progress_line(run, latest)}. See the Models page for its test scores.")
    show_curves(rows)
    st.dataframe(runs_frame(runs), hide_index=True, width="stretch")


run_panel()
