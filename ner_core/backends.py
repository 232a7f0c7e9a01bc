"""Inference backends: PyTorch, and ONNX Runtime on the exported fp32 / int8 graphs."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ner_core.models import ModelDirectoryError, Tagger, load_tagger

BACKENDS = ("torch-fp32", "onnx-fp32", "onnx-int8")
ONNX_FILES = {"onnx-fp32": "model.onnx", "onnx-int8": "model.int8.onnx"}
MANIFEST_FILE = "onnx.json"  # sha256 of each exported file, checked before it is loaded
# Calls with at most this many input positions (batch x length) run single-threaded on
# scratch-tagger graphs: seed split, d_model 256, int8, batch 1: 965/s on 1 thread vs 848/s on 2.
SMALL_RUN_POSITIONS = 128

Run = Callable[[dict[str, torch.Tensor]], np.ndarray]


def torch_runner(tagger: Tagger) -> Run:
    """Probabilities [B, W, T] from an in-memory tagger."""

    @torch.inference_mode()
    def run(inputs: dict[str, torch.Tensor]) -> np.ndarray:
        return torch.softmax(tagger(**inputs).float(), dim=-1).numpy()

    return run


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def available_backends(directory: Path) -> list[str]:
    """The backends a model directory can serve, fastest first."""
    manifest = directory / MANIFEST_FILE
    exported = json.loads(manifest.read_text()).get("files", {}) if manifest.is_file() else {}
    onnx = [b for b in ("onnx-int8", "onnx-fp32") if ONNX_FILES[b] in exported]
    return [*onnx, "torch-fp32"]


@dataclass(frozen=True)
class Runner:
    """A loaded backend: run maps a feature batch to probabilities [B, W, T]; layout is
    "packed" when it reads packed rows (featurizer.pack), "lines" for padded batches;
    lanes is how many calls of run may usefully go at once, each on its own core."""

    run: Run
    backend: str
    layout: str = "lines"
    lanes: int = 1


def onnx_runner(directory: Path, backend: str, *, kind: str, threads: int | None = None) -> Runner:
    """The runner of an exported ONNX graph of a ``kind`` tagger ("bert" or "scratch"). A
    file whose sha256 differs from the export manifest, or that ONNX Runtime cannot read,
    is a ModelDirectoryError."""
    path = directory / ONNX_FILES[backend]
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    expected = manifest["files"].get(path.name)
    if not path.is_file():
        raise ModelDirectoryError(f"{path} is missing; re-export with: python -m ner_core.export {directory}")
    if file_sha256(path) != expected:
        raise ModelDirectoryError(f"{path} is corrupted (its sha256 differs from {MANIFEST_FILE}); "
                                  f"re-export with: python -m ner_core.export {directory}")
    threads = threads or torch.get_num_threads()
    layout = manifest.get("layout", "lines")
    # A packed BERT call splits into independent groups of rows: one single-threaded
    # session run per core beats one session splitting each operator over the cores
    # (seed split, int8, batch 1: 457 vs 386 recipes/s); calls of one session may overlap.
    lanes = threads if kind == "bert" and layout == "packed" else 1
    session = onnx_session(path, 1 if lanes > 1 else threads)
    # The scratch tagger's graph is so small that, for one recipe, ONNX Runtime's thread
    # pool costs more than the second core gives: small calls go to a 1-thread session.
    small = onnx_session(path, 1) if threads > 1 and kind == "scratch" else None
    names = [i.name for i in session.get_inputs()]
    dtypes = {i.name: i.type for i in session.get_inputs()}

    def run(inputs: dict[str, torch.Tensor | np.ndarray]) -> np.ndarray:
        feed = {}
        for name in names:
            value = np.asarray(inputs[name])
            feed[name] = value.astype(np.bool_ if dtypes[name] == "tensor(bool)" else np.int64, copy=False)
        positions = feed[names[0]].size
        return (small if small is not None and positions <= SMALL_RUN_POSITIONS else session).run(None, feed)[0]

    return Runner(run, backend, layout, lanes)


def onnx_session(path: Path, threads: int):
    """An ONNX Runtime CPU session on path with the settings every graph is served with."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Masked attention scores underflow to denormals inside softmax's exp; on this CPU they
    # made Softmax ~6x and BERT's fused attention ~1.8x slower (seed split: 2.69 -> 2.30 ms
    # per recipe). Flushing them to zero changes nothing above 1e-38.
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    try:
        # Re-fusing Add + LayerNormalization costs ~5x on this CPU build (see export._optimize_bert).
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=["SkipLayerNormFusion"])
    except Exception as e:  # onnxruntime raises its own untyped errors for unreadable graphs
        raise ModelDirectoryError(f"ONNX Runtime cannot load {path}: {e}") from e


def load_runner(directory: Path, backend: str, *, kind: str, threads: int | None = None) -> Runner:
    """The runner of backend, or of the fastest present when ``auto``, for a saved
    ``kind`` tagger; PyTorch reads padded line batches."""
    present = available_backends(directory)
    chosen = present[0] if backend == "auto" else backend
    if chosen not in present:
        raise ModelDirectoryError(f"{directory} has no {chosen} export (present: {', '.join(present)}); "
                                  f"make it with: python -m ner_core.export {directory}")
    if chosen == "torch-fp32":
        if threads:
            torch.set_num_threads(threads)
        return Runner(torch_runner(load_tagger(directory)), chosen)
    return onnx_runner(directory, chosen, kind=kind, threads=threads)
