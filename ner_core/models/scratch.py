"""A tagger trained from scratch: word + character + shape embeddings into an
``nn.TransformerEncoder``. No pretrained weights of any kind."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from ner_core.models.base import Tagger

VOCAB_FILE = "vocab.json"
PAD, UNK = 0, 1
MAX_CHARS = 20
MAX_POSITIONS = 512
_DIGIT = re.compile(r"\d")
SHAPES = ("pad", "lower", "title", "upper", "mixed", "number", "fraction", "punct", "other")
_FRACTIONS = set("¼½¾⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞")


def normalize_word(word: str) -> str:
    """The vocabulary key of a word: lowercased, every digit written as 0."""
    return _DIGIT.sub("0", word.lower())


def word_shape(word: str) -> int:
    """A coarse shape class of a word (index into SHAPES)."""
    if word in _FRACTIONS or "/" in word and word[0].isdigit():
        return SHAPES.index("fraction")
    if word[0].isdigit():
        return SHAPES.index("number")
    if word.isalpha() or "'" in word:
        if word.islower():
            return SHAPES.index("lower")
        if word.isupper():
            return SHAPES.index("upper")
        return SHAPES.index("title") if word[0].isupper() and word[1:].islower() else SHAPES.index("mixed")
    return SHAPES.index("punct") if not word.isalnum() else SHAPES.index("other")


def build_vocab(sentences: Iterable[Sequence[str]]) -> tuple[list[str], list[str]]:
    """(words, chars) seen in training sentences, each list starting with <pad>, <unk>."""
    words: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    for sentence in sentences:
        for w in sentence:
            words[normalize_word(w)] += 1
            chars.update(w)
    return ["<pad>", "<unk>", *sorted(words)], ["<pad>", "<unk>", *sorted(chars)]


class Features(NamedTuple):
    """The featurizer's view of one word."""

    word_id: int
    shape: int
    chars: np.ndarray  # [MAX_CHARS] char ids, 0-padded
    length: int  # characters kept (at most MAX_CHARS)


class Prepared(NamedTuple):
    """A sentence ready for packing: its cost in row positions and its per-word data."""

    cost: int
    words: list[Features]


class ScratchInputs:
    """Word lists → word, character and shape ids from the training vocabulary."""

    def __init__(self, words: list[str], chars: list[str]) -> None:
        self.words, self.chars = words, chars
        self.word_index = {w: i for i, w in enumerate(words)}
        self.char_index = {c: i for i, c in enumerate(chars)}
        self._cache: dict[str, Features] = {}

    @classmethod
    def from_directory(cls, directory: Path, architecture: dict[str, Any] | None = None) -> "ScratchInputs":
        """The vocabulary saved with a model directory."""
        vocab = json.loads((directory / VOCAB_FILE).read_text())
        return cls(vocab["words"], vocab["chars"])

    def features(self, word: str) -> Features:
        """(word id, shape id, char ids [MAX_CHARS], length) of one word, memoized."""
        cached = self._cache.get(word)
        if cached is None:
            chars = np.zeros(MAX_CHARS, dtype=np.int64)
            chars[: min(len(word), MAX_CHARS)] = [self.char_index.get(c, UNK) for c in word[:MAX_CHARS]]
            cached = Features(self.word_index.get(normalize_word(word), UNK), word_shape(word), chars,
                              min(len(word), MAX_CHARS))
            if len(self._cache) < 200_000:
                self._cache[word] = cached
        return cached

    def __call__(self, words: Sequence[Sequence[str]]) -> dict[str, torch.Tensor]:
        n = min(max((len(w) for w in words), default=0), MAX_POSITIONS)
        word_ids = np.zeros((len(words), n), dtype=np.int64)
        shapes = np.zeros((len(words), n), dtype=np.int64)
        char_ids = np.zeros((len(words), n, MAX_CHARS), dtype=np.int64)
        mask = np.zeros((len(words), n), dtype=np.bool_)
        for i, sentence in enumerate(words):
            mask[i, : len(sentence)] = True
            for j, w in enumerate(sentence[:n]):
                word_ids[i, j], shapes[i, j], char_ids[i, j], _ = self.features(w)
        return {"word_ids": torch.from_numpy(word_ids), "char_ids": torch.from_numpy(char_ids),
                "shapes": torch.from_numpy(shapes), "word_mask": torch.from_numpy(mask)}

    # Packed inference: several sentences share one row, each attending only to itself.
    row_budget = 64  # words per row: a TASTEset recipe (~33 words) is one row at batch 1

    def prepare(self, sentences: Sequence[Sequence[str]]) -> list[Prepared]:
        """Per sentence: its features, and its cost (words) in a packed row."""
        out = []
        for sentence in sentences:
            feats = [self.features(w) for w in sentence[:MAX_POSITIONS]]
            out.append(Prepared(len(feats), feats))
        return out

    def pack(self, rows: Sequence[Sequence[Prepared]]) -> dict[str, np.ndarray]:
        """Inputs of the packed graph: rows of prepared sentences, positions restarting
        and segment ids (1, 2, ...; 0 = padding) changing at each sentence."""
        n = max(sum(p.cost for p in row) for row in rows)
        longest = max((f.length for row in rows for p in row for f in p.words), default=0)
        # Every word shorter than MAX_CHARS - 1 keeps an all-padding window in the char
        # CNN, so cutting the padding to the longest word + 2 leaves the max-pool unchanged.
        c = min(MAX_CHARS, longest + 2)
        word_ids = np.zeros((len(rows), n), dtype=np.int64)
        shapes = np.zeros((len(rows), n), dtype=np.int64)
        char_ids = np.zeros((len(rows), n, c), dtype=np.int64)
        positions = np.zeros((len(rows), n), dtype=np.int64)
        segments = np.zeros((len(rows), n), dtype=np.int64)
        for i, row in enumerate(rows):  # one assignment per array and row: this runs per recipe
            feats = [f for prepared in row for f in prepared.words]
            if not feats:
                continue
            costs = [prepared.cost for prepared in row]
            word_ids[i, : len(feats)] = [f.word_id for f in feats]
            shapes[i, : len(feats)] = [f.shape for f in feats]
            char_ids[i, : len(feats)] = np.stack([f.chars[:c] for f in feats])
            positions[i, : len(feats)] = [j for cost in costs for j in range(cost)]
            segments[i, : len(feats)] = np.repeat(np.arange(1, len(row) + 1), costs)
        return {"word_ids": word_ids, "char_ids": char_ids, "shapes": shapes, "position_ids": positions,
                "segment_ids": segments}


class ScratchTagger(Tagger):
    """Embeddings (word ⊕ char-CNN ⊕ shape) → TransformerEncoder → linear."""

    kind = "scratch"

    def __init__(self, words: list[str], chars: list[str], tag_names: Sequence[str], *, d_model: int = 192,
                 layers: int = 2, heads: int = 4, char_dim: int = 48, dropout: float = 0.1,
                 word_dropout: float = 0.1) -> None:
        super().__init__(tag_names)
        self.inputs = ScratchInputs(words, chars)
        self.hparams = dict(d_model=d_model, layers=layers, heads=heads, char_dim=char_dim,
                            dropout=dropout, word_dropout=word_dropout)
        self.word_embedding = nn.Embedding(len(words), d_model // 2, padding_idx=PAD)
        self.char_embedding = nn.Embedding(len(chars), char_dim, padding_idx=PAD)
        self.char_cnn = nn.Conv1d(char_dim, d_model // 2, kernel_size=3, padding=1)
        self.shape_embedding = nn.Embedding(len(SHAPES), 16)
        self.project = nn.Linear(d_model + 16, d_model)
        self.position = nn.Embedding(MAX_POSITIONS, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(d_model, len(tag_names))
        self._init_weights()

    def _init_weights(self) -> None:
        # Small normal init for embeddings (as in GPT/BERT); zero the padding rows.
        for emb in (self.word_embedding, self.char_embedding, self.shape_embedding, self.position):
            nn.init.normal_(emb.weight, std=0.02)
        with torch.no_grad():
            self.word_embedding.weight[PAD].zero_()
            self.char_embedding.weight[PAD].zero_()

    def forward(self, word_ids: torch.Tensor, char_ids: torch.Tensor, shapes: torch.Tensor,
                word_mask: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                segment_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, W, T]. Plain batches give word_mask; packed rows give position_ids and
        segment_ids instead (attention stays within a segment; 0 marks padding)."""
        b, w, c = char_ids.shape
        if self.training and self.hparams["word_dropout"] and word_mask is not None:
            drop = torch.rand(word_ids.shape, device=word_ids.device) < self.hparams["word_dropout"]
            word_ids = word_ids.masked_fill(drop & word_mask, UNK)
        chars = self.char_embedding(char_ids.view(b * w, c)).transpose(1, 2)  # [B*W, C_dim, C]
        chars = self.char_cnn(chars).amax(dim=2).view(b, w, -1)  # [B, W, D/2]
        x = torch.cat([self.word_embedding(word_ids), chars, self.shape_embedding(shapes)], dim=-1)
        x = self.project(self.dropout(x))  # [B, W, D]
        if segment_ids is None:
            x = x + self.position(torch.arange(w, device=x.device))[None]
            x = self.encoder(x, src_key_padding_mask=~word_mask)  # [B, W, D]
        else:
            x = x + self.position(position_ids)
            blocked = segment_ids[:, :, None] != segment_ids[:, None, :]  # [B, W, W]
            x = self.encoder(x, mask=blocked.repeat_interleave(self.hparams["heads"], dim=0))
        return self.head(self.dropout(self.norm(x)))  # [B, W, T]

    def architecture(self) -> dict[str, Any]:
        return dict(self.hparams)

    def save_vocab(self, directory: Path) -> None:
        vocab = {"words": self.inputs.words, "chars": self.inputs.chars}
        (directory / VOCAB_FILE).write_text(json.dumps(vocab))

    @classmethod
    def from_directory(cls, directory: Path, architecture: dict[str, Any], tag_names: list[str]) -> "ScratchTagger":
        inputs = ScratchInputs.from_directory(directory)
        return cls(inputs.words, inputs.chars, tag_names, **architecture)
