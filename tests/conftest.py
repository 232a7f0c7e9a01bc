"""Shared fixtures: the TASTEset path (never skipped: missing data fails loudly)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TASTESET = REPO.parent / "shared" / "data" / "TASTEset.csv"


@pytest.fixture(scope="session")
def tasteset_path() -> Path:
    """Path of ../shared/data/TASTEset.csv; fails with a clear message when absent."""
    if not TASTESET.is_file():
        pytest.fail(f"TASTEset is missing: expected it at {TASTESET} (see ../shared/data/README.md)")
    return TASTESET
