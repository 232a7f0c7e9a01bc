"""Data: import (upload, URL, TASTEset), export, and counts per label, status and day."""
from __future__ import annotations

import streamlit as st

from ner_core.data import TASTESET_SHA256, TASTESET_URL
from storage.exporter import ExportError
from storage.formats import ImportFormatError
from storage.importer import FORMATS, ImportSourceError, import_source
from storage.stats import label_counts, labelled_over_time, split_counts, status_counts
from ui.data_view import (
    EXPORT_FILES,
    MAX_UPLOAD_MB,
    UPLOAD_TYPES,
    counts_chart,
    export_text,
    import_upload,
    over_time_chart,
    show_chart,
)
from ui.resources import session_factory
from ui.theme import LABEL_COLORS
from ui.widgets import show_flash

IMPORT_ERRORS = (ImportFormatError, ImportSourceError, ExportError)

factory = session_factory()
st.title("Data")
show_flash("data_flash")


def report_import(kind: str, message: str) -> None:
    """Leave a message for the next run and rerun so every count refreshes."""
    st.session_state["data_flash"] = (kind, message)
    st.rerun()


upload_tab, url_tab, tasteset_tab = st.tabs(["Upload a file", "Import from a URL", "TASTEset"])
with upload_tab:
    uploaded = st.file_uploader(f"TASTEset CSV, JSONL or CoNLL IOB2 (at most {MAX_UPLOAD_MB} MB)",
                                type=UPLOAD_TYPES, max_upload_size=MAX_UPLOAD_MB)
    fmt = st.selectbox("Format", ["auto", *FORMATS], help="auto: from the file name's suffix")
    if st.button("Import file", disabled=uploaded is None):
        try:
            with factory.begin() as session:
                result = import_upload(session, uploaded.name, uploaded.getvalue(),
                                       fmt=None if fmt == "auto" else fmt)
        except IMPORT_ERRORS as e:
            st.error(f"Nothing was imported. {e}")
        else:
            report_import("success", f"{result.name} ({result.format}): {result.added} sentences added, "
                                     f"{result.duplicates} already present.")
with url_tab:
    url = st.text_input("URL of a file (http or https)")
    sha256 = st.text_input("Its sha256 (required unless the URL is known)")
    if st.button("Download and import", disabled=not url.strip()):
        try:
            with factory.begin() as session:
                result = import_source(session, url.strip(), sha256=sha256.strip() or None)
        except IMPORT_ERRORS as e:
            st.error(f"Nothing was imported. {e}")
        else:
            report_import("success", f"{result.added} sentences added, {result.duplicates} already present.")
with tasteset_tab:
    st.markdown(f"The public TASTEset corpus (700 recipes, MIT licence), downloaded from GitHub and checked "
                f"against sha256 `{TASTESET_SHA256[:16]}…`. Offline? Download `TASTEset.csv` elsewhere and "
                "upload it in the first tab.")
    if st.button("Import TASTEset", type="primary"):
        try:
            with st.spinner("Downloading TASTEset…"), factory.begin() as session:
                result = import_source(session, TASTESET_URL)
        except IMPORT_ERRORS as e:
            st.error(f"Nothing was imported. {e}")
        else:
            report_import("success", f"TASTEset: {result.added} sentences added, {result.duplicates} already present.")

st.subheader("Export")
export_fmt = st.radio("Format", list(EXPORT_FILES), horizontal=True,
                      format_func={"jsonl": "JSONL (all sentences)", "conll": "CoNLL IOB2 (confirmed)",
                                   "tasteset": "TASTEset CSV (confirmed)"}.get)
try:
    with factory() as session:
        exported, n_exported = export_text(session, export_fmt)
except ExportError as e:
    st.error(str(e))
else:
    file_name, mime = EXPORT_FILES[export_fmt]
    st.download_button(f"Download {n_exported} sentences", exported, file_name=file_name, mime=mime,
                       on_click="ignore")

st.subheader("Counts")
with factory() as session:
    statuses, splits, labels = status_counts(session), split_counts(session), label_counts(session)
    days = labelled_over_time(session)
left, right = st.columns(2)
left.altair_chart(counts_chart(statuses, title="Sentences per status"), width="stretch")
left.altair_chart(counts_chart(splits, title="Confirmed sentences per split"), width="stretch")
right.altair_chart(counts_chart(labels, title="Confirmed spans per label", colors=LABEL_COLORS), width="stretch")
show_chart(over_time_chart(days), "No sentence has been confirmed in the app yet: label some on the Label page.")
