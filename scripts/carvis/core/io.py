"""Atomic output writing and small table helpers shared by every stage."""

from __future__ import annotations

import contextlib
import csv
import gzip
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from carvis.core.errors import InputError

#: The first two bytes of every gzip (and BGZF) file.
GZIP_MAGIC = b"\x1f\x8b"


def is_gzipped(path: str | Path) -> bool:
    """Does the file start with the gzip magic bytes (whatever its name)?"""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def write_fasta(path: str | Path, records: Iterable[tuple[str, str]]) -> int:
    """Write (name, sequence) records as FASTA, one line per sequence, atomically; return how many."""
    count = 0
    with atomic_write(path) as out:
        for name, seq in records:
            out.write(f">{name}\n{seq}\n")
            count += 1
    return count


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", compress: bool | None = None) -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and rename it into place only on success.

    ``compress`` defaults to ``path`` ending in ``.gz``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress is None:
        compress = path.suffix == ".gz"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        opener: Any = gzip.open if compress else open
        text_mode = "t" if compress and "b" not in mode else ""
        with opener(tmp, mode + text_mode) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def format_value(value: object) -> str:
    """Render a table cell: NA for missing, compact floats."""
    if value is None:
        return "NA"
    if isinstance(value, float):
        if value != value:  # NaN
            return "NA"
        return f"{value:.4g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def write_tsv(path: str | Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """Write rows (mappings) as a TSV with exactly ``columns``, atomically."""
    with atomic_write(path) as out:
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(format_value(row.get(c)) for c in columns) + "\n")


def read_tsv(
    path: str | Path, required: Sequence[str] = (), fix: str = "give the table this stage wrote"
) -> list[dict[str, str]]:
    """Read a TSV with a header into a list of dicts (all values as strings).

    A header lacking any ``required`` column raises an InputError naming the missing columns.
    """
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise InputError(path, f"missing columns: {', '.join(missing)}", fix, line=1)
        return list(reader)
