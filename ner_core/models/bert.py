"""A pretrained Hugging Face encoder with dropout and a linear head on each word's first
sub-word (the other pieces and special tokens carry no label)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np

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


def first_subwords(word_ids: Sequence[int | None], n_words: int) -> list[int]:
    """Each word's first sub-word position from a tokenizer's word_ids(); 0 (the first
    special token) for a word with no sub-word left (cut off, or tokenized to nothing)."""
    first = [0] * n_words
    seen: set[int] = set()
    for position, word in enumerate(word_ids):
        if word is not None and word not in seen:
            seen.add(word)
            first[word] = position
    return first


class Prepared(NamedTuple):
    """A sentence ready for packing: its sub-word ids (special tokens included) and the
    position of each word's first sub-word (0, the first special token, for a word that
    has none or was cut off)."""

    cost: int
    ids: list[int]
    first: list[int]


_CHECK_SENTENCES = [["2", "cups", "all", "-", "purpose", "flour", ",", "sifted"],
                    ["½", "tsp", "Crème", "fraîche", "(", "8", "oz", ".)", "jalapeño's"], ["x"]]


class BertInputs:
    """Word lists → encoder inputs plus each word's first sub-word position."""

    def __init__(self, tokenizer, max_length: int = 512) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        # Sub-words per packed row. A TASTEset recipe is ~62 with its special tokens, split
        # over two lanes at batch 1; attention costs a row's length squared whatever the
        # mask. Seed split, int8, 2 lanes, recipes/s at batch 1 / batched: rows of 32
        # 442 / 798, 48 476 / 802, 64 489 / 736 (and 128 ran batched 1.5x slower than 32).
        self.row_budget = 48
        self._pieces: dict[str, list[int]] = {}
        self._specials: tuple[list[int], list[int]] | None = None  # (before, after) the words
        self._per_word: bool | None = None  # does word-by-word tokenization match the tokenizer?

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
            first[i, : len(sentence)] = torch.tensor(first_subwords(batch.word_ids(i), len(sentence)))
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        return {**inputs, "first_subword": first, "word_mask": mask}

    # Packed inference: several sentences (each with its own special tokens and positions
    # from 0) share one row, each attending only to itself, as if run one by one.

    def prepare(self, sentences: Sequence[Sequence[str]]) -> list[Prepared]:
        """Per sentence: sub-word ids and first-sub-word positions, as __call__ makes them."""
        if self._per_word is None:
            self._per_word = self._check_per_word()
        if not self._per_word:
            return [self._from_tokenizer(list(s)) for s in sentences]
        return self._from_pieces(sentences)

    def _from_pieces(self, sentences: Sequence[Sequence[str]]) -> list[Prepared]:
        """prepare from memoized per-word pieces and the special tokens around them."""
        words = {w for s in sentences for w in s}
        missing = sorted(words - self._pieces.keys())
        if len(self._pieces) + len(missing) > 200_000:  # bound the memo; keep what this call needs
            self._pieces.clear()
            missing = sorted(words)
        if missing:
            encoded = self.tokenizer([[w] for w in missing], is_split_into_words=True, add_special_tokens=False)
            self._pieces.update(zip(missing, encoded["input_ids"]))
        before, after = self._specials
        room = self.max_length - len(before) - len(after)
        out = []
        for sentence in sentences:
            ids, first = list(before), []
            for word in sentence:
                pieces = self._pieces[word]
                first.append(len(ids) if pieces and len(ids) - len(before) < room else 0)
                ids += pieces
            ids = ids[: len(before) + room] + after
            out.append(Prepared(len(ids), ids, first))
        return out

    def _from_tokenizer(self, words: list[str]) -> Prepared:
        encoded = self.tokenizer(words, is_split_into_words=True, truncation=True, max_length=self.max_length)
        return Prepared(len(encoded["input_ids"]), encoded["input_ids"], first_subwords(encoded.word_ids(), len(words)))

    def _check_per_word(self) -> bool:
        """True when tokenizing word by word (memoized) gives exactly the tokenizer's ids."""
        sample = self.tokenizer(["x"], is_split_into_words=True)["input_ids"]
        bare = self.tokenizer(["x"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
        at = next((i for i in range(len(sample)) if sample[i : i + len(bare)] == bare), None)
        if at is None:
            return False
        self._specials = (sample[:at], sample[at + len(bare):])
        if self._from_pieces(_CHECK_SENTENCES) == [self._from_tokenizer(w) for w in _CHECK_SENTENCES]:
            return True
        self._pieces.clear()
        return False

    def pack(self, rows: Sequence[Sequence[Prepared]]) -> dict[str, np.ndarray]:
        """Inputs of the packed graph for rows of prepared sentences."""
        n = max(sum(p.cost for p in row) for row in rows)
        w = max(sum(len(p.first) for p in row) for row in rows)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = np.full((len(rows), n), pad, dtype=np.int64)
        positions = np.zeros((len(rows), n), dtype=np.int64)
        segments = np.zeros((len(rows), n), dtype=np.int64)
        first = np.zeros((len(rows), w), dtype=np.int64)
        for i, row in enumerate(rows):
            at = word = 0
            for k, prepared in enumerate(row, start=1):
                end = at + prepared.cost
                input_ids[i, at:end] = prepared.ids
                positions[i, at:end] = np.arange(prepared.cost)
                segments[i, at:end] = k
                first[i, word : word + len(prepared.first)] = np.asarray(prepared.first, dtype=np.int64) + at
                at, word = end, word + len(prepared.first)
        return {"input_ids": input_ids, "token_type_ids": np.zeros_like(input_ids), "position_ids": positions,
                "segment_ids": segments, "first_subword": first}


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
    def pretrained(cls, name_or_dir: str, tag_names: Sequence[str], *, dropout: float = 0.1,
                   layers: int = 0) -> "BertTagger":
        """A tagger on a pretrained encoder (model id or directory) with a fresh head;
        layers > 0 keeps only the encoder's first that many layers (faster, usually less
        accurate)."""
        from transformers import AutoConfig, AutoModel

        tokenizer = load_tokenizer(name_or_dir)
        kwargs = {}
        if layers:
            available = getattr(AutoConfig.from_pretrained(name_or_dir), "num_hidden_layers", None)
            if available is None or not 0 < layers <= available:
                raise EncoderLoadError(f"{name_or_dir!r} has {available} layers; cannot keep {layers}")
            kwargs["num_hidden_layers"] = layers
        try:
            encoder = AutoModel.from_pretrained(name_or_dir, add_pooling_layer=False, **kwargs)
        except TypeError:  # encoders without a pooling layer option
            encoder = AutoModel.from_pretrained(name_or_dir, **kwargs)
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
