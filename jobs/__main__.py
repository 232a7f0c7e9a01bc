"""Command line: ``python -m jobs enqueue|status|cancel``."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ner_core.config import TAGGERS, TrainConfig
from storage.db import make_session_factory
from storage.heartbeat import worker_status
from storage.registry import list_models
from storage.runs import RunNotFoundError, RunStateError, enqueue_run, latest_progress, list_runs, request_cancel


def _option(text: str) -> tuple[str, Any]:
    """KEY=VALUE with VALUE read as JSON when it parses (numbers, null), else a string."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _enqueue(args: argparse.Namespace) -> int:
    """Queue a training run (replacing a queued one)."""
    options: dict[str, Any] = dict(args.option or [])
    options.update({"tagger": args.tagger, "encoder": args.encoder})
    if args.epochs is not None:
        options["epochs"] = args.epochs
    config = TrainConfig.from_dict(options)
    with make_session_factory().begin() as session:
        run = enqueue_run(session, config)
    print(f"queued run {run.id}: {config.tagger} {config.epochs} epochs" + (f", encoder {config.encoder}"
                                                                             if config.encoder else ""))
    return 0


def _status(_args: argparse.Namespace) -> int:
    """Print the worker, recent runs and registered models."""
    with make_session_factory().begin() as session:
        worker = worker_status(session)
        print(f"worker: {'alive' if worker.alive else 'not running'} (pid {worker.pid}, {worker.state})")
        print("runs:")
        for run in list_runs(session):
            progress = latest_progress(session, run.id)
            where = (f" epoch {progress.epoch}/{progress.epochs} step {progress.step} loss {progress.loss:.4f}"
                     if progress and run.status == "running" else "")
            detail = run.error or run.note or ""
            print(f"  {run.id:>4} {run.status:<9} {run.tagger:<7} data {run.snapshot_size}{where} {detail}")
        print("models:")
        for model in list_models(session):
            f1 = "-" if model.test_f1 is None else f"{model.test_f1:.4f}"
            print(f"  {model.id:>4} {'*' if model.is_active else ' '} {model.tagger:<7} test F1 {f1} "
                  f"train {model.n_train} {model.path}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    """Cancel a run."""
    with make_session_factory().begin() as session:
        run = request_cancel(session, args.run_id)
    print(f"run {run.id}: " + ("cancelled" if run.status == "cancelled" else "cancel requested"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run a command; errors print one actionable line and exit 1."""
    parser = argparse.ArgumentParser(prog="python -m jobs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    enq = commands.add_parser("enqueue", help="queue a training run (replaces a queued one)")
    enq.add_argument("--tagger", choices=TAGGERS, required=True)
    enq.add_argument("--epochs", type=int)
    enq.add_argument("--encoder", metavar="ID_OR_DIR", help="bert only; default: the embedded MiniLM")
    enq.add_argument("--option", type=_option, action="append", metavar="KEY=VALUE",
                     help="any other TrainConfig field, e.g. --option threads=1")
    enq.set_defaults(run=_enqueue)
    commands.add_parser("status", help="worker, runs and models").set_defaults(run=_status)
    can = commands.add_parser("cancel", help="cancel a queued or running run")
    can.add_argument("run_id", type=int, metavar="RUN_ID")
    can.set_defaults(run=_cancel)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (RunNotFoundError, RunStateError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
