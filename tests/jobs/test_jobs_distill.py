"""Distilled runs in the worker: a teacher from the registry, or a clear failure."""
from __future__ import annotations

import dataclasses

from jobs.runner import WorkerSettings
from jobs.worker import serve
from storage.registry import active_model, list_models
from storage.runs import enqueue_run, get_run
from storage.schema import RunStatus
from tests.jobs.conftest import QUICK, Studio


def _run(studio: Studio, config) -> object:
    with studio.factory.begin() as session:
        run_id = enqueue_run(session, config).id
    serve(studio.factory, WorkerSettings(models_dir=studio.models_dir, poll_every=0.1, threads=1), once=True)
    with studio.factory.begin() as session:
        return get_run(session, run_id)


def test_distilled_run_without_a_bert_teacher_fails_clearly(studio: Studio) -> None:
    assert _run(studio, QUICK).status == RunStatus.SUCCEEDED  # the active model is a scratch one
    run = _run(studio, dataclasses.replace(QUICK, tagger="distilled"))
    assert run.status == RunStatus.FAILED and "distillation needs a BERT teacher" in run.error


def test_distilled_run_with_a_named_teacher_registers_a_student(studio: Studio) -> None:
    assert _run(studio, QUICK).status == RunStatus.SUCCEEDED
    with studio.factory.begin() as session:
        teacher = active_model(session).path
    run = _run(studio, dataclasses.replace(QUICK, tagger="distilled", teacher=teacher))
    assert run.status == RunStatus.SUCCEEDED, run.error
    with studio.factory.begin() as session:
        assert len(list_models(session)) == 2
