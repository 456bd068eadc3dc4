"""Shared fixtures: the repository root and the real public data beside it (when present)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import require_tools

from carvis.reads.screen import compile_kmer_screen

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip: a user's fresh clone has no shared folder."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not present (real public test data lives beside the checkout in CI)")
    return SHARED


@pytest.fixture(scope="session")
def kmer_screen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kmer_screen compiled the way the build_kmer_screen rule does."""
    require_tools("cc")
    return compile_kmer_screen(tmp_path_factory.mktemp("bin") / "kmer_screen")
