"""The database tables as SQLAlchemy 2.0 typed ORM classes.

Times are naive UTC (``utcnow()``), a convention every supported database keeps.
Spans are stored as half-open character offsets into the sentence text, never as tags.
"""
from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ner_core.spans import Span


def utcnow() -> datetime:
    """The current time as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class SentenceStatus(enum.StrEnum):
    """Where a sentence is in the labelling workflow."""

    UNLABELLED = "unlabelled"
    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    SKIPPED = "skipped"


class Split(enum.StrEnum):
    """The frozen split a sentence belongs to, fixed when it enters the database."""

    TRAIN = "train"
    TEST = "test"


class SpanSource(enum.StrEnum):
    """Who produced a span (or a history entry)."""

    HUMAN = "human"
    MODEL = "model"
    IMPORT = "import"


class RunStatus(enum.StrEnum):
    """The life of a training run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Recipe(Base):
    """A group of ingredient lines imported or added together."""

    __tablename__ = "recipes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Sentence(Base):
    """One ingredient line: its text, place in its recipe, hash, split and status."""

    __tablename__ = "sentences"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    split: Mapped[str] = mapped_column(String(8), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=SentenceStatus.UNLABELLED)
    # Higher means the model that suggested the current spans was less sure of them.
    uncertainty: Mapped[float | None] = mapped_column(Float, default=None)
    suggestion_model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    spans: Mapped[list[SpanRow]] = relationship(
        back_populates="sentence", cascade="all, delete-orphan", order_by="SpanRow.start"
    )
    history: Mapped[list[HistoryEntry]] = relationship(order_by="HistoryEntry.id")


class SpanRow(Base):
    """A current span of a sentence with where it came from."""

    __tablename__ = "spans"

    id: Mapped[int] = mapped_column(primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)

    sentence: Mapped[Sentence] = relationship(back_populates="spans")

    def to_span(self) -> Span:
        """The span as the ner_core currency."""
        return Span(self.start, self.end, self.label)


class HistoryEntry(Base):
    """One change to a sentence's spans or status; rows are only ever appended."""

    __tablename__ = "span_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    status_before: Mapped[str | None] = mapped_column(String(16))
    status_after: Mapped[str] = mapped_column(String(16))
    # Lists of {"start", "end", "label", "source", "model_id", "confidence"}.
    spans_before: Mapped[list[Any]] = mapped_column(JSON)
    spans_after: Mapped[list[Any]] = mapped_column(JSON)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("span_history.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class TrainingRun(Base):
    """A request to train a model, and what became of it."""

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=RunStatus.QUEUED)
    tagger: Mapped[str] = mapped_column(String(40))
    encoder: Mapped[str | None] = mapped_column(String(500))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_size: Mapped[int | None] = mapped_column(Integer, default=None)
    snapshot_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    worker_pid: Mapped[int | None] = mapped_column(Integer, default=None)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class RunProgress(Base):
    """A progress report of a running training run (written every few seconds)."""

    __tablename__ = "run_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("training_runs.id"), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    epochs: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    steps_per_epoch: Mapped[int] = mapped_column(Integer)
    loss: Mapped[float | None] = mapped_column(Float)
    dev_f1: Mapped[float | None] = mapped_column(Float)
    elapsed: Mapped[float] = mapped_column(Float)
    eta: Mapped[float | None] = mapped_column(Float)
    epoch_end: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ModelVersion(Base):
    """A trained model directory registered with its test-split metrics."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"), default=None)
    path: Mapped[str] = mapped_column(String(1000), unique=True)
    tagger: Mapped[str] = mapped_column(String(40))
    encoder: Mapped[str | None] = mapped_column(String(500))
    n_train: Mapped[int] = mapped_column(Integer)
    snapshot_hash: Mapped[str | None] = mapped_column(String(64))
    n_test: Mapped[int] = mapped_column(Integer)
    test_f1: Mapped[float | None] = mapped_column(Float)
    # ner_core.evaluate Report.to_dict(): micro precision/recall/f1 and per_type.
    test_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    train_seconds: Mapped[float] = mapped_column(Float)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WorkerHeartbeat(Base):
    """The single row a live worker refreshes every few seconds."""

    __tablename__ = "worker_heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    hostname: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    beat_at: Mapped[datetime] = mapped_column(DateTime)
