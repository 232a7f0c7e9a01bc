"""Prediction: texts in, scored spans out, for any saved model directory and backend."""
from __future__ import annotations

import logging
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np
import torch

from ner_core.backends import BACKENDS, Runner, load_runner, torch_runner
from ner_core.data import Example, split_lines
from ner_core.decode import ScoredSpan, decode_many
from ner_core.models import Tagger, load_inputs, read_model_config
from ner_core.spans import Token, tokenize

log = logging.getLogger(__name__)

Encode = Callable[[Sequence[Sequence[str]]], dict[str, torch.Tensor]]
Run = Callable[[dict[str, torch.Tensor]], np.ndarray]


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, so padding stays small."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def tag_probabilities(encode: Encode, run: Run, sentences: Sequence[Sequence[str]], n_tags: int, *,
                      batch_size: int = 64) -> list[np.ndarray]:
    """Per-word tag probabilities [W, T] for each sentence (word lists), in input order."""
    out: list[np.ndarray] = [np.zeros((0, n_tags))] * len(sentences)
    for batch in length_batches([len(s) for s in sentences], batch_size):
        batch = [i for i in batch if sentences[i]]
        if batch:
            probs = run(encode([sentences[i] for i in batch]))  # [B, W, T]
            for row, i in enumerate(batch):
                out[i] = probs[row, : len(sentences[i])]
    return out


def pack_rows(costs: Sequence[int], budget: int) -> list[list[int]]:
    """Sentence indices grouped into rows of total cost at most budget (best-fit
    decreasing; a sentence over the budget gets a row of its own). Empty sentences are
    left out."""
    rows: list[list[int]] = []
    by_room: dict[int, list[int]] = {}  # room left -> rows with exactly that room (no empty lists)
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        cost = costs[i]
        if cost <= 0:
            continue
        fit = min((room for room in by_room if room >= cost), default=None)
        if fit is None:
            rows.append([i])
            row, room = len(rows) - 1, budget - cost
        else:
            row = by_room[fit].pop()
            if not by_room[fit]:
                del by_room[fit]
            rows[row].append(i)
            room = fit - cost
        if room > 0:
            by_room.setdefault(room, []).append(row)
    return rows


class PackingInputs(Protocol):
    """A featurizer that can pack sentences into rows (BertInputs, ScratchInputs)."""

    row_budget: int  # positions per row (a longer sentence gets a row of its own)

    def prepare(self, sentences: Sequence[Sequence[str]]) -> list: ...  # items with a .cost

    def pack(self, rows: Sequence[Sequence]) -> dict[str, np.ndarray]: ...


def balanced_groups(costs: Sequence[int], parts: int) -> list[list[int]]:
    """Indices of positive cost in at most ``parts`` groups of near-equal total cost
    (longest first, each to the lightest group)."""
    groups: list[list[int]] = [[] for _ in range(max(parts, 1))]
    loads = [0] * len(groups)
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        if costs[i] > 0:
            lightest = loads.index(min(loads))
            groups[lightest].append(i)
            loads[lightest] += costs[i]
    return [group for group in groups if group]


def packed_probabilities(inputs: PackingInputs, run: Run, sentences: Sequence[Sequence[str]], n_tags: int, *,
                         rows_per_run: int, pool: Executor | None = None, lanes: int = 1) -> list[np.ndarray]:
    """tag_probabilities for a graph that reads packed rows: sentences share rows of at
    most inputs.row_budget positions (sub-words or words) and attend only to themselves.
    With a pool, the sentences are split into ``lanes`` groups of equal cost, tagged at once."""
    prepared = inputs.prepare(sentences)
    costs = [p.cost if sentences[i] else 0 for i, p in enumerate(prepared)]
    out: list[np.ndarray] = [np.zeros((0, n_tags), dtype=np.float32)] * len(sentences)

    def tag(group: list[int]) -> None:  # fills out[i] for the sentences of group
        rows = [[group[k] for k in row] for row in pack_rows([costs[i] for i in group], inputs.row_budget)]
        for batch in length_batches([sum(costs[i] for i in row) for row in rows], rows_per_run):
            probs = run(inputs.pack([[prepared[i] for i in rows[r]] for r in batch]))  # [R, W, T]
            for k, r in enumerate(batch):
                at = 0
                for i in rows[r]:
                    out[i] = probs[k, at : at + len(sentences[i])]
                    at += len(sentences[i])

    groups = balanced_groups(costs, lanes if pool is not None else 1)
    others = [pool.submit(tag, group) for group in groups[1:]] if pool is not None else []
    if groups:
        tag(groups[0])
    for other in others:
        other.result()
    return out


MAX_UNIT_WORDS = 200  # longer lines are cut; a recipe-trained model reads runs of lines up to this


def tagging_units(text: str, unit: str) -> list[tuple[int, str]]:
    """(offset, text) pieces a model tags at once: each non-blank line (a line of more
    than MAX_UNIT_WORDS words in pieces of that many), or, for models trained on recipes,
    runs of whole lines of at most MAX_UNIT_WORDS words."""
    return [(offset, piece) for offset, piece, _ in tokenized_units(text, unit)]


def tokenized_units(text: str, unit: str) -> list[tuple[int, str, list[Token]]]:
    """tagging_units with each piece's tokens (offsets relative to the piece)."""
    pieces: list[tuple[int, str, list[Token]]] = []
    for line in split_lines(Example(text)):
        tokens = tokenize(line.example.text)
        if len(tokens) <= MAX_UNIT_WORDS:
            pieces.append((line.offset, line.example.text, tokens))
            continue
        for k in range(0, len(tokens), MAX_UNIT_WORDS):
            chunk = tokens[k : k + MAX_UNIT_WORDS]
            start, end = chunk[0].start, chunk[-1].end
            pieces.append((line.offset + start, line.example.text[start:end],
                           [Token(t.text, t.start - start, t.end - start) for t in chunk]))
    if unit == "lines":
        return pieces
    units: list[tuple[int, str, list[Token]]] = []
    start: int | None = None
    end = words = 0
    for offset, piece, tokens in pieces:
        if start is not None and words + len(tokens) > MAX_UNIT_WORDS:
            units.append((start, text[start:end], tokenize(text[start:end])))
            start = None
        if start is None:
            start, words = offset, 0
        end, words = offset + len(piece), words + len(tokens)
    if start is not None:
        units.append((start, text[start:end], tokenize(text[start:end])))
    return units


class Predictor:
    """A loaded model that turns texts into scored spans, on one backend."""

    rows_per_run = 16  # packed rows per ONNX Runtime call

    def __init__(self, encode: Encode, runner: Runner, tag_names: Sequence[str], *, directory: Path | None = None,
                 unit: str = "lines") -> None:
        self.encode, self.run, self.tag_names = encode, runner.run, list(tag_names)
        self.backend, self.layout, self.lanes = runner.backend, runner.layout, runner.lanes
        self.directory, self.unit = directory, unit
        # lanes - 1 helper threads; the calling thread takes the first group itself
        self._pool = ThreadPoolExecutor(self.lanes - 1, thread_name_prefix="ner-lane") if self.lanes > 1 else None

    @classmethod
    def from_tagger(cls, tagger: Tagger, *, unit: str = "lines") -> "Predictor":
        """A PyTorch predictor around an in-memory tagger (switched to eval mode)."""
        tagger.eval()
        return cls(tagger.encode, Runner(torch_runner(tagger), "torch-fp32"), tagger.tag_names, unit=unit)

    @classmethod
    def load(cls, directory: str | Path, *, backend: str = "auto", threads: int | None = None) -> "Predictor":
        """Load a saved model directory (needs nothing but the directory). ``auto`` takes
        the fastest backend present (onnx-int8, onnx-fp32, then torch-fp32)."""
        if backend not in ("auto", *BACKENDS):
            raise ValueError(f"backend must be auto or one of {BACKENDS}, got {backend!r}")
        directory = Path(directory)
        start = time.perf_counter()
        config = read_model_config(directory)
        runner = load_runner(directory, backend, kind=config["kind"], threads=threads)
        unit = config.get("train_config", {}).get("unit", "lines")
        predictor = cls(load_inputs(directory, config), runner, config["tag_names"], directory=directory, unit=unit)
        log.info("loaded %s (%s) in %.2fs", directory, runner.backend, time.perf_counter() - start)
        return predictor

    def probabilities(self, sentences: Sequence[Sequence[str]], *, batch_size: int = 64) -> list[np.ndarray]:
        """Tag probabilities [W, T] for each word list, in input order."""
        if self.layout == "packed":
            return packed_probabilities(self.encode, self.run, sentences, len(self.tag_names),
                                        rows_per_run=self.rows_per_run, pool=self._pool, lanes=self.lanes)
        return tag_probabilities(self.encode, self.run, sentences, len(self.tag_names), batch_size=batch_size)

    def predict(self, texts: Sequence[str], *, batch_size: int = 64) -> list[list[ScoredSpan]]:
        """For each text, its spans with start, end, label and confidence in [0, 1]; texts
        are tagged by line (or by recipe, as the model was trained), in length-sorted batches."""
        lines: list[tuple[int, int, list[Token]]] = []  # (text index, offset, tokens)
        for i, text in enumerate(texts):
            for offset, _, tokens in tokenized_units(text, self.unit):
                lines.append((i, offset, tokens))
        words = [[t.text for t in tokens] for _, _, tokens in lines]
        probs = self.probabilities(words, batch_size=batch_size)
        results: list[list[ScoredSpan]] = [[] for _ in texts]
        decoded = decode_many([tokens for _, _, tokens in lines], probs, self.tag_names,
                              offsets=[offset for _, offset, _ in lines])
        for (i, _, _), spans in zip(lines, decoded):
            results[i] += spans
        return results
