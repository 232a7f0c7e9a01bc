"""The Models page: activate and roll back, compare two versions, triage errors."""
from __future__ import annotations

from storage.registry import active_model


def test_roll_back_to_the_older_model(populated_db, app) -> None:
    at = app("models")
    at.selectbox(key="models_chosen").set_value("v1 scratch")
    at.run()
    button = next(b for b in at.button if b.label.startswith("Roll back to"))
    assert button.label == "Roll back to v1 scratch"
    button.click()
    at.run()
    assert not at.exception
    with populated_db() as session:
        assert active_model(session).id == 1
    assert "v1 is now the active model" in at.success[0].value


def test_active_model_cannot_be_activated_again(populated_db, app) -> None:
    at = app("models")
    assert at.selectbox(key="models_chosen").value == "v2 scratch (active)"
    assert next(b for b in at.button if "v2" in b.label).disabled


def test_registry_lists_every_model_with_its_scores(populated_db, app) -> None:
    at = app("models")
    registry = at.dataframe[0].value
    assert list(registry["model"]) == ["v2", "v1"]
    assert list(registry["active"]) == [True, False]
    assert {"test F1", "F1 FOOD", "F1 PART", "train sentences", "training time (s)"} <= set(registry.columns)
    comparison = at.dataframe[1].value
    assert "micro" in comparison.index and "B − A" in comparison.columns


def test_error_triage_classes_disagreements_with_fix_links(populated_db, app) -> None:
    at = app("models")
    at.toggle(key="models_triage").set_value(True)
    at.run()
    assert not at.exception
    triage = at.dataframe[-1].value
    assert len(triage) > 0
    assert set(triage["kind"]) <= {"missed", "spurious", "wrong type", "wrong boundary"}
    assert all(link.startswith("label?sentence=") for link in triage["fix"])
