"""What every page shares: first-run setup and the sidebar status."""
from __future__ import annotations

import logging

import streamlit as st

from storage.heartbeat import recover_stale_runs
from storage.registry import active_model
from storage.runs import active_runs
from ui.resources import session_factory
from ui.starter import load_starter_if_empty
from ui.worker_control import ensure_worker, worker_view

log = logging.getLogger(__name__)


def bootstrap() -> None:
    """Once per browser session: load the starter data into an empty database, mark runs
    a dead worker left 'running' as failed, and start the worker if runs are waiting."""
    if st.session_state.get("bootstrapped"):
        return
    factory = session_factory()
    with factory.begin() as session:
        loaded = load_starter_if_empty(session)
        failed = recover_stale_runs(session)
        waiting = bool(active_runs(session))
    if waiting:
        ensure_worker(factory)
    st.session_state["bootstrapped"] = True
    if loaded is not None:
        st.toast(f"Loaded the starter data: {loaded.confirmed} labelled lines and "
                 f"{loaded.queued} lines to label from {loaded.recipes} recipes.", icon=":material/eco:")
    for run_id in failed:
        st.toast(f"Run {run_id} was left running by a worker that stopped; marked failed.", icon=":material/warning:")


def sidebar_status() -> None:
    """The worker's heartbeat and the active model, in the sidebar."""
    factory = session_factory()
    view = worker_view(factory)
    with factory() as session:
        model = active_model(session)
    with st.sidebar:
        st.markdown(view.describe())
        if not view.running and st.button("Start worker", help="Runs `python -m jobs.worker` in the background"):
            ensure_worker(factory)
            st.rerun()
        if model is None:
            st.caption("No active model yet")
        else:
            f1 = "n/a" if model.test_f1 is None else f"{model.test_f1:.3f}"
            st.caption(f"Active model v{model.id} · {model.tagger} · test F1 {f1}")
