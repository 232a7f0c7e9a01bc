"""The Train page: Retrain enqueues one run and starts the worker; cancel flags the run."""
from __future__ import annotations

import os

from ner_core.config import TrainConfig
from storage.heartbeat import claim_worker
from storage.runs import active_runs, enqueue_run, list_runs
from storage.schema import RunStatus, TrainingRun
from ui.train_view import tagger_defaults


def retrain_button(at):
    return next(b for b in at.button if "Retrain" in b.label)


def test_retrain_enqueues_a_run_and_starts_the_worker(factory, app, monkeypatch) -> None:
    started: list[object] = []
    monkeypatch.setattr("ui.worker_control.start_worker", lambda url=None: started.append(url) or 0)
    at = app("train")
    at.radio[0].set_value("scratch")
    at.number_input[0].set_value(3)
    retrain_button(at).click()
    at.run()
    assert not at.exception
    with factory() as session:
        (run,) = active_runs(session)
        assert (run.tagger, run.status, run.config["epochs"]) == ("scratch", RunStatus.QUEUED, 3)
    assert len(started) == 1
    assert "Run 1 queued" in at.success[0].value
    assert retrain_button(at).disabled


def test_retrain_is_disabled_while_a_run_is_active(factory, app) -> None:
    app("label")  # loads the starter data
    with factory.begin() as session:
        enqueue_run(session, TrainConfig(tagger="scratch", epochs=2))
    at = app("train")
    assert retrain_button(at).disabled
    assert "Waiting for the worker" in at.get("progress")[0].proto.text


def test_cancel_a_queued_run(factory, app) -> None:
    app("label")
    with factory.begin() as session:
        run_id = enqueue_run(session, TrainConfig(tagger="scratch", epochs=2)).id
    at = app("train")
    next(b for b in at.button if b.label == "Cancel run").click()
    at.run()
    with factory() as session:
        assert session.get(TrainingRun, run_id).status == RunStatus.CANCELLED
    assert not retrain_button(at).disabled


def test_cancel_a_running_run_sets_the_flag(factory, app) -> None:
    app("label")
    with factory.begin() as session:
        claim_worker(session, pid=os.getpid())  # a live heartbeat, so the run is not stale
        run = enqueue_run(session, TrainConfig(tagger="scratch", epochs=2))
        run.status = RunStatus.RUNNING
        run_id = run.id
    at = app("train")
    next(b for b in at.button if b.label == "Cancel run").click()
    at.run()
    with factory() as session:
        run = session.get(TrainingRun, run_id)
        assert run.cancel_requested and run.status == RunStatus.RUNNING
    assert any("Cancel requested" in c.value for c in at.caption)


def test_form_options_reach_the_run_config(factory, app) -> None:
    at = app("train")
    at.radio[0].set_value("scratch")
    at.number_input[1].set_value(7)
    at.selectbox[0].set_value("recipes")
    retrain_button(at).click()
    at.run()
    with factory() as session:
        (run,) = list_runs(session)
        assert (run.config["unit"], run.config["batch_size"], run.config["epochs"]) == ("recipes", 7, tagger_defaults("scratch").epochs)


def test_a_running_run_shows_progress_and_curves(factory, app) -> None:
    from ner_core.train import Progress
    from storage.runs import record_progress

    app("label")
    with factory.begin() as session:
        claim_worker(session, pid=os.getpid())
        run = enqueue_run(session, TrainConfig(tagger="scratch", epochs=4))
        run.status = RunStatus.RUNNING
        for step in range(1, 9):
            progress = Progress(epoch=(step - 1) // 4 + 1, epochs=4, step=step, steps_per_epoch=4,
                                loss=2.0 / step, elapsed=step, dev_f1=0.5 if step == 4 else None, eta=24 - step)
            record_progress(session, run.id, progress, epoch_end=step == 4)
    at = app("train")
    (bar,) = at.get("progress")
    assert "epoch 2/4" in bar.proto.text and "step 8/16" in bar.proto.text
    assert bar.proto.value == 50
    assert len(at.get("vega_lite_chart")) == 2  # loss and dev F1


def test_the_app_starts_the_worker_when_a_run_is_waiting(factory, app, monkeypatch) -> None:
    started: list[object] = []
    app("label")
    with factory.begin() as session:
        enqueue_run(session, TrainConfig(tagger="scratch", epochs=2))
    monkeypatch.setattr("ui.worker_control.start_worker", lambda url=None: started.append(url) or 0)
    app("label")  # a new browser session
    assert len(started) == 1


def test_retrain_can_queue_a_distilled_run(factory, app, monkeypatch) -> None:
    monkeypatch.setattr("ui.worker_control.start_worker", lambda url=None: 0)
    at = app("train")
    at.radio[0].set_value("distilled")
    retrain_button(at).click()
    at.run()
    assert not at.exception
    with factory() as session:
        (run,) = active_runs(session)
        assert run.tagger == "distilled" and run.config["teacher"] is None  # the worker picks the active BERT


def test_bert_can_keep_fewer_encoder_layers(factory, app) -> None:
    at = app("train")
    at.radio[0].set_value("bert")
    next(n for n in at.number_input if "encoder layers" in n.label).set_value(4)
    retrain_button(at).click()
    at.run()
    with factory() as session:
        (run,) = list_runs(session)
        assert (run.tagger, run.config["encoder_layers"]) == ("bert", 4)
