"""A pretrained Hugging Face encoder with dropout and a linear head on each word's first
sub-word (the other pieces and special tokens carry no label)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from ner_core.models.base import Tagger

ENCODER_DIR = "encoder"
# Byte-level BPE tokenizers need this to tokenize pre-split words as they are in text.
_PREFIX_SPACE_TYPES = {"roberta", "gpt2", "bart", "longformer", "deberta", "mpnet", "camembert"}


class EncoderLoadError(RuntimeError):
    """The encoder named by a model id or directory could not be loaded."""


def load_tokenizer(name_or_dir: str):
    """A fast tokenizer for the encoder, ready for pre-split words."""
    from transformers import AutoConfig, AutoTokenizer

    try:
        model_type = AutoConfig.from_pretrained(name_or_dir).model_type
        kwargs = {"add_prefix_space": True} if model_type in _PREFIX_SPACE_TYPES else {}
        tokenizer = AutoTokenizer.from_pretrained(name_or_dir, use_fast=True, **kwargs)
    except (OSError, ValueError) as e:
        raise EncoderLoadError(
            f"cannot load the tokenizer of {name_or_dir!r}: {e}. Give a local model directory "
            "or a model id available in the local Hugging Face cache."
        ) from e
    if not tokenizer.is_fast:
        raise EncoderLoadError(f"{name_or_dir!r} has no fast tokenizer; word alignment needs one")
    return tokenizer


class BertInputs:
    """Word lists → encoder inputs plus each word's first sub-word position."""

    def __init__(self, tokenizer, max_length: int = 512) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def from_directory(cls, directory: Path, architecture: dict[str, Any]) -> "BertInputs":
        """The featurizer saved with a model directory."""
        return cls(load_tokenizer(str(directory / ENCODER_DIR)), architecture["max_length"])

    def __call__(self, words: Sequence[Sequence[str]]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(
            [list(w) for w in words], is_split_into_words=True, truncation=True,
            max_length=self.max_length, padding=True, return_tensors="pt",
        )
        n_words = max((len(w) for w in words), default=0)
        first = torch.zeros(len(words), n_words, dtype=torch.long)
        mask = torch.zeros(len(words), n_words, dtype=torch.bool)
        for i, sentence in enumerate(words):
            mask[i, : len(sentence)] = True
            seen: set[int] = set()
            for position, word in enumerate(batch.word_ids(i)):
                if word is not None and word not in seen:
                    seen.add(word)
                    first[i, word] = position
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        return {**inputs, "first_subword": first, "word_mask": mask}


class BertTagger(Tagger):
    """Encoder → dropout → linear, read at each word's first sub-word."""

    kind = "bert"

    def __init__(self, encoder: nn.Module, tokenizer, tag_names: Sequence[str], *, dropout: float = 0.1,
                 max_length: int = 512) -> None:
        super().__init__(tag_names)
        self.encoder = encoder
        self.inputs = BertInputs(tokenizer, max_length)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, len(tag_names))

    @classmethod
    def pretrained(cls, name_or_dir: str, tag_names: Sequence[str], *, dropout: float = 0.1) -> "BertTagger":
        """A tagger on a pretrained encoder (model id or directory) with a fresh head."""
        from transformers import AutoModel

        tokenizer = load_tokenizer(name_or_dir)
        try:
            encoder = AutoModel.from_pretrained(name_or_dir, add_pooling_layer=False)
        except TypeError:  # encoders without a pooling layer option
            encoder = AutoModel.from_pretrained(name_or_dir)
        except OSError as e:
            raise EncoderLoadError(f"cannot load encoder weights from {name_or_dir!r}: {e}") from e
        return cls(encoder, tokenizer, tag_names, dropout=dropout)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, first_subword: torch.Tensor,
                word_mask: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state  # [B, S, H]
        index = first_subword.unsqueeze(-1).expand(-1, -1, hidden.size(-1))  # [B, W, H]
        words = hidden.gather(1, index)  # [B, W, H]
        return self.head(self.dropout(words))  # [B, W, T]

    def architecture(self) -> dict[str, Any]:
        return {"dropout": self.dropout.p, "max_length": self.inputs.max_length,
                "encoder_type": self.encoder.config.model_type}

    def save_vocab(self, directory: Path) -> None:
        self.encoder.config.save_pretrained(directory / ENCODER_DIR)
        self.inputs.tokenizer.save_pretrained(directory / ENCODER_DIR)

    @classmethod
    def from_directory(cls, directory: Path, architecture: dict[str, Any], tag_names: list[str]) -> "BertTagger":
        from transformers import AutoConfig, AutoModel

        encoder_dir = str(directory / ENCODER_DIR)
        config = AutoConfig.from_pretrained(encoder_dir)
        try:
            encoder = AutoModel.from_config(config, add_pooling_layer=False)
        except TypeError:
            encoder = AutoModel.from_config(config)
        inputs = BertInputs.from_directory(directory, architecture)
        return cls(encoder, inputs.tokenizer, tag_names, dropout=architecture["dropout"],
                   max_length=inputs.max_length)
