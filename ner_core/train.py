"""One training loop for both taggers: a generator that yields progress; the caller
decides where it goes and when to stop."""
from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ner_core.config import TrainConfig
from ner_core.data import Example, line_examples
from ner_core.evaluate import evaluate
from ner_core.models import Tagger, build_tagger
from ner_core.predict import Predictor, length_batches
from ner_core.spans import LABELS, spans_to_tags, tag_names, tokenize

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """Where training stands; the last item has ``done=True`` and the best ``tagger``."""

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    elapsed: float
    dev_f1: float | None = None
    eta: float | None = None
    epoch_end: bool = False
    done: bool = False
    history: list[dict] = field(default_factory=list)
    tagger: Tagger | None = None


def encode_examples(examples: Sequence[Example], tags: Sequence[str]) -> list[tuple[list[str], list[int]]]:
    """(words, tag ids) per example; raises SpanAlignmentError for a span off the tokens."""
    index = {t: i for i, t in enumerate(tags)}
    encoded = []
    for ex in examples:
        tokens = tokenize(ex.text)
        if tokens:
            encoded.append(([t.text for t in tokens], [index[t] for t in spans_to_tags(ex.text, tokens, ex.spans)]))
    return encoded


@dataclass
class Item:
    """One training sentence: words, gold tag ids (-100 where unknown), and the
    teacher's distributions [W, T] for distillation."""

    words: list[str]
    gold: list[int]
    soft: np.ndarray | None = None


def training_items(config: TrainConfig, train_examples: Sequence[Example], unlabelled: Sequence[str],
                   tags: Sequence[str]) -> list[Item]:
    """The sentences a run trains on: gold lines (or recipes), and for a distilled run
    also recombined lines and unlabelled texts, all with the teacher's distributions."""
    units = line_examples(train_examples) if config.unit == "lines" else list(train_examples)
    items = [Item(words, gold) for words, gold in encode_examples(units, tags)]
    if config.tagger != "distilled":
        return items
    from ner_core.distill import augment, load_teacher, teacher_probabilities

    if not config.teacher:
        raise ValueError("a distilled run needs a teacher: the directory of a trained BERT model")
    extra = encode_examples(augment(line_examples(train_examples), config.augment, seed=config.seed), tags)
    items += [Item(words, gold) for words, gold in extra]
    plain = encode_examples(line_examples(Example(t) for t in unlabelled), tags)
    items += [Item(words, [-100] * len(words)) for words, _ in plain]
    teacher = load_teacher(config.teacher, threads=config.threads)
    for item, probs in zip(items, teacher_probabilities(teacher, [i.words for i in items], tags)):
        item.soft = probs
    log.info("distilling from %s: %d gold, %d recombined, %d unlabelled sentences", config.teacher,
             len(units), len(extra), len(plain))
    return items


def batch_loss(tagger: Tagger, items: Sequence[Item], alpha: float) -> torch.Tensor:
    """Cross-entropy on gold tags, mixed with the teacher's distributions when present:
    (1 - alpha) * CE(gold) + alpha * CE(teacher)."""
    inputs = tagger.encode([item.words for item in items])
    mask = inputs["word_mask"]
    gold = torch.full(mask.shape, -100, dtype=torch.long)
    for row, item in enumerate(items):
        gold[row, : len(item.gold)] = torch.tensor(item.gold)
    logits = tagger(**inputs)  # [B, W, T]
    log_probs = torch.log_softmax(logits, dim=-1)
    hard = nn.functional.nll_loss(log_probs.reshape(-1, logits.size(-1)), gold.reshape(-1), ignore_index=-100) \
        if (gold != -100).any() else logits.new_zeros(())
    if items[0].soft is None:
        return hard
    soft = torch.zeros(logits.shape)
    for row, item in enumerate(items):
        soft[row, : len(item.words)] = torch.from_numpy(item.soft)
    soft_loss = -(soft * log_probs).sum(-1)[mask].mean()
    return (1 - alpha) * hard + alpha * soft_loss


def _optimizer(tagger: Tagger, config: TrainConfig) -> torch.optim.Optimizer:
    # The pretrained encoder learns slowly, the fresh head fast; no decay on biases/norms.
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, param in tagger.named_parameters():
        fresh = config.tagger != "bert" or not name.startswith("encoder.")
        lr = config.head_learning_rate if fresh and config.tagger == "bert" else config.learning_rate
        decay = 0.0 if param.ndim < 2 else config.weight_decay
        groups.setdefault((lr, decay), []).append(param)
    return torch.optim.AdamW([{"params": p, "lr": lr, "weight_decay": d} for (lr, d), p in groups.items()])


def _epoch_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length items (sorted within shuffled pools)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for p in range(0, len(order), pool):
        chunk = order[p : p + pool]
        batches += [[chunk[i] for i in b] for b in length_batches([lengths[i] for i in chunk], batch_size)]
    rng.shuffle(batches)
    return batches


def _seed(seed: int) -> random.Random:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return random.Random(seed)


def _warmup_then_decay(optimizer: torch.optim.Optimizer, total: int, warmup_fraction: float
                       ) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over warmup_fraction of the steps, then linear decay to zero."""
    warmup = max(1, int(warmup_fraction * total))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))


def dev_score(tagger: Tagger, config: TrainConfig, dev_examples: Sequence[Example]) -> float | None:
    """Strict F1 on the dev examples, or None without any."""
    if not dev_examples:
        return None
    predicted = Predictor.from_tagger(tagger, unit=config.unit).predict([ex.text for ex in dev_examples])
    return evaluate(dev_examples, [[s.span for s in p] for p in predicted]).f1


def train(config: TrainConfig, train_examples: Sequence[Example], dev_examples: Sequence[Example] = (),
          unlabelled: Sequence[str] = ()) -> Iterator[Progress]:
    """Train config.tagger on train_examples, yielding Progress after every step and
    epoch; with dev_examples, keep the best dev-F1 epoch and stop early. A distilled run
    also learns from its teacher on unlabelled texts."""
    torch.set_num_threads(config.threads)
    rng = _seed(config.seed)
    tags = tag_names(LABELS)
    data = training_items(config, train_examples, unlabelled, tags)
    if not data:
        raise ValueError("no training sentences with tokens: label some sentences first")
    tagger = build_tagger(config, tags, [item.words for item in data])
    optimizer = _optimizer(tagger, config)
    steps_per_epoch = math.ceil(len(data) / config.batch_size)
    total = steps_per_epoch * config.epochs
    schedule = _warmup_then_decay(optimizer, total, config.warmup_fraction)
    start, best_f1, best_state, stale, history, step = time.monotonic(), -1.0, None, 0, [], 0
    log.info("training %s on %d sentences, %d steps", config.tagger, len(data), total)
    for epoch in range(1, config.epochs + 1):
        tagger.train()
        losses = []
        for batch in _epoch_batches([len(item.words) for item in data], config.batch_size, rng):
            loss = batch_loss(tagger, [data[i] for i in batch], config.distill_alpha)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(tagger.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            losses.append(loss.item())
            elapsed = time.monotonic() - start
            yield Progress(epoch, config.epochs, step, steps_per_epoch, loss.item(), elapsed,
                           eta=elapsed / step * (total - step), history=history)
            if config.max_seconds and elapsed > config.max_seconds:
                break
        dev_f1 = dev_score(tagger, config, dev_examples)
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "dev_f1": dev_f1,
                        "elapsed": time.monotonic() - start})
        log.info("epoch %d loss %.4f dev F1 %s", epoch, history[-1]["loss"], dev_f1)
        if dev_f1 is not None and dev_f1 > best_f1:  # without dev data the last epoch is kept
            best_f1, stale = dev_f1, 0
            best_state = {k: v.detach().clone() for k, v in tagger.state_dict().items()}
        elif dev_f1 is not None:
            stale += 1
        elapsed = time.monotonic() - start
        yield Progress(epoch, config.epochs, step, steps_per_epoch, history[-1]["loss"], elapsed, dev_f1=dev_f1,
                       eta=elapsed / step * (total - step), epoch_end=True, history=history)
        if stale >= config.patience or (config.max_seconds and elapsed > config.max_seconds):
            break
    if best_state is not None:
        tagger.load_state_dict(best_state)
    tagger.eval()
    yield Progress(epoch, config.epochs, step, steps_per_epoch, history[-1]["loss"], time.monotonic() - start,
                   dev_f1=best_f1 if dev_examples else None, eta=0.0, done=True, history=history, tagger=tagger)
