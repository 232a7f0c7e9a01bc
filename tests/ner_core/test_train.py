"""Both taggers through the one training loop: overfit, stop, save, load, predict."""
from __future__ import annotations

import json

import pytest

from ner_core.config import TrainConfig
from ner_core.evaluate import evaluate
from ner_core.models import ModelDirectoryError, load_tagger
from ner_core.predict import Predictor
from ner_core.train import train


def _fit(config: TrainConfig, examples, dev=()):
    progress = list(train(config, examples, dev))
    assert progress[-1].done and progress[-1].tagger is not None
    return progress


def _f1(predictor: Predictor, examples) -> float:
    predicted = predictor.predict([ex.text for ex in examples])
    return evaluate(examples, [[s.span for s in spans] for spans in predicted]).f1


def test_scratch_tagger_overfits_toy_data(toy_examples) -> None:
    config = TrainConfig(tagger="scratch", epochs=60, batch_size=4, d_model=64, layers=2, heads=2,
                         learning_rate=3e-3, dropout=0.0, word_dropout=0.0, threads=1)
    progress = _fit(config, toy_examples)
    assert _f1(Predictor.from_tagger(progress[-1].tagger), toy_examples) == 1.0


def test_bert_tagger_overfits_toy_data(toy_examples, tiny_bert_dir) -> None:
    config = TrainConfig(tagger="bert", encoder=str(tiny_bert_dir), epochs=60, batch_size=4, learning_rate=3e-3,
                         head_learning_rate=3e-3, dropout=0.0, threads=1)
    progress = _fit(config, toy_examples)
    assert _f1(Predictor.from_tagger(progress[-1].tagger), toy_examples) == 1.0


@pytest.mark.parametrize("kind", ["bert", "scratch"])
def test_train_save_load_predict_round_trip(kind, toy_examples, tiny_bert_dir, tmp_path) -> None:
    config = TrainConfig(tagger=kind, encoder=str(tiny_bert_dir) if kind == "bert" else None, epochs=2,
                         d_model=32, layers=1, heads=2, threads=1)
    tagger = _fit(config, toy_examples)[-1].tagger
    texts = ["2 cups flour\n1 red onion, chopped", "", "salt & <b>pepper</b>"]
    before = Predictor.from_tagger(tagger).predict(texts)
    tagger.save(tmp_path / "model", train_config=config.to_dict(), metrics={"f1": 0.5})
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["kind"] == kind and saved["label2id"]["O"] == 0
    after = Predictor.load(tmp_path / "model").predict(texts)
    assert [[(s.start, s.end, s.label) for s in p] for p in after] == \
        [[(s.start, s.end, s.label) for s in p] for p in before]
    for spans, text in zip(after, texts):
        for s in spans:
            assert 0 <= s.start < s.end <= len(text) and 0.0 <= s.confidence <= 1.0
    assert before[1] == []


def test_caller_can_stop_training_at_any_step(toy_examples) -> None:
    config = TrainConfig(tagger="scratch", epochs=50, batch_size=2, d_model=32, layers=1, heads=2, threads=1)
    steps = []
    for progress in train(config, toy_examples):
        steps.append(progress.step)
        if progress.step == 3:
            break
    assert steps[-1] == 3 and max(steps) == 3


def test_early_stopping_keeps_best_dev_epoch(toy_examples) -> None:
    config = TrainConfig(tagger="scratch", epochs=40, batch_size=4, d_model=32, layers=1, heads=2, patience=2,
                         learning_rate=1e-6, threads=1)  # too small to learn: dev F1 stalls
    progress = _fit(config, toy_examples[:5], toy_examples[5:])
    history = progress[-1].history
    assert len(history) < 40
    assert progress[-1].dev_f1 == max(h["dev_f1"] for h in history)


def test_progress_reports_eta_and_loss(toy_examples) -> None:
    config = TrainConfig(tagger="scratch", epochs=2, batch_size=4, d_model=32, layers=1, heads=2, threads=1)
    progress = _fit(config, toy_examples)
    assert progress[0].eta is not None and progress[0].eta > 0
    assert progress[-1].eta == 0.0 and progress[-1].steps_per_epoch == 3
    assert [h["epoch"] for h in progress[-1].history] == [1, 2]


def test_training_is_seeded(toy_examples) -> None:
    config = TrainConfig(tagger="scratch", epochs=2, batch_size=4, d_model=32, layers=1, heads=2, threads=1)
    losses = [[p.loss for p in train(config, toy_examples)] for _ in range(2)]
    assert losses[0] == losses[1]


@pytest.mark.parametrize("kwargs, message", [
    ({"tagger": "crf"}, "tagger must be one of"),
    ({"tagger": "scratch", "d_model": 30, "heads": 4}, "divisible"),
    ({"tagger": "scratch", "dropout": 1.5}, "dropout"),
    ({"tagger": "scratch", "unit": "words"}, "unit must be"),
])
def test_config_validation(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_config_round_trip_and_unknown_keys() -> None:
    config = TrainConfig(tagger="scratch", epochs=3)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown training option"):
        TrainConfig.from_dict({"tagger": "scratch", "epocs": 3})


def test_loading_a_non_model_directory_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelDirectoryError, match="config.json is missing"):
        load_tagger(tmp_path)
    (tmp_path / "config.json").write_text('{"kind": "pickle"}')
    with pytest.raises(ModelDirectoryError, match="does not describe a tagger"):
        load_tagger(tmp_path)


def test_recipe_units_are_whole_lines_up_to_a_word_budget(monkeypatch) -> None:
    from ner_core import predict

    text = "2 eggs\n\n1 cup milk\nsalt"
    assert predict.tagging_units(text, "lines") == [(0, "2 eggs"), (8, "1 cup milk"), (19, "salt")]
    assert predict.tagging_units(text, "recipes") == [(0, text)]
    monkeypatch.setattr(predict, "MAX_UNIT_WORDS", 4)
    assert predict.tagging_units(text, "recipes") == [(0, "2 eggs"), (8, "1 cup milk\nsalt")]
    long = "salt " * 7 + "\n2 eggs"  # a line over the limit is cut into pieces of that many words
    assert predict.tagging_units(long, "lines") == [(0, "salt salt salt salt"), (20, "salt salt salt"), (36, "2 eggs")]


def test_a_recipe_trained_model_predicts_whole_recipes(toy_examples, tmp_path) -> None:
    config = TrainConfig(tagger="scratch", unit="recipes", epochs=2, d_model=32, layers=1, heads=2, threads=1)
    *_, final = train(config, toy_examples)
    final.tagger.save(tmp_path / "m", train_config=config.to_dict())
    predictor = Predictor.load(tmp_path / "m")
    assert predictor.unit == "recipes"
    text = "2 cups flour\n1 red onion, chopped"
    before = Predictor.from_tagger(final.tagger, unit="recipes").predict([text])
    assert predictor.predict([text]) == before
    for s in before[0]:
        assert 0 <= s.start < s.end <= len(text)


def test_bert_can_keep_its_first_layers_only(tiny_bert_dir, tmp_path) -> None:
    from ner_core.models import BertTagger, load_tagger
    from ner_core.models.bert import EncoderLoadError
    from ner_core.spans import tag_names

    tagger = BertTagger.pretrained(str(tiny_bert_dir), tag_names(), layers=1)
    assert len(tagger.encoder.encoder.layer) == 1
    tagger.save(tmp_path / "cut")
    assert len(load_tagger(tmp_path / "cut").encoder.encoder.layer) == 1  # the saved config says 1
    with pytest.raises(EncoderLoadError, match="has 2 layers; cannot keep 3"):
        BertTagger.pretrained(str(tiny_bert_dir), tag_names(), layers=3)
