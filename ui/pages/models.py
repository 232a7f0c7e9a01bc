"""Models: the registry, activate or roll back, learning curve, comparison, error triage."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from storage.registry import activate_model, list_models
from storage.views import confirmed_test_sentences
from ui.models_view import (
    compare_frame,
    learning_curve,
    model_name,
    per_type_chart,
    registry_frame,
    score_columns,
    triage_rows,
)
from ui.triage import KINDS
from ui.resources import session_factory
from ui.widgets import show_flash

factory = session_factory()
with factory() as session:
    models = list_models(session)

st.title("Models")
show_flash("models_flash")
if not models:
    st.info("No trained model yet. Click **Retrain** on the Train page; finished runs appear here.")
    st.page_link("ui/pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

by_name = {model_name(m): m for m in models}
active = next((m for m in models if m.is_active), None)

st.dataframe(registry_frame(models), hide_index=True, width="stretch",
             column_config={**score_columns(), "active": st.column_config.CheckboxColumn()})

left, right = st.columns([2, 1])
with right:
    chosen = st.selectbox("Model", list(by_name), index=list(by_name).index(model_name(active)) if active else 0,
                          key="models_chosen")
    target = by_name[chosen]
    verb = "Roll back to" if active is not None and target.id < active.id else "Activate"
    if st.button(f"{verb} {chosen.removesuffix(' (active)')}", disabled=target.is_active, type="primary"):
        with factory.begin() as session:
            activate_model(session, target.id)
        st.session_state["models_flash"] = ("success", f"v{target.id} is now the active model; the worker "
                                                       "refreshes the Label page's suggestions.")
        st.rerun()
with left:
    st.altair_chart(learning_curve(models), width="stretch")

st.altair_chart(per_type_chart(target), width="stretch")

st.subheader("Side by side")
a_col, b_col = st.columns(2)
names = list(by_name)
name_a = a_col.selectbox("Model A", names, index=min(1, len(names) - 1), key="models_a")
name_b = b_col.selectbox("Model B", names, index=0, key="models_b")
st.dataframe(compare_frame(by_name[name_a], by_name[name_b]).style.format("{:.3f}", na_rep="—"), width="stretch")

st.subheader("Error triage on the test split")
with factory() as session:
    items = tuple((s.id, s.text, tuple(sorted(r.to_span() for r in s.spans))) for s in confirmed_test_sentences(session))
st.caption(f"{chosen} against the gold labels of the {len(items)} confirmed test sentences. "
           "“fix” opens the sentence on the Label page to correct its gold labels.")
if st.toggle("Show the disagreements", key="models_triage"):
    rows = triage_rows(target.path, items)
    kinds = st.multiselect("Kinds", KINDS, default=list(KINDS))
    shown = pd.DataFrame([r for r in rows if r["kind"] in kinds], columns=["kind", "gold", "predicted", "sentence", "fix"])
    counts = {k: sum(r["kind"] == k for r in rows) for k in KINDS}
    st.caption(" · ".join(f"{k}: {n}" for k, n in counts.items()))
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={"fix": st.column_config.LinkColumn("fix", display_text="fix")})
