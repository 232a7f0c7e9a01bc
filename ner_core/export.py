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


class _Probabilities(nn.Module):
    """The tagger with positional inputs and a softmax, as the ONNX graph computes it."""

    def __init__(self, tagger: Tagger, names: Sequence[str]) -> None:
        super().__init__()
        self.tagger, self.names = tagger, list(names)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.tagger(**dict(zip(self.names, args))), dim=-1)  # [B, W, T]


def _input_names(tagger: Tagger, sample: dict[str, torch.Tensor]) -> list[str]:
    if tagger.kind == "bert":  # BERT reads no word mask: the first-subword index is enough
        return [n for n in ("input_ids", "attention_mask", "token_type_ids", "first_subword") if n in sample]
    return ["word_ids", "char_ids", "shapes", "word_mask"]


def _export_fp32(tagger: Tagger, path: Path) -> None:
    if tagger.kind == "bert" and hasattr(tagger.encoder, "set_attn_implementation"):
        # Eager attention traces to the pattern ONNX Runtime fuses into one Attention op.
        previous = tagger.encoder.config._attn_implementation
        tagger.encoder.set_attn_implementation("eager")
        try:
            return _trace(tagger, path)
        finally:
            tagger.encoder.set_attn_implementation(previous)
    return _trace(tagger, path)


def _trace(tagger: Tagger, path: Path) -> None:
    sample = tagger.encode(_SAMPLE)
    names = _input_names(tagger, sample)
    word_inputs = ("first_subword", "word_ids", "char_ids", "shapes", "word_mask")
    module, args = _Probabilities(tagger.eval(), names), tuple(sample[n] for n in names)
    try:
        if tagger.kind == "bert":  # the TorchScript exporter gives graphs ONNX Runtime fuses
            axes = {n: {0: "batch", 1: "words" if n in word_inputs else "subwords"} for n in names}
            torch.onnx.export(module, args, str(path), input_names=names, output_names=["probabilities"],
                              dynamic_axes={**axes, "probabilities": {0: "batch", 1: "words"}},
                              opset_version=OPSET, dynamo=False, do_constant_folding=True)
        else:  # nn.MultiheadAttention only traces with dynamic shapes through torch.export
            batch, words = torch.export.Dim("batch"), torch.export.Dim("words")
            shapes = {"args": tuple({0: batch, 1: words} for _ in names)}
            torch.onnx.export(module, args, str(path), input_names=names, output_names=["probabilities"],
                              dynamic_shapes=shapes, opset_version=18, dynamo=True, external_data=False,
                              verbose=False)
    except Exception as e:  # the exporters raise many unrelated types
        raise ExportError(f"ONNX export of the {tagger.kind} tagger failed: {e}") from e


def _optimize_bert(tagger: Tagger, path: Path) -> None:
    """Fuse attention, layer norm and GELU with ONNX Runtime's transformer optimizer."""
    from onnxruntime.transformers import optimizer

    config = tagger.encoder.config
    model = optimizer.optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size, opt_level=1)
    model.save_model_to_file(str(path))


def _quantize(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Fused ops (com.microsoft domain) defeat shape inference; their outputs are float.
    # Per-channel 7-bit weights (reduce_range) kept TASTEset F1 within 0.1 point of fp32.
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def export_onnx(directory: str | Path, *, tagger: Tagger | None = None, int8: bool = True) -> list[str]:
    """Write model.onnx (and model.int8.onnx) plus a sha256 manifest into a saved model
    directory; the files appear together, and only once all of them are written."""
    directory = Path(directory)
    tagger = tagger or load_tagger(directory)
    with torch.inference_mode(False), tempfile.TemporaryDirectory(dir=directory) as tmp:
        work = Path(tmp)
        fp32 = work / ONNX_FILES["onnx-fp32"]
        _export_fp32(tagger, fp32)
        if tagger.kind == "bert":
            try:
                _optimize_bert(tagger, fp32)
            except Exception as e:  # optimizer gaps for some architectures: keep the plain graph
                log.warning("graph optimization skipped for %s: %s", directory, e)
        files = [fp32]
        if int8:
            files.append(work / ONNX_FILES["onnx-int8"])
            _quantize(fp32, files[-1])
        manifest = {"opset": OPSET, "files": {f.name: file_sha256(f) for f in files}}
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
