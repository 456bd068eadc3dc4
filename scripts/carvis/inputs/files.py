"""The files a sample-sheet row names: FASTQs (pairing, existence, the first record) and an aligned
BAM/CRAM (its header against the genome)."""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

from carvis.core.errors import InputError, damaged_gzip
from carvis.core.io import GZIP_MAGIC
from carvis.inputs.alignment import check_alignment_header

#: Longest FASTQ line read while checking the first record (guards against binary files).
_MAX_LINE = 10_000_000


def absolute(text: str | Path, base_dir: Path) -> Path:
    """A path made absolute against base_dir (symlinks are kept)."""
    path = Path(text).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else Path(base_dir) / path))


def _split_paths(text: str, folder: Path) -> list[Path]:
    """Comma-separated lanes -> absolute paths (relative to the sheet's folder)."""
    return [absolute(part.strip(), folder) for part in text.split(",") if part.strip()]


def _read_first_record(fastq: Path, where: str) -> tuple[list[bytes], bool]:
    """The first four lines of a FASTQ and whether it is gzipped (told by its magic bytes)."""
    try:
        with open(fastq, "rb") as handle:
            compressed = handle.read(2) == GZIP_MAGIC
            if not compressed:
                handle.seek(0)
                return [handle.readline(_MAX_LINE) for _ in range(4)], False
        with gzip.open(fastq, "rb") as handle:
            return [handle.readline(_MAX_LINE) for _ in range(4)], True
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise damaged_gzip(fastq, exc, where) from exc
    except OSError as exc:
        raise InputError(
            fastq, f"cannot be read: {exc.strerror}{where}", "check the file permissions"
        ) from exc


def _record_problem(lines: list[bytes]) -> tuple[int, str] | None:
    """(line, problem) for a malformed first FASTQ record, or None when it looks right."""
    for number, line in enumerate(lines, start=1):
        if len(line) == _MAX_LINE and not line.endswith(b"\n"):
            return number, f"line {number} is far too long for a FASTQ line"
    header, seq, plus, qual = (line.rstrip(b"\r\n").decode("latin-1") for line in lines)
    if not header.startswith("@"):
        return 1, f"the first line should start with '@' but reads {header[:40]!r}"
    missing = next((n for n, line in enumerate(lines, start=1) if not line), None)
    if missing is not None:
        return missing, f"the first read is incomplete: the file ends before line {missing}"
    if not plus.startswith("+"):
        return 3, f"the third line should start with '+' but reads {plus[:40]!r}"
    if len(seq) != len(qual):
        return 4, f"the quality line has {len(qual)} characters but the sequence (line 2) has {len(seq)}"
    return None


def _first_read_name(fastq: Path, where: str) -> str:
    """Check the first FASTQ record and return its read name (without /1, /2 and comments)."""
    lines, compressed = _read_first_record(fastq, where)
    if not lines[0]:
        raise InputError(
            fastq, f"the FASTQ file is empty{where}", "give the FASTQ file with this sample's reads"
        )
    if lines[0].startswith(b"BAM\x01"):
        raise InputError(
            fastq,
            f"this is a BAM file, not a FASTQ{where}",
            "convert it first: samtools fastq -1 R1.fq.gz -2 R2.fq.gz",
        )
    found = _record_problem(lines)
    if found is not None:
        number, problem = found
        fix = "give an undamaged FASTQ file (4 lines per read: @name, sequence, +, quality)"
        if fastq.name.endswith(".gz") and not compressed:
            problem = f"the file is not gzip-compressed although its name ends in .gz, and {problem}"
            fix = "copy the original .fastq.gz again (this file may be damaged or of another type)"
        raise InputError(fastq, f"{problem}{where}", fix, number)
    name = lines[0][1:].decode("latin-1").split(maxsplit=1)
    return re.sub(r"/[12]$", "", name[0] if name else "")


def check_fastqs(
    path: Path, number: int, row: dict[str, str], made: set[Path]
) -> tuple[list[Path], list[Path]]:
    """Split lanes, check pairing, existence and the first record of each FASTQ."""
    folder = path.parent
    reads = {col: _split_paths(row[col], folder) for col in ("fastq_1", "fastq_2")}
    r1, r2 = reads["fastq_1"], reads["fastq_2"]
    if r2 and len(r1) != len(r2):
        raise InputError(
            path,
            f"fastq_1 lists {len(r1)} file(s) but fastq_2 lists {len(r2)}",
            "give one read-2 file per read-1 file, in the same lane order, separated by commas "
            "(or leave fastq_2 empty for single-end data)",
            number,
        )
    for f in r1:
        if f in r2:
            raise InputError(
                path,
                f"the same file is given as read 1 and read 2: {f}",
                "put the read-2 file of each lane (often named ..._R2...) in fastq_2",
                number,
            )
    where = f" (listed in {path}, line {number})"
    names: dict[Path, str] = {}
    for col, files in reads.items():
        for f in files:
            if f in made:
                continue
            if not f.is_file():
                raise InputError(
                    path,
                    f"{col}: FASTQ file not found: {f}",
                    f"check the file name and folder; relative paths are read from the sheet's folder "
                    f"({folder})",
                    number,
                )
            names[f] = _first_read_name(f, where)
    for f1, f2 in zip(r1, r2, strict=False):  # r2 is empty for single-end data
        if f1 in names and f2 in names and names[f1] != names[f2]:
            raise InputError(
                path,
                f"read 1 and read 2 do not belong together: {f1} starts with read {names[f1]!r} but "
                f"{f2} with {names[f2]!r}",
                "pair each fastq_1 file with the fastq_2 file of the same lane, in the same order in both "
                "columns",
                number,
            )
    return r1, r2


#: The files of a bwa index, beside its prefix (``bwa index PREFIX``).
BWA_INDEX_SUFFIXES = (".amb", ".ann", ".bwt", ".pac", ".sa")

_BAM_MAGIC = (b"BAM\x01", b"CRAM")
#: Index files htslib finds beside a BAM/CRAM (``x.bam.bai`` or ``x.bai``).
_INDEX_SUFFIXES = (".bai", ".csi", ".crai")


def check_bam(path: Path, number: int, text: str, genome: Callable[[], Mapping[str, int]]) -> Path:
    """An existing BAM/CRAM aligned to the configured genome build, with its index."""
    bam = absolute(text, path.parent)
    where = f" (listed in {path}, line {number})"
    if not bam.is_file():
        raise InputError(
            path,
            f"bam: file not found: {bam}",
            f"check the file name and folder; relative paths are read from the sheet's folder "
            f"({path.parent})",
            number,
        )
    with open(bam, "rb") as handle:
        head = handle.read(4)
    if head == b"\x1f\x8b\x08\x04":
        with gzip.open(bam, "rb") as handle:
            head = handle.read(4)
    if head not in _BAM_MAGIC:
        raise InputError(
            bam,
            f"not a BAM or CRAM file{where}",
            "give a coordinate-sorted BAM or CRAM in the bam column (FASTQs go in fastq_1/fastq_2)",
        )
    if not any(Path(f"{bam}{ext}").is_file() or bam.with_suffix(ext).is_file() for ext in _INDEX_SUFFIXES):
        raise InputError(
            bam,
            f"no index beside the BAM/CRAM{where}: reads at each site are read by region",
            f"index it where it is: samtools index {bam}",
        )
    check_alignment_header(bam, genome(), where)
    return bam
