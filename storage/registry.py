"""The model registry: trained model directories, their test scores and the active one."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.schema import ModelVersion


class ModelNotFoundError(LookupError):
    """No registered model has the requested id."""


def register_model(
    session: Session,
    *,
    run_id: int | None,
    path: str,
    tagger: str,
    encoder: str | None,
    n_train: int,
    snapshot_hash: str | None,
    n_test: int,
    test_f1: float | None,
    test_metrics: dict[str, Any] | None,
    train_seconds: float,
) -> ModelVersion:
    """Add a trained model directory to the registry (inactive)."""
    model = ModelVersion(
        run_id=run_id,
        path=path,
        tagger=tagger,
        encoder=encoder,
        n_train=n_train,
        snapshot_hash=snapshot_hash,
        n_test=n_test,
        test_f1=test_f1,
        test_metrics=test_metrics,
        train_seconds=train_seconds,
        is_active=False,
    )
    session.add(model)
    session.flush()
    return model


def get_model(session: Session, model_id: int) -> ModelVersion:
    """The model with model_id; raise ModelNotFoundError if absent."""
    model = session.get(ModelVersion, model_id)
    if model is None:
        raise ModelNotFoundError(f"no registered model with id {model_id}")
    return model


def list_models(session: Session) -> list[ModelVersion]:
    """Every registered model, newest first."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def active_model(session: Session) -> ModelVersion | None:
    """The model that serves suggestions and the Try-it page, if any."""
    return session.scalars(select(ModelVersion).where(ModelVersion.is_active.is_(True)).limit(1)).first()


def activate_model(session: Session, model_id: int) -> ModelVersion:
    """Make model_id the only active model (also how a rollback is done)."""
    model = get_model(session, model_id)
    session.execute(update(ModelVersion).where(ModelVersion.id != model_id).values(is_active=False))
    model.is_active = True
    session.flush()
    return model


def beats_active(candidate_f1: float | None, active: ModelVersion | None) -> bool:
    """Whether a new model should become active: no active model, or a test F1 at least
    the active one's (an unscored model never replaces a scored one)."""
    if active is None or active.test_f1 is None:
        return True
    return candidate_f1 is not None and candidate_f1 >= active.test_f1
