"""Distillation: recombined lines keep their labels; a student learns from a teacher."""
from __future__ import annotations

import random

import pytest

from ner_core.config import TrainConfig
from tests.ner_core.conftest import labelled
from ner_core.distill import augment, recombine
from ner_core.evaluate import evaluate
from ner_core.predict import Predictor
from ner_core.spans import spans_to_tags, tag_names, tokenize
from ner_core.train import train, training_items


def test_recombined_lines_keep_aligned_labels(toy_examples) -> None:
    forms = {"FOOD": ["brown sugar"], "QUANTITY": ["1 1/2"], "UNIT": ["tablespoons"]}
    new = recombine(toy_examples[0], forms, random.Random(0), swap=1.0)
    assert new.text == "1 1/2 tablespoons brown sugar"
    assert [(new.text[s.start:s.end], s.label) for s in new.spans] == [
        ("1 1/2", "QUANTITY"), ("tablespoons", "UNIT"), ("brown sugar", "FOOD")]
    for ex in augment(toy_examples, 3, seed=1):
        spans_to_tags(ex.text, tokenize(ex.text), ex.spans)  # raises if a span left the tokens


def test_a_recombination_that_glues_tokens_keeps_the_original_line() -> None:
    glued = labelled("2x eggs", ("2", "QUANTITY"), ("eggs", "FOOD"))
    other = labelled("or as needed milk", ("or as needed", "QUANTITY"), ("milk", "FOOD"))
    for ex in augment([glued, other], 20, seed=3):
        spans_to_tags(ex.text, tokenize(ex.text), ex.spans)  # "or as neededx" would not fit


def test_augment_makes_copies_per_line(toy_examples) -> None:
    assert len(augment(toy_examples, 2)) == 2 * len(toy_examples)
    assert augment(toy_examples, 0) == []


@pytest.fixture(scope="module")
def teacher_dir(toy_examples, tiny_bert_dir, tmp_path_factory):
    config = TrainConfig(tagger="bert", encoder=str(tiny_bert_dir), epochs=60, batch_size=4, learning_rate=3e-3,
                         head_learning_rate=3e-3, dropout=0.0, threads=1)
    *_, final = train(config, toy_examples)
    directory = tmp_path_factory.mktemp("teacher")
    final.tagger.save(directory)
    return directory


def test_teacher_distributions_cover_unlabelled_sentences(toy_examples, teacher_dir) -> None:
    config = TrainConfig(tagger="distilled", teacher=str(teacher_dir), augment=1, threads=1)
    tags = tag_names()
    items = training_items(config, toy_examples, ["2 cups sugar\n1 red onion"], tags)
    assert len(items) == 2 * len(toy_examples) + 2
    unlabelled = items[-2:]
    assert all(g == -100 for item in unlabelled for g in item.gold)
    for item in items:
        assert item.soft.shape == (len(item.words), len(tags))


def test_student_learns_from_teacher(toy_examples, teacher_dir, tmp_path) -> None:
    config = TrainConfig(tagger="distilled", teacher=str(teacher_dir), epochs=40, batch_size=4, d_model=64,
                         layers=2, heads=2, learning_rate=3e-3, dropout=0.0, word_dropout=0.0, threads=1)
    *_, final = train(config, toy_examples, unlabelled=["3 cups flour"])
    final.tagger.save(tmp_path / "student")
    student = Predictor.load(tmp_path / "student")
    predicted = student.predict([ex.text for ex in toy_examples])
    assert evaluate(toy_examples, [[s.span for s in p] for p in predicted]).f1 > 0.9


def test_distilled_run_needs_a_teacher(toy_examples) -> None:
    with pytest.raises(ValueError, match="needs a teacher"):
        next(train(TrainConfig(tagger="distilled"), toy_examples))
