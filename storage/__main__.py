"""Command line: ``python -m storage import|export|stats``."""
from __future__ import annotations

import argparse
import logging
import sys

from storage.db import database_url, make_session_factory
from storage.exporter import WRITERS, ExportError, export
from storage.formats import ImportFormatError
from storage.importer import FORMATS, ImportSourceError, import_source
from storage.stats import label_counts, split_counts, status_counts


def _import(args: argparse.Namespace) -> int:
    """Import one file or URL in one transaction."""
    factory = make_session_factory()
    with factory.begin() as session:
        result = import_source(session, args.source, fmt=args.format, sha256=args.sha256)
    print(f"{result.source} ({result.format}): {result.records} records, {result.added} sentences added "
          f"in {result.recipes} recipes, {result.duplicates} duplicates skipped")
    return 0


def _export(args: argparse.Namespace) -> int:
    """Export the database to a file."""
    factory = make_session_factory()
    with factory.begin() as session, open(args.out, "w", encoding="utf-8", newline="") as out:
        result = export(session, args.format, out)
    print(f"wrote {result.sentences} sentences of {result.recipes} recipes to {args.out} ({result.format})")
    return 0


def _stats(_args: argparse.Namespace) -> int:
    """Print counts per status, split and label."""
    factory = make_session_factory()
    with factory.begin() as session:
        statuses, splits, labels = status_counts(session), split_counts(session), label_counts(session)
    print(f"database: {database_url()}")
    print("sentences: " + ", ".join(f"{k} {v}" for k, v in statuses.items()))
    print("confirmed per split: " + ", ".join(f"{k} {v}" for k, v in splits.items()))
    print("confirmed spans per label: " + ", ".join(f"{k} {v}" for k, v in labels.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run a command; errors print one actionable line and exit 1."""
    parser = argparse.ArgumentParser(prog="python -m storage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="import a TASTEset CSV, JSONL or CoNLL file or URL")
    imp.add_argument("source", metavar="FILE_OR_URL")
    imp.add_argument("--format", choices=FORMATS, help="default: guessed from the suffix")
    imp.add_argument("--sha256", help="expected sha256 of the file (required for unknown URLs)")
    imp.set_defaults(run=_import)
    exp = commands.add_parser("export", help="export confirmed data (jsonl: every sentence)")
    exp.add_argument("--format", choices=sorted(WRITERS), required=True)
    exp.add_argument("out", metavar="OUT")
    exp.set_defaults(run=_export)
    commands.add_parser("stats", help="counts per status, split and label").set_defaults(run=_stats)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except (ImportFormatError, ImportSourceError, ExportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
