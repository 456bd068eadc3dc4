"""Reads and bases in FASTQ files, estimated from the first MB of each (what the depth-sample caps need
before the pass that counts them)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path

from carvis.core.io import GZIP_MAGIC

_PROBE_BYTES = 1 << 20


def _estimate(files: Sequence[Path | str], bases: bool) -> int:
    total = 0.0
    for path in files:
        try:
            with open(path, "rb") as handle:
                head = handle.read(_PROBE_BYTES)
            gz = head[:2] == GZIP_MAGIC
            text = zlib.decompressobj(31).decompress(head) if gz else head
        except (OSError, zlib.error):
            continue  # unreadable or damaged: the pass itself says so
        lines = text.split(b"\n")
        found = sum(len(line) for line in lines[1::4]) if bases else text.count(b"\n") / 4
        total += os.path.getsize(path) * found / max(1, len(head))
    return round(total)


def estimate_reads(files: Sequence[Path | str]) -> int:
    """Reads in FASTQ files (gzipped or plain), from the record density of the first MB (0 for a file
    that cannot be read)."""
    return _estimate(files, bases=False)


def estimate_bases(files: Sequence[Path | str]) -> int:
    """Bases in FASTQ files, from the sequence lines of the first MB (as :func:`estimate_reads`)."""
    return _estimate(files, bases=True)
