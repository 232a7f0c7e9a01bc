"""ONNX graphs written or rewritten by hand: the packed scratch-tagger graph, and the
rewrite of a fused BERT graph for packed rows (see export.py for how they are used).

Packed rows hold several sentences back to back; ``position_ids`` restart at 0 and
``segment_ids`` (1, 2, ...; 0 = padding) change at each sentence, and attention is
block-diagonal: a token attends only to its own segment.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ner_core.models import Tagger


class _Builder:
    """Nodes and initializers of a graph under construction."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights, self.nodes, self.inits = weights, [], []

    def const(self, name: str, value) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def linear(self, x: str, prefix: str, out: str) -> str:
        """x @ W^T + b of a saved nn.Linear."""
        w = self.const(f"{prefix}.weight_t", self.weights[f"{prefix}.weight"].T.copy())
        b = self.const(f"{prefix}.bias", self.weights[f"{prefix}.bias"])
        return self.node("Add", [self.node("MatMul", [x, w], f"{out}_mm"), b], out)

    def layer_norm(self, x: str, prefix: str, out: str, eps: float) -> str:
        gamma = self.const(f"{prefix}.weight", self.weights[f"{prefix}.weight"])
        beta = self.const(f"{prefix}.bias", self.weights[f"{prefix}.bias"])
        return self.node("LayerNormalization", [x, gamma, beta], out, axis=-1, epsilon=eps)

    def int64(self, name: str, values: list[int]) -> str:
        return self.const(name, np.array(values, dtype=np.int64))


def _block_mask(b: _Builder, segments: str) -> str:
    """[B, S, S] int32, 1 where two positions share a segment (may attend)."""
    column = b.node("Unsqueeze", [segments, b.int64("mask_axis_2", [2])], "segment_column")
    row = b.node("Unsqueeze", [segments, b.int64("mask_axis_1", [1])], "segment_row")
    return b.node("Cast", [b.node("Equal", [column, row], "same_segment")], "block_mask", to=TensorProto.INT32)


def _char_vectors(b: _Builder) -> str:
    """The char CNN (kernel 3, padding 1, max over characters): [B, W, C] char ids ->
    [B, W, D/2]. A window's product with the kernel is a sum of three per-character
    terms, so each kernel column times the char embeddings is a table looked up by the
    previous, current and next character id (the padding id's row is zero)."""
    embedding, conv = b.weights["char_embedding.weight"], b.weights["char_cnn.weight"]  # [V, E], [D/2, E, 3]
    padded = b.node("Pad", ["char_ids", b.int64("char_pads", [0, 0, 1, 0, 0, 1])], "char_ids_padded")  # [B,W,C+2]
    axis = b.int64("char_axis", [2])
    terms = []
    for k in range(3):  # k = 0: the previous character, 1: this one, 2: the next one
        ids = b.node("Slice", [padded, b.int64(f"window{k}_start", [k]),
                               b.int64(f"window{k}_end", [k - 2 if k < 2 else 2**62]), axis], f"char_ids_shift{k}")
        table = b.const(f"char_cnn.table{k}", embedding @ conv[:, :, k].T)  # [V, D/2]
        terms.append(b.node("Gather", [table, ids], f"char_term{k}"))
    conv_out = b.node("Add", [b.node("Add", terms[:2], "char_terms01"), terms[2]], "char_terms")
    conv_out = b.node("Add", [conv_out, b.const("char_cnn.bias", b.weights["char_cnn.bias"])], "char_conv")
    return b.node("ReduceMax", [conv_out], "char_vectors", axes=[2], keepdims=0)


def _embedded(b: _Builder, d_model: int) -> str:
    """project(word ⊕ char ⊕ shape) + position, [B, W, D]. The projection is split by
    input block; the word and shape blocks fold into their embedding tables."""
    w = b.weights["project.weight"]  # [D, D + 16]: columns word | char | shape
    half = d_model // 2
    words = b.node("Gather", [b.const("word_table", b.weights["word_embedding.weight"] @ w[:, :half].T), "word_ids"],
                   "word_vectors")
    shape_table = b.weights["shape_embedding.weight"] @ w[:, d_model:].T + b.weights["project.bias"]
    shapes = b.node("Gather", [b.const("shape_table", shape_table), "shapes"], "shape_vectors")
    chars = b.node("MatMul", [_char_vectors(b), b.const("char_project", w[:, half:d_model].T.copy())], "char_projected")
    positions = b.node("Gather", [b.const("position", b.weights["position.weight"]), "position_ids"], "positions")
    x = b.node("Add", [b.node("Add", [words, shapes], "word_shape"), chars], "projected")
    return b.node("Add", [x, positions], "embedded")


def _encoder_layer(b: _Builder, x: str, mask: str, i: int, *, heads: int, eps: float) -> str:
    """One pre-norm nn.TransformerEncoderLayer (ReLU) in eval mode."""
    p = f"encoder.layers.{i}"
    h = b.layer_norm(x, f"{p}.norm1", f"l{i}_norm1", eps)
    qkv_w = b.const(f"{p}.qkv_weight", b.weights[f"{p}.self_attn.in_proj_weight"].T.copy())  # [D, 3D]: q | k | v
    qkv_b = b.const(f"{p}.qkv_bias", b.weights[f"{p}.self_attn.in_proj_bias"])
    attended = b.node("Attention", [h, qkv_w, qkv_b, mask], f"l{i}_attention", domain="com.microsoft",
                      num_heads=heads)
    x = b.node("Add", [x, b.linear(attended, f"{p}.self_attn.out_proj", f"l{i}_attention_out")], f"l{i}_residual1")
    h = b.layer_norm(x, f"{p}.norm2", f"l{i}_norm2", eps)
    hidden = b.node("Relu", [b.linear(h, f"{p}.linear1", f"l{i}_ff1")], f"l{i}_relu")
    return b.node("Add", [x, b.linear(hidden, f"{p}.linear2", f"l{i}_ff2")], f"l{i}_residual2")


def scratch_graph(tagger: Tagger, *, opset: int) -> onnx.ModelProto:
    """The ONNX model computing softmax(ScratchTagger.forward) on packed rows
    (ScratchInputs.pack), eval mode, built from the tagger's weights."""
    b = _Builder({k: v.detach().float().numpy() for k, v in tagger.state_dict().items()})
    x = _embedded(b, tagger.hparams["d_model"])
    mask = _block_mask(b, "segment_ids")
    for i, layer in enumerate(tagger.encoder.layers):
        x = _encoder_layer(b, x, mask, i, heads=tagger.hparams["heads"], eps=layer.norm1.eps)
    logits = b.linear(b.layer_norm(x, "norm", "final_norm", tagger.norm.eps), "head", "logits")
    b.node("Softmax", [logits], "probabilities", axis=-1)
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "words", "chars"][:dims])
              for name, dims in (("word_ids", 2), ("char_ids", 3), ("shapes", 2), ("position_ids", 2),
                                 ("segment_ids", 2))]
    output = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                           ["batch", "words", len(tagger.tag_names)])
    graph = helper.make_graph(b.nodes, "scratch_tagger", inputs, [output], b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                   helper.make_opsetid("com.microsoft", 1)])


def pack_bert_graph(path: Path) -> bool:
    """Rewrite, in place, a BERT graph fused by ONNX Runtime's optimizer (one
    EmbedLayerNormalization feeding the mask of every Attention) to read packed rows:
    inputs position_ids and segment_ids replace attention_mask. False, file untouched,
    when the graph is not in that form."""
    model = onnx.load(str(path))
    graph = model.graph
    embeds = [n for n in graph.node if n.op_type == "EmbedLayerNormalization"]
    attentions = [n for n in graph.node if n.op_type == "Attention"]
    if len(embeds) != 1 or not attentions or len(embeds[0].output) < 2 \
            or any(len(a.input) < 4 or a.input[3] != embeds[0].output[1] for a in attentions) \
            or "attention_mask" not in [i.name for i in graph.input]:
        return False
    graph.input.remove(next(i for i in graph.input if i.name == "attention_mask"))
    graph.input.extend(helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "subwords"])
                       for name in ("position_ids", "segment_ids"))
    b = _Builder({})
    positions = b.node("Cast", ["position_ids"], "packed_position_ids", to=TensorProto.INT32)
    mask = _block_mask(b, "segment_ids")
    embed = embeds[0]
    inputs = list(embed.input) + [""] * (9 - len(embed.input))
    inputs[7], inputs[8] = "", positions  # no mask; explicit positions
    del embed.input[:]
    embed.input.extend(inputs)
    for attention in attentions:
        attention.input[3] = mask
    while True:  # drop what only the old mask fed
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if n.op_type != "EmbedLayerNormalization" and not set(n.output) & used]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    graph.initializer.extend(b.inits)
    for i, node in enumerate(b.nodes):
        graph.node.insert(i, node)
    onnx.save(model, str(path))
    return True
