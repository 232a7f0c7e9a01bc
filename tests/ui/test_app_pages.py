"""Every page renders without exceptions on an empty and on a populated database."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.schema import Sentence, SentenceStatus
from storage.stats import status_counts

PAGES = ("label", "train", "models", "try_it", "data")
TITLES = {"label": "Label", "train": "Train", "models": "Models", "try_it": "Try it", "data": "Data"}


def editor_data(at) -> dict:
    """The JSON the Label page sent to its span editor."""
    (editor,) = at.get("bidi_component")
    assert editor.proto.component_name == "recipe_ner_span_editor"
    return json.loads(editor.proto.json)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_an_empty_database(empty_db, app, page: str) -> None:
    at = app(page)
    assert not at.exception
    assert at.title[0].value == TITLES[page]
    with empty_db() as session:
        assert session.scalar(select(func.count()).select_from(Sentence)) == 0


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_a_populated_database(populated_db, app, page: str) -> None:
    at = app(page)
    assert not at.exception
    assert at.title[0].value == TITLES[page]


def test_first_run_loads_the_starter_data_and_shows_a_sentence(factory, app) -> None:
    at = app("label")
    assert not at.exception
    with factory() as session:
        counts = status_counts(session)
    assert counts[SentenceStatus.CONFIRMED] > 200 and counts[SentenceStatus.UNLABELLED] > 100
    data = editor_data(at)
    assert data["text"] and data["tokens"] and len(data["labels"]) == 9
    assert "random order" in at.caption[0].value


def test_second_run_does_not_load_the_starter_data_again(factory, app) -> None:
    app("label")
    with factory() as session:
        before = session.scalar(select(func.count()).select_from(Sentence))
    app("data")
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Sentence)) == before


def test_sidebar_shows_the_worker_and_the_active_model(populated_db, app) -> None:
    at = app("label")
    sidebar = " ".join(c.value for c in [*at.sidebar.markdown, *at.sidebar.caption])
    assert "Worker not running" in sidebar
    assert "Active model v2" in sidebar
