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

from ner_core.backends import MANIFEST_FILE, ONNX_FILES, file_sha256, onnx_session
from ner_core.graphs import pack_bert_graph, scratch_graph
from ner_core.models import ModelDirectoryError, Tagger, load_tagger

log = logging.getLogger(__name__)

OPSET = 17
_SAMPLE = [["2", "cups", "all", "-", "purpose", "flour", ",", "sifted"], ["salt"]]


class ExportError(RuntimeError):
    """The model could not be exported to ONNX."""


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
    CNN as three per-character table lookups (graphs.scratch_graph). torch.export gives ~220 small
    nodes for the same model, and at batch 1 ONNX Runtime's time goes into per-node cost."""
    import onnx

    try:
        onnx.save(scratch_graph(tagger, opset=OPSET), str(path))
    except Exception as e:  # weights or shapes the builder does not expect
        raise ExportError(f"ONNX export of the scratch tagger failed: {e}") from e


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


def _packed_difference(tagger: Tagger, path: Path) -> float:
    """Largest probability difference between the packed graph on packed sample rows and
    PyTorch on the same sentences one by one."""
    import numpy as np

    try:
        session = onnx_session(path, 1)  # as the graph will be served
    except ModelDirectoryError as e:
        raise ExportError(f"the exported graph does not load: {e}") from e
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
    if pack_bert_graph(path):
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
