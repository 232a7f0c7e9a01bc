"""The two taggers and how to build or load either from plain data."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from ner_core.config import TrainConfig
from ner_core.models.base import CONFIG_FILE, WEIGHTS_FILE, Tagger
from ner_core.models.bert import BertInputs, BertTagger
from ner_core.models.scratch import ScratchInputs, ScratchTagger, build_vocab

__all__ = ["Tagger", "BertTagger", "ScratchTagger", "build_tagger", "load_tagger", "load_inputs",
           "read_model_config", "ModelDirectoryError"]

_KINDS: dict[str, type[Tagger]] = {"bert": BertTagger, "scratch": ScratchTagger}
_INPUTS = {"bert": BertInputs, "scratch": ScratchInputs}


class ModelDirectoryError(ValueError):
    """A saved model directory that is missing files or does not describe a tagger."""


def build_tagger(config: TrainConfig, tag_names: Sequence[str], train_words: Sequence[Sequence[str]]) -> Tagger:
    """A fresh tagger of config.tagger; the scratch (and distilled student) vocabulary
    comes from train_words."""
    if config.tagger == "bert":
        return BertTagger.pretrained(config.encoder, tag_names, dropout=config.dropout, layers=config.encoder_layers)
    words, chars = build_vocab(train_words)
    return ScratchTagger(words, chars, tag_names, d_model=config.d_model, layers=config.layers,
                         heads=config.heads, char_dim=config.char_dim, dropout=config.dropout,
                         word_dropout=config.word_dropout)


def read_model_config(directory: str | Path) -> dict:
    """The config JSON of a saved model directory, checked for the keys loading needs."""
    path = Path(directory) / CONFIG_FILE
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ModelDirectoryError(f"{directory} is not a saved model: {CONFIG_FILE} is missing") from e
    except json.JSONDecodeError as e:
        raise ModelDirectoryError(f"{path} is not valid JSON: {e}") from e
    missing = {"kind", "tag_names", "architecture"} - set(config)
    if missing or config.get("kind") not in _KINDS:
        raise ModelDirectoryError(f"{path} does not describe a tagger (kind={config.get('kind')!r}, "
                                  f"missing {sorted(missing)})")
    return config


def load_tagger(directory: str | Path) -> Tagger:
    """A trained tagger from its directory alone (safetensors weights, never pickles)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config = read_model_config(directory)
    tagger = _KINDS[config["kind"]].from_directory(directory, config["architecture"], config["tag_names"])
    try:
        state = load_file(str(directory / WEIGHTS_FILE))
    except (OSError, RuntimeError) as e:
        raise ModelDirectoryError(f"cannot read weights {directory / WEIGHTS_FILE}: {e}") from e
    tagger.load_state_dict(state)
    return tagger.eval()


def load_inputs(directory: str | Path, config: dict | None = None):
    """The featurizer (word lists → input tensors) of a saved model, without its weights."""
    config = config or read_model_config(directory)
    return _INPUTS[config["kind"]].from_directory(Path(directory), config["architecture"])
