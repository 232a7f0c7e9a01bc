"""Export a saved model directory to ONNX (fp32, graph-optimized) and int8.

    python -m ner_core.export MODEL_DIR [--no-int8]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from ner_core.backends import MANIFEST_FILE, ONNX_FILES, file_sha256
from ner_core.models import Tagger, load_tagger

log = logging.getLogger(__name__)

OPSET = 17
_SAMPLE = [["2", "cups", "all", "-", "purpose", "flour", ",", "sifted"], ["salt"]]


class ExportError(RuntimeError):
    """The model could not be exported to ONNX."""


PACKED_INPUTS = {
    "bert": ("input_ids", "token_type_ids", "position_ids", "segment_ids", "first_subword"),
    "scratch": ("word_ids", "char_ids", "shapes", "position_ids", "segment_ids"),
}
PACKED_TOLERANCE = 1e-3  # max probability difference between the packed graph and PyTorch on lines


class _Probabilities(nn.Module):
    """The tagger with positional inputs and a softmax, as the ONNX graph computes it."""

    def __init__(self, tagger: Tagger, names: Sequence[str]) -> None:
        super().__init__()
        self.tagger, self.names = tagger, list(names)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.tagger(**dict(zip(self.names, args))), dim=-1)  # [B, W, T]


def _sample_rows(tagger: Tagger) -> list[list]:
    """Two packed rows of the sample sentences: one holding both, one holding the second
    (so the graph sees several segments and padding)."""
    prepared = tagger.inputs.prepare(_SAMPLE)
    return [prepared, prepared[1:]]


def _export_bert(tagger: Tagger, path: Path) -> None:
    """TorchScript export of the line graph (attention_mask input), with eager attention:
    that is the pattern ONNX Runtime's optimizer fuses into one Attention op."""
    sample = tagger.encode(_SAMPLE)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids", "first_subword") if n in sample]
    module, args = _Probabilities(tagger, names).eval(), tuple(sample[n] for n in names)
    axes = {n: {0: "batch", 1: "words" if n == "first_subword" else "subwords"} for n in names}
    previous = getattr(tagger.encoder.config, "_attn_implementation", None)
    if hasattr(tagger.encoder, "set_attn_implementation"):
        tagger.encoder.set_attn_implementation("eager")
    try:
        torch.onnx.export(module, args, str(path), input_names=names, output_names=["probabilities"],
                          dynamic_axes={**axes, "probabilities": {0: "batch", 1: "words"}},
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    except Exception as e:  # the exporters raise many unrelated types
        raise ExportError(f"ONNX export of the bert tagger failed: {e}") from e
    finally:
        if previous is not None:
            tagger.encoder.set_attn_implementation(previous)


def _export_scratch(tagger: Tagger, path: Path) -> None:
    """Write the packed graph of the scratch tagger, built node by node from its weights:
    one fused Attention op per layer (block-diagonal mask from segment ids) and the char
    CNN as one matrix product over 3-character windows. torch.export gives ~220 small
    nodes for the same model, and at batch 1 ONNX Runtime's time goes into per-node cost."""
    import onnx

    try:
        onnx.save(_scratch_graph(tagger), str(path))
    except Exception as e:  # weights or shapes the builder does not expect
        raise ExportError(f"ONNX export of the scratch tagger failed: {e}") from e


def _scratch_graph(tagger: Tagger):
    """The ONNX model computing softmax(tagger(word_ids, char_ids, shapes, position_ids,
    segment_ids)) in eval mode (see ScratchTagger.forward and ScratchInputs.pack)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weights = {k: v.detach().float().numpy() for k, v in tagger.state_dict().items()}
    heads, layers = tagger.hparams["heads"], tagger.hparams["layers"]
    inits, nodes = [], []

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def linear(x: str, prefix: str, out: str) -> str:  # x @ W^T + b
        w = const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T.copy())
        return node("Add", [node("MatMul", [x, w], f"{out}_mm"), const(f"{prefix}.bias", weights[f"{prefix}.bias"])],
                    out)

    def layer_norm(x: str, prefix: str, out: str, eps: float) -> str:
        return node("LayerNormalization", [x, const(f"{prefix}.weight", weights[f"{prefix}.weight"]),
                                           const(f"{prefix}.bias", weights[f"{prefix}.bias"])], out, axis=-1,
                    epsilon=eps)

    words = node("Gather", [const("word_embedding", weights["word_embedding.weight"]), "word_ids"], "words")
    chars = node("Gather", [const("char_embedding", weights["char_embedding.weight"]), "char_ids"], "chars")
    padded = node("Pad", [chars, const("char_pads", np.array([0, 0, 1, 0, 0, 0, 1, 0], dtype=np.int64))],
                  "chars_padded")  # [B, W, C + 2, E]
    axis2 = const("axis_2", np.array([2], dtype=np.int64))
    shifted = [node("Slice", [padded, const(f"win{k}_start", np.array([k], dtype=np.int64)),
                              const(f"win{k}_end", np.array([k - 2 if k < 2 else 2**62], dtype=np.int64)), axis2],
                    f"chars_window{k}") for k in range(3)]
    windows = node("Concat", shifted, "char_windows", axis=-1)  # [B, W, C, 3E]: chars t-1, t, t+1
    conv = weights["char_cnn.weight"]  # [D/2, E, 3]
    conv_w = const("char_cnn.weight_t", conv.transpose(2, 1, 0).reshape(-1, conv.shape[0]).copy())
    conv_out = node("Add", [node("MatMul", [windows, conv_w], "char_conv_mm"),
                            const("char_cnn.bias", weights["char_cnn.bias"])], "char_conv")
    char_vec = node("ReduceMax", [conv_out], "char_vectors", axes=[2], keepdims=0)  # [B, W, D/2]
    shapes = node("Gather", [const("shape_embedding", weights["shape_embedding.weight"]), "shapes"], "shape_vectors")
    x = linear(node("Concat", [words, char_vec, shapes], "features", axis=-1), "project", "projected")
    x = node("Add", [x, node("Gather", [const("position", weights["position.weight"]), "position_ids"], "positions")],
             "embedded")
    same = node("Equal", [node("Unsqueeze", ["segment_ids", axis2], "segment_column"),
                          node("Unsqueeze", ["segment_ids", const("axis_1", np.array([1], dtype=np.int64))],
                               "segment_row")], "same_segment")
    mask = node("Cast", [same], "attention_mask", to=TensorProto.INT32)  # [B, W, W], 1 = may attend
    for i in range(layers):
        p = f"encoder.layers.{i}"
        eps = tagger.encoder.layers[i].norm1.eps
        h = layer_norm(x, f"{p}.norm1", f"l{i}_norm1", eps)
        qkv_w = const(f"{p}.qkv_weight", weights[f"{p}.self_attn.in_proj_weight"].T.copy())  # [D, 3D]: q | k | v
        qkv_b = const(f"{p}.qkv_bias", weights[f"{p}.self_attn.in_proj_bias"])
        attended = node("Attention", [h, qkv_w, qkv_b, mask], f"l{i}_attention", domain="com.microsoft",
                        num_heads=heads)
        x = node("Add", [x, linear(attended, f"{p}.self_attn.out_proj", f"l{i}_attention_out")], f"l{i}_residual1")
        h = layer_norm(x, f"{p}.norm2", f"l{i}_norm2", eps)
        hidden = node("Relu", [linear(h, f"{p}.linear1", f"l{i}_ff1")], f"l{i}_relu")
        x = node("Add", [x, linear(hidden, f"{p}.linear2", f"l{i}_ff2")], f"l{i}_residual2")
    logits = linear(layer_norm(x, "norm", "final_norm", tagger.norm.eps), "head", "logits")
    node("Softmax", [logits], "probabilities", axis=-1)

    def int_input(name: str, dims: list[str]):
        return helper.make_tensor_value_info(name, TensorProto.INT64, dims)

    graph = helper.make_graph(
        nodes, "scratch_tagger",
        [int_input("word_ids", ["batch", "words"]), int_input("char_ids", ["batch", "words", "chars"]),
         int_input("shapes", ["batch", "words"]), int_input("position_ids", ["batch", "words"]),
         int_input("segment_ids", ["batch", "words"])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", "words", len(tagger.tag_names)])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)])


def _optimize_bert(tagger: Tagger, path: Path) -> None:
    """Fuse embeddings and attention with ONNX Runtime's transformer optimizer. Layer norm
    stays unfused from the residual add and GELU from its bias: on this CPU build ONNX
    Runtime's SkipLayerNormalization kernel is ~5x slower than Add + LayerNormalization."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = options.enable_bias_gelu = False
    config = tagger.encoder.config
    model = optimizer.optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size, opt_level=0, optimization_options=options)
    model.save_model_to_file(str(path))


def _pack_bert(path: Path) -> bool:
    """Rewrite a fused BERT graph to read packed rows: position_ids go to the fused
    embedding, and the attention mask becomes block-diagonal (a token attends to its own
    segment only). False, graph untouched, when the graph is not in the fused form."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

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
    graph.initializer.extend([numpy_helper.from_array(np.array([2], dtype=np.int64), "packed_axis_2"),
                              numpy_helper.from_array(np.array([1], dtype=np.int64), "packed_axis_1")])
    new_nodes = [
        helper.make_node("Cast", ["position_ids"], ["packed_position_ids"], to=TensorProto.INT32),
        helper.make_node("Unsqueeze", ["segment_ids", "packed_axis_2"], ["packed_segment_column"]),
        helper.make_node("Unsqueeze", ["segment_ids", "packed_axis_1"], ["packed_segment_row"]),
        helper.make_node("Equal", ["packed_segment_column", "packed_segment_row"], ["packed_same_segment"]),
        helper.make_node("Cast", ["packed_same_segment"], ["packed_mask"], to=TensorProto.INT32),  # [B, S, S]
    ]
    embed = embeds[0]
    inputs = list(embed.input) + [""] * (9 - len(embed.input))
    inputs[7], inputs[8] = "", "packed_position_ids"  # no mask; explicit positions
    del embed.input[:]
    embed.input.extend(inputs)
    for attention in attentions:
        attention.input[3] = "packed_mask"
    while True:  # drop what only the old mask fed
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if n.op_type != "EmbedLayerNormalization" and not set(n.output) & used]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    for i, node in enumerate(new_nodes):
        graph.node.insert(i, node)
    onnx.save(model, str(path))
    return True


def _packed_difference(tagger: Tagger, path: Path) -> float:
    """Largest probability difference between the packed graph on packed sample rows and
    PyTorch on the same sentences one by one."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rows = _sample_rows(tagger)
    feed = tagger.inputs.pack(rows)
    out = session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})[0]
    with torch.inference_mode():
        reference = torch.softmax(tagger.eval()(**tagger.encode(_SAMPLE)), dim=-1).numpy()
    expected = [np.concatenate([reference[0, : len(_SAMPLE[0])], reference[1, : len(_SAMPLE[1])]]),
                reference[1, : len(_SAMPLE[1])]]
    return max(float(np.abs(out[i, : len(e)] - e).max()) for i, e in enumerate(expected))


def _quantize(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Fused ops (com.microsoft domain) defeat shape inference; their outputs are float.
    # Per-channel 7-bit weights (reduce_range) kept TASTEset F1 within 0.1 point of fp32.
    # Only matrix products: a quantized fused embedding would drop the packed position ids.
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                     op_types_to_quantize=["MatMul", "Attention", "Gemm"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _optimize_and_pack_bert(tagger: Tagger, path: Path, directory: Path) -> str:
    """Fuse and pack the BERT graph in place; the layout the graph ends up reading:
    "packed" when the rewrite applied and matches PyTorch, else "lines"."""
    import shutil

    try:
        _optimize_bert(tagger, path)
    except Exception as e:  # optimizer gaps for some architectures: keep the plain graph
        log.warning("graph optimization skipped for %s: %s", directory, e)
        return "lines"
    lines = path.with_suffix(".lines.onnx")
    shutil.copyfile(path, lines)
    if _pack_bert(path):
        difference = _packed_difference(tagger, path)
        if difference < PACKED_TOLERANCE:
            lines.unlink()
            return "packed"
        log.warning("packed graph of %s differs from PyTorch by %.2g; keeping the line graph", directory, difference)
    else:
        log.warning("%s: the fused graph has no single embedding + attention mask to pack; line graph kept", directory)
    os.replace(lines, path)
    return "lines"


def export_onnx(directory: str | Path, *, tagger: Tagger | None = None, int8: bool = True) -> list[str]:
    """Write model.onnx (and model.int8.onnx) plus a sha256 manifest into a saved model
    directory; the files appear together, and only once all of them are written."""
    directory = Path(directory)
    tagger = tagger or load_tagger(directory)
    with torch.inference_mode(False), tempfile.TemporaryDirectory(dir=directory) as tmp:
        work = Path(tmp)
        fp32 = work / ONNX_FILES["onnx-fp32"]
        layout = "packed"
        if tagger.kind == "bert":
            _export_bert(tagger, fp32)
            layout = _optimize_and_pack_bert(tagger, fp32, directory)
        else:
            _export_scratch(tagger, fp32)
            difference = _packed_difference(tagger, fp32)
            if not difference < PACKED_TOLERANCE:
                raise ExportError(f"the packed graph differs from PyTorch by {difference:.2g}")
        files = [fp32]
        if int8:
            files.append(work / ONNX_FILES["onnx-int8"])
            _quantize(fp32, files[-1])
        manifest = {"opset": OPSET, "layout": layout, "files": {f.name: file_sha256(f) for f in files}}
        (directory / MANIFEST_FILE).unlink(missing_ok=True)  # no manifest: torch serves meanwhile
        for f in files:
            os.replace(f, directory / f.name)
        (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return [f.name for f in files]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ner_core.export", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a saved model directory")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 quantized graph")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("ner_core").setLevel(logging.INFO)
    for name in export_onnx(args.directory, int8=not args.no_int8):
        print(args.directory / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
