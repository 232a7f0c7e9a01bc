"""The interface both taggers share: word tokens in, word-level tag logits out."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"


class Tagger(nn.Module):
    """A token tagger: ``encode`` word lists into tensors, ``forward`` to logits [B, W, T].

    Subclasses set ``kind`` and ``inputs`` (a featurizer that needs no weights, so other
    backends share it) and implement ``forward``, ``architecture``,
    ``save_vocab`` and ``from_directory``.
    """

    kind: str = ""

    def __init__(self, tag_names: Sequence[str]) -> None:
        super().__init__()
        self.tag_names = list(tag_names)

    inputs: Callable[[Sequence[Sequence[str]]], dict[str, torch.Tensor]]  # the featurizer

    def encode(self, words: Sequence[Sequence[str]]) -> dict[str, torch.Tensor]:
        """Model inputs for a batch of word lists; always includes ``word_mask`` [B, W]."""
        return self.inputs(words)

    def architecture(self) -> dict[str, Any]:
        """What is needed, beside the vocabulary files, to rebuild this module."""
        raise NotImplementedError

    def save_vocab(self, directory: Path) -> None:
        """Write the tokenizer / vocabulary files into directory."""
        raise NotImplementedError

    @classmethod
    def from_directory(cls, directory: Path, architecture: dict[str, Any], tag_names: list[str]) -> "Tagger":
        """An untrained module with the shapes saved in directory (weights loaded after)."""
        raise NotImplementedError

    def save(self, directory: str | Path, *, train_config: dict[str, Any] | None = None,
             metrics: dict[str, Any] | None = None) -> Path:
        """Write weights (safetensors), config JSON, vocabulary and metrics into directory."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE))
        self.save_vocab(directory)
        config = {
            "kind": self.kind,
            "tag_names": self.tag_names,
            "id2label": dict(enumerate(self.tag_names)),
            "label2id": {t: i for i, t in enumerate(self.tag_names)},
            "architecture": self.architecture(),
            "train_config": train_config or {},
        }
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        (directory / METRICS_FILE).write_text(json.dumps(metrics or {}, indent=2))
        return directory
