"""Packed inference: rows of several lines must give what the lines give one by one."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ner_core import export
from ner_core.decode import decode, decode_many, viterbi
from ner_core.export import export_onnx
from ner_core.models import BertTagger, ScratchTagger, build_vocab
from ner_core.predict import Predictor, balanced_groups, pack_rows
from ner_core.spans import Token, tag_names, tags_to_spans, tokenize

LINES = [["2", "cups", "flour", ",", "sifted"], ["salt"], ["1", "(", "14.5", "-", "ounces", ")", "can", "tomatoes"],
         ["3", "large", "eggs"], ["sweet", "olive", "oil", "for", "garnish"], ["½", "cup", "butter", ",", "melted"]]


def test_pack_rows_respects_the_budget_and_places_every_sentence_once() -> None:
    rng = random.Random(3)
    costs = [rng.randint(0, 40) for _ in range(300)]
    rows = pack_rows(costs, 32)
    placed = sorted(i for row in rows for i in row)
    assert placed == [i for i, c in enumerate(costs) if c > 0]  # empty sentences are left out
    for row in rows:
        assert len(row) == 1 or sum(costs[i] for i in row) <= 32  # only an oversize one stands alone
    assert len(rows) <= sum(costs) / 32 * 1.2 + sum(c > 32 for c in costs)  # close to perfectly full


@pytest.mark.parametrize("costs, parts, expected", [
    ([5, 3, 3, 2], 2, [[0, 3], [1, 2]]),  # longest first, each to the lightest group
    ([4, 0, 4], 2, [[0], [2]]),  # empty sentences are left out
    ([4, 1], 3, [[0], [1]]),  # never an empty group
    ([4, 1, 1], 1, [[0, 1, 2]]),
    ([], 2, []),
])
def test_balanced_groups(costs, parts, expected) -> None:
    assert balanced_groups(costs, parts) == expected


def test_bert_prepare_matches_the_tokenizer(tiny_bert_dir) -> None:
    tagger = BertTagger.pretrained(str(tiny_bert_dir), tag_names())
    inputs = tagger.inputs
    sentences = [*LINES, ["unknownword", "Flour", "ÉPICES"], ["cups"] * 600]  # the last is cut at max_length
    prepared = inputs.prepare(sentences)
    assert inputs._per_word is True
    assert prepared == [inputs._from_tokenizer(s) for s in sentences]
    assert prepared[-1].cost == inputs.max_length
    inputs._per_word = False  # the general path (tokenizers whose words interact) gives the same
    assert inputs.prepare(sentences) == prepared


def _line_probabilities(tagger, lines) -> list[np.ndarray]:
    with torch.inference_mode():
        probs = torch.softmax(tagger(**tagger.encode(lines)), dim=-1).numpy()
    return [probs[i, : len(words)] for i, words in enumerate(lines)]


def test_scratch_packed_rows_equal_lines_one_by_one() -> None:
    words, chars = build_vocab(LINES)
    torch.manual_seed(0)
    tagger = ScratchTagger(words, chars, tag_names(), d_model=32, layers=2, heads=2).eval()
    rows = [[0, 1, 2], [3, 4], [5]]
    feed = tagger.inputs.pack([[p for i, p in enumerate(tagger.inputs.prepare(LINES)) if i in row] for row in rows])
    assert feed["char_ids"].shape[2] < 20  # char padding cut to the longest word + 2
    with torch.inference_mode():
        packed = torch.softmax(tagger(**{k: torch.from_numpy(v) for k, v in feed.items()}), dim=-1).numpy()
    expected = _line_probabilities(tagger, LINES)
    for r, row in enumerate(rows):
        got = np.concatenate([expected[i] for i in row])
        np.testing.assert_allclose(packed[r, : len(got)], got, atol=1e-5)


def test_bert_falls_back_to_the_line_graph_when_it_cannot_pack(tiny_bert_dir, tmp_path, monkeypatch) -> None:
    tagger = BertTagger.pretrained(str(tiny_bert_dir), tag_names()).eval()
    tagger.save(tmp_path / "model")
    monkeypatch.setattr(export, "pack_bert_graph", lambda path: False)
    export_onnx(tmp_path / "model", tagger=tagger, int8=False)
    onnx_p = Predictor.load(tmp_path / "model", backend="onnx-fp32")
    assert onnx_p.layout == "lines"
    torch_p = Predictor.load(tmp_path / "model", backend="torch-fp32")
    for got, want in zip(onnx_p.probabilities(LINES), torch_p.probabilities(LINES)):
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_bert_lanes_give_what_one_lane_gives(tiny_bert_dir, tmp_path) -> None:
    tagger = BertTagger.pretrained(str(tiny_bert_dir), tag_names()).eval()
    tagger.save(tmp_path / "model")
    export_onnx(tmp_path / "model", tagger=tagger, int8=False)
    two = Predictor.load(tmp_path / "model", backend="onnx-fp32", threads=2)
    one = Predictor.load(tmp_path / "model", backend="onnx-fp32", threads=1)
    assert (two.layout, two.lanes, one.lanes) == ("packed", 2, 1)
    lines = LINES * 7 + [[]]  # enough rows for several runs per lane; an empty line stays empty
    for got, want in zip(two.probabilities(lines), one.probabilities(lines), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert two.probabilities([[]])[0].shape == (0, len(tag_names()))


def _reference_decode(tokens, probs, names):
    """The plain definition: constrained Viterbi, then seqeval-style chunking."""
    path = viterbi(np.log(np.clip(probs, 1e-12, 1.0)), names)
    chosen = probs[np.arange(len(path)), path]
    starts = {t.start: i for i, t in enumerate(tokens)}
    ends = {t.end: i for i, t in enumerate(tokens)}
    return [(s.start, s.end, s.label, float(chosen[starts[s.start] : ends[s.end] + 1].min()))
            for s in tags_to_spans(tokens, [names[i] for i in path])]


@pytest.mark.parametrize("seed", range(5))
def test_decode_equals_viterbi_then_chunking(seed) -> None:
    names = tag_names()
    rng = np.random.default_rng(seed)
    tokens: list[Token] = tokenize(" ".join(w for line in LINES for w in line))
    for _ in range(40):
        # Peaked random distributions, often with illegal greedy paths (I- after O).
        probs = rng.dirichlet(np.full(len(names), 0.2), size=len(tokens)).astype(np.float32)
        got = [(s.start, s.end, s.label, s.confidence) for s in decode(tokens, probs, names)]
        want = _reference_decode(tokens, probs, names)
        assert [g[:3] for g in got] == [w[:3] for w in want]
        assert [g[3] for g in got] == pytest.approx([w[3] for w in want])


def test_decode_many_equals_decode_one_by_one() -> None:
    names = tag_names()
    rng = np.random.default_rng(7)
    token_lists = [tokenize(" ".join(words)) for words in [*LINES, []]] * 3
    rng.shuffle(token_lists)
    probs = [rng.dirichlet(np.full(len(names), 0.2), size=len(t)).astype(np.float32) for t in token_lists]
    together = decode_many(token_lists, probs, names)
    assert together == [decode(t, p, names) for t, p in zip(token_lists, probs)]
    assert [[(s.start, s.end, s.label) for s in spans] for spans in together] == \
        [[s[:3] for s in _reference_decode(t, p, names)] for t, p in zip(token_lists, probs)]
    with pytest.raises(ValueError, match="tokens but"):
        decode_many([token_lists[0]], [probs[0][:-1] if len(probs[0]) else probs[1]], names)
