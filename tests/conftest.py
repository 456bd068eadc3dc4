"""Shared fixtures: the repository root and the real public data beside it (when present)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip: a user's fresh clone has no shared folder."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not present (real public test data lives beside the checkout in CI)")
    return SHARED
