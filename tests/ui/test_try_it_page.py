"""The Try-it page: highlighted entities with escaped text, limits, downloads, queueing."""
from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import select

from storage.schema import Sentence, SentenceStatus
from ui.highlight import MAX_PASTE_CHARS

class TagsAndText(HTMLParser):
    """Collects the tag names and the pasted text of a highlighted fragment (the label
    badges in <sup> and the low-confidence marks in <b> left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.badge_depth = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)
        self.badge_depth += tag in ("sup", "b")

    def handle_endtag(self, tag) -> None:
        self.badge_depth -= tag in ("sup", "b")

    def handle_data(self, data: str) -> None:
        if not self.badge_depth:
            self.text.append(data)


RECIPE = "2 cups all-purpose flour\n1 teaspoon salt\n\n3 large eggs, beaten"


def submit(at, text: str, label: str):
    at.text_area(key="try_text").set_value(text)
    next(b for b in at.button if label in b.label).click()
    return at.run()


def test_highlight_shows_entities_a_table_and_downloads(populated_db, app) -> None:
    at = submit(app("try_it"), RECIPE, "Highlight")
    assert not at.exception
    highlighted = [h.proto.body for h in at.get("html") if "highlighted" in h.proto.body]
    assert len(highlighted) == 2  # two recipes
    assert "<mark" in highlighted[0]
    table = at.dataframe[0].value
    assert list(table["line"]) == ["2 cups all-purpose flour", "1 teaspoon salt", "3 large eggs, beaten"]
    assert list(table["recipe"]) == [1, 1, 2]
    assert len(at.get("download_button")) == 2


def test_pasted_markup_is_shown_as_text(populated_db, app) -> None:
    evil = '2 cups <script>alert("x")</script> flour\n1 <img src=x onerror=alert(1)> egg'
    at = submit(app("try_it"), evil, "Highlight")
    body = "".join(h.proto.body for h in at.get("html") if "highlighted" in h.proto.body)
    parsed = TagsAndText()
    parsed.feed(body)
    assert parsed.tags <= {"div", "mark", "sup", "b", "br"}
    text = "".join(parsed.text)
    assert '<script>alert("x")</script>' in text and "<img src=x onerror=alert(1)>" in text


def test_too_long_text_is_refused_not_truncated(populated_db, app) -> None:
    at = submit(app("try_it"), "1 cup flour\n" * (MAX_PASTE_CHARS // 12 + 10), "Highlight")
    assert "more than the limit" in at.error[0].value
    assert not [h for h in at.get("html") if "highlighted" in h.proto.body]


def test_lines_can_be_added_to_the_labelling_queue(populated_db, app) -> None:
    at = submit(app("try_it"), "7 juniper berries, crushed\n1 cup flour\n\n2 sprigs rosemary", "labelling queue")
    assert not at.exception
    with populated_db() as session:
        queued = session.scalars(select(Sentence.text).where(Sentence.status == SentenceStatus.UNLABELLED)).all()
    assert {"7 juniper berries, crushed", "2 sprigs rosemary"} <= set(queued)
    assert "Added" in at.success[0].value


def test_without_a_model_highlighting_is_disabled(factory, app) -> None:
    at = app("try_it")
    assert next(b for b in at.button if "Highlight" in b.label).disabled
    assert "No active model" in at.info[0].value
