"""Label: one sentence at a time from the queue, edited with mouse and keyboard."""
from __future__ import annotations

import streamlit as st

from storage.stats import label_counts, status_counts
from ui.labelling import PINNED_FROM_LINK, PINNED_FROM_UNDO, apply_action, current_item
from ui.resources import session_factory
from ui.span_editor import span_editor
from ui.widgets import label_count_chips, show_flash

factory = session_factory()
state = st.session_state
state.setdefault("label_nonce", 0)

if "sentence" in st.query_params:  # a "fix" link from the Models page
    try:
        state["label_pinned"] = (int(st.query_params["sentence"]), PINNED_FROM_LINK)
    except ValueError:
        st.warning(f"Ignoring sentence={st.query_params['sentence']!r}: not a sentence id.")
    del st.query_params["sentence"]
pinned_id, pinned = state.get("label_pinned", (None, None))

with factory() as session:
    item = current_item(session, pinned_id=pinned_id, pinned=pinned)
    statuses, labels = status_counts(session), label_counts(session)

st.title("Label")
total = sum(statuses.values())
left, mid, right, last = st.columns(4)
left.metric("Confirmed", f"{statuses['confirmed']} / {total}")
mid.metric("In the queue", statuses["unlabelled"] + statuses["suggested"])
right.metric("With suggestions", statuses["suggested"])
last.metric("Skipped", statuses["skipped"])
label_count_chips(labels)
show_flash("label_flash")

if item is None:
    st.success("The queue is empty: every sentence is confirmed or skipped.")
    st.page_link("ui/pages/try_it.py", label="Paste new recipes on the Try it page to queue more lines", icon=":material/science:")
    st.stop()

where = f"line {item.position + 1} of {item.recipe_lines} in “{item.recipe_name}”" if item.recipe_name else ""
st.caption(f"**Why this sentence:** {item.reason}  \n{where}")

action = span_editor(item.text, item.spans, sentence_key=item.key, nonce=state["label_nonce"])
if action is not None:
    with factory.begin() as session:
        outcome = apply_action(session, item, action)
    state["label_nonce"] += 1
    state["label_flash"] = ("success" if outcome.ok else "warning", outcome.message)
    if outcome.reopened_id is not None:
        state["label_pinned"] = (outcome.reopened_id, PINNED_FROM_UNDO)
    elif outcome.ok:
        state.pop("label_pinned", None)
    st.rerun()

with st.expander("Keyboard and mouse"):
    st.markdown(
        "- **Click** a word, or **drag** across words, to select; clicking a labelled span selects it all.\n"
        "- **1–9** give the selection a label (the numbers on the legend).\n"
        "- **Backspace / Delete** removes the span under the selection. **Esc** clears the selection.\n"
        "- **← / →** move the selection, **Shift+← / →** extend it.\n"
        "- **Enter** confirms the spans shown and moves on; **S** skips.\n"
        "- **Z** or **Ctrl+Z** undoes the last edit; with no edit left, it undoes the last confirm or skip.\n\n"
        "Dashed outlines are the model's suggestions (a red outline and **?** mark low confidence); "
        "solid spans are confirmed. Enter confirms everything shown, suggestions included."
    )
