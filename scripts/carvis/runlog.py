"""Logging for stage adapters: everything a stage says, and any traceback, goes to its log file."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def log_to(path: str | Path) -> Iterator[logging.Logger]:
    """Send the ``carvis`` logger to ``path``; record an exception's traceback there before re-raising."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("carvis")
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger
    except BaseException:
        logger.error("stage failed:\n%s", traceback.format_exc())
        print(f"carvis: stage failed, see {path}", file=sys.stderr)
        raise
    finally:
        logger.removeHandler(handler)
        handler.close()
