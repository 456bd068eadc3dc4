"""Logging for stage adapters: everything a stage says, and any traceback, goes to its log file.

Bad input found inside a stage (:class:`carvis.core.errors.InputError`) is not a crash: the stage prints
``carvis: bad input`` with the file, the line and the fix to stderr and its log, and exits 1 without a
traceback. Any other exception is a bug: its traceback goes to the log and the stage re-raises.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from carvis.core.errors import InputError


def bad_input_message(exc: InputError) -> str:
    """The one message a user sees for bad input."""
    return f"carvis: bad input\n{exc}"


@contextlib.contextmanager
def log_to(path: str | Path) -> Iterator[logging.Logger]:
    """Send the ``carvis`` logger to ``path``; stop cleanly on bad input, log any other traceback."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("carvis")
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger
    except InputError as exc:
        logger.error("%s", bad_input_message(exc))
        print(bad_input_message(exc), file=sys.stderr)
        raise SystemExit(1) from None
    except BaseException:
        logger.error("stage failed:\n%s", traceback.format_exc())
        print(f"carvis: stage failed, see {path}", file=sys.stderr)
        raise
    finally:
        logger.removeHandler(handler)
        handler.close()
