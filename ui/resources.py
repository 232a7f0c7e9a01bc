"""Heavy shared objects, created once per process with st.cache_resource."""
from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from ner_core.predict import Predictor
from storage.db import database_url, make_session_factory

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _session_factory(url: str) -> sessionmaker[Session]:
    """A session factory (engine, pool) for url; tables are created if missing."""
    log.info("opening database %s", url)
    return make_session_factory(url)


def session_factory() -> sessionmaker[Session]:
    """The session factory for the configured ``DATABASE_URL``."""
    return _session_factory(database_url())


@st.cache_resource(show_spinner="Loading the model…", max_entries=3)
def load_predictor(model_path: str) -> Predictor:
    """The Predictor of a saved model directory, loaded once per path."""
    log.info("loading model %s", model_path)
    return Predictor.load(model_path)
