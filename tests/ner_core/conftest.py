"""A tiny BERT built locally (BertConfig + a written vocabulary): no downloads."""
from __future__ import annotations

from pathlib import Path

import pytest

from ner_core.data import Example
from ner_core.spans import Span

WORDS = ("cup cups flour sugar salt pepper milk eggs egg butter melted chopped fresh large red green onion "
         "garlic cloves tablespoons teaspoons ounces can tomatoes diced chicken breast boneless for garnish "
         "sweet ground black oil olive").split()


def labelled(text: str, *marks: tuple[str, str]) -> Example:
    """An example from text and (substring, label) marks, found left to right."""
    spans, cursor = [], 0
    for sub, label in marks:
        start = text.index(sub, cursor)
        spans.append(Span(start, start + len(sub), label))
        cursor = start + len(sub)
    return Example(text, tuple(spans))


TOY = [
    labelled("2 cups flour", ("2", "QUANTITY"), ("cups", "UNIT"), ("flour", "FOOD")),
    labelled("1 cup sugar", ("1", "QUANTITY"), ("cup", "UNIT"), ("sugar", "FOOD")),
    labelled("3 large eggs", ("3", "QUANTITY"), ("large", "PHYSICAL_QUALITY"), ("eggs", "FOOD")),
    labelled("1/2 cup butter, melted", ("1/2", "QUANTITY"), ("cup", "UNIT"), ("butter", "FOOD"),
             ("melted", "PROCESS")),
    labelled("1 red onion, chopped", ("1", "QUANTITY"), ("red", "COLOR"), ("onion", "FOOD"), ("chopped", "PROCESS")),
    labelled("2 cloves garlic", ("2", "QUANTITY"), ("cloves", "UNIT"), ("garlic", "FOOD")),
    labelled("1 (14.5-ounces) can diced tomatoes", ("1", "QUANTITY"), ("14.5", "QUANTITY"), ("ounces", "UNIT"),
             ("can", "UNIT"), ("diced", "PROCESS"), ("tomatoes", "FOOD")),
    labelled("2 boneless chicken breast", ("2", "QUANTITY"), ("boneless", "PROCESS"), ("chicken", "FOOD"),
             ("breast", "PART")),
    labelled("sweet olive oil for garnish", ("sweet", "TASTE"), ("olive oil", "FOOD"), ("for garnish", "PURPOSE")),
    labelled("salt and ground black pepper", ("salt", "FOOD"), ("ground", "PROCESS"), ("black", "COLOR"),
             ("pepper", "FOOD")),
]


@pytest.fixture(scope="session")
def toy_examples() -> list[Example]:
    """Ten hand-labelled lines covering all nine types."""
    return list(TOY)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT with a written WordPiece vocabulary."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"0123456789", *",.()/-½", *WORDS, "and", "##s"]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tokenizer.save_pretrained(directory)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(directory)
    return directory
