"""Try it: paste recipes, see the active model's entities, download them, queue the lines."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from storage.registry import active_model
from storage.sentences import add_sentences
from ui.highlight import (
    MAX_PASTE_CHARS,
    highlight_html,
    ingredient_rows,
    legend_html,
    results_csv,
    results_json,
    split_recipes,
)
from ui.resources import load_predictor, session_factory
from ui.widgets import show_flash

EXAMPLE = "2 (14.5-oz) cans diced tomatoes, drained\n1½ cups all-purpose flour, sifted\n" \
          "2 boneless skinless chicken breasts\nsalt and freshly ground black pepper to taste"

factory = session_factory()
with factory() as session:
    model = active_model(session)

st.title("Try it")
st.caption("Paste one or many recipes' ingredient lists, one ingredient per line and a blank line between recipes.")
show_flash("try_flash")

with st.form("try_form"):
    pasted = st.text_area("Ingredient lists", height=220, placeholder=EXAMPLE, key="try_text")
    left, right = st.columns(2)
    highlight_clicked = left.form_submit_button("Highlight entities", icon=":material/auto_awesome:", type="primary", disabled=model is None)
    queue_clicked = right.form_submit_button("Add these lines to the labelling queue", icon=":material/playlist_add:")

if model is None:
    st.info("No active model yet: train one on the Train page. You can still add lines to the labelling queue.")

text = pasted or ""
if (highlight_clicked or queue_clicked) and len(text) > MAX_PASTE_CHARS:
    st.error(f"The pasted text has {len(text):,} characters, more than the limit of {MAX_PASTE_CHARS:,}. "
             "Nothing was processed; paste fewer recipes at a time.")
    st.stop()
recipes = split_recipes(text)
if (highlight_clicked or queue_clicked) and not recipes:
    st.warning("Paste at least one ingredient line first.")
    st.stop()

if queue_clicked:
    lines = [line for recipe in recipes for line in recipe.split("\n")]
    with factory.begin() as session:
        result = add_sentences(session, lines, recipe_name="Pasted on the Try it page")
    st.session_state["try_flash"] = ("success", f"Added {result.added} line(s) to the labelling queue; "
                                                f"{result.duplicates} were already in the database.")
    st.rerun()

if highlight_clicked and model is not None:
    predictions = load_predictor(model.path).predict(recipes)
    st.session_state["try_result"] = (model.id, recipes, predictions)

result = st.session_state.get("try_result")
if result is not None:
    model_id, recipes, predictions = result
    st.caption(f"Entities from model v{model_id}; hover over an entity for its confidence.")
    st.html(legend_html())
    for number, (recipe, spans) in enumerate(zip(recipes, predictions), start=1):
        with st.container(border=True):
            if len(recipes) > 1:
                st.markdown(f"**Recipe {number}**")
            st.html(highlight_html(recipe, spans))
    rows = [{"recipe": n, **row} for n, (r, s) in enumerate(zip(recipes, predictions), start=1)
            for row in ingredient_rows(r, s)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.download_button("Download JSON", results_json(recipes, predictions), file_name="entities.json",
                         mime="application/json", on_click="ignore")
    right.download_button("Download CSV", results_csv(recipes, predictions), file_name="entities.csv",
                          mime="text/csv", on_click="ignore")
