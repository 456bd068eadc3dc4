"""Sequence helpers: reverse complement, FASTA/GenBank reading via Biopython, a genome's contigs and names."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Bio import SeqIO
from Bio.SeqRecord import SeqRecord

from carvis.core.errors import InputError, damaged_gzip
from carvis.core.io import is_gzipped

_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def revcomp(seq: str) -> str:
    """Reverse complement of a DNA string."""
    return seq.translate(_COMPLEMENT)[::-1]


def sequence_format(path: str | Path) -> str:
    """'genbank' or 'fasta', from the file's first non-blank character."""
    with open(path) as handle:
        for line in handle:
            if line.strip():
                return "genbank" if line.startswith("LOCUS") else "fasta"
    raise InputError(path, "the file is empty", "give a FASTA or GenBank file with one vector sequence")


def read_single_record(path: str | Path) -> SeqRecord:
    """Read exactly one sequence record (FASTA or GenBank) with a clear error otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "vector file not found", "check the path under vectors: in the config")
    fmt = sequence_format(path)
    try:
        records = list(SeqIO.parse(str(path), fmt))
    except ValueError as exc:
        raise InputError(
            path, f"cannot be read as {fmt}: {exc}", "save the vector as FASTA or GenBank"
        ) from exc
    if len(records) != 1:
        raise InputError(
            path,
            f"holds {len(records)} sequences, expected exactly one",
            "put one plasmid per file (one FASTA record or one GenBank LOCUS)",
        )
    record: SeqRecord = records[0]
    seq = str(record.seq).upper()
    bad = set(seq) - set("ACGTN")
    if bad:
        raise InputError(
            path,
            f"contains characters that are not DNA bases: {''.join(sorted(bad))}",
            "use only A, C, G, T or N in the vector sequence",
        )
    if len(seq) < 200:
        raise InputError(path, f"sequence is only {len(seq)} bp", "give the full plasmid sequence")
    return record


@dataclass(frozen=True)
class Contig:
    """A genome contig: name, length, and the line that names it (FASTA header or .fai line)."""

    name: str
    length: int
    line: int
    #: letters other than A, C, G, T (N and other IUPAC codes); None when read from a .fai
    ambiguous: int | None = None


def _fai_contigs(fai: Path) -> list[Contig]:
    contigs = []
    for number, line in enumerate(fai.read_text().splitlines(), start=1):
        cells = line.split("\t")
        if len(cells) < 2 or not cells[1].isdigit():
            raise InputError(
                fai, "not a FASTA index line", "delete the .fai and rerun: samtools faidx", number
            )
        contigs.append(Contig(cells[0], int(cells[1]), number))
    return contigs


_BLOCK = 1 << 24
_OTHER_SPACE = b" \t\r\x0b\x0c"
_UNAMBIGUOUS = b"ACGTacgt\n"


def _split_headers(chunk: bytes) -> list[bytes]:
    """``chunk`` (whole lines) as sequence, header, sequence, ... : header lines at odd indices, without
    their newline (bytes.find, not a regex: a regex tries every byte of a 16 MB block)."""
    parts: list[bytes] = []
    pos = 0
    start = 0 if chunk.startswith(b">") else chunk.find(b"\n>") + 1
    while start > 0 or (start == 0 and chunk.startswith(b">") and not parts):
        parts.append(chunk[pos:start])
        end = chunk.find(b"\n", start)
        end = len(chunk) if end < 0 else end
        parts.append(chunk[start:end])
        pos = min(end + 1, len(chunk))
        start = chunk.find(b"\n>", pos - 1) + 1 if pos < len(chunk) else 0
    parts.append(chunk[pos:])
    return parts


def _streamed_contigs(path: Path) -> list[Contig]:
    """Contig names, lengths and ambiguous letters from the FASTA's lines, without keeping any sequence.

    Reads 16 MB blocks of whole lines and splits them at header lines: a stretch of sequence lines without
    whitespace other than newlines (nearly all of a genome) counts its bases with C-speed passes; any other
    stretch goes line by line (a stripped line's length; before the first header, a line must be blank).
    """
    contigs: list[Contig] = []
    name, at, length, number, ambiguous = "", 0, 0, 0, 0
    opener: Any = gzip.open if is_gzipped(path) else open
    try:
        with opener(path, "rb") as handle:
            rest = b""
            while True:
                block = handle.read(_BLOCK)
                chunk = rest + block
                cut = chunk.rfind(b"\n") + 1 if block else len(chunk)
                chunk, rest = chunk[:cut], chunk[cut:]
                for i, piece in enumerate(_split_headers(chunk)):
                    if i % 2:  # a header line
                        number += 1
                        if at:
                            contigs.append(Contig(name, length, at, ambiguous))
                        name, at = (piece[1:].decode("latin-1").split() or [""])[0], number
                        length = ambiguous = 0
                        continue
                    lines = piece.count(b"\n") + (0 if piece.endswith(b"\n") or not piece else 1)
                    if at and len(piece.translate(None, _OTHER_SPACE)) == len(piece):
                        length += len(piece) - piece.count(b"\n")
                        ambiguous += len(piece.translate(None, _UNAMBIGUOUS))
                        number += lines
                        continue
                    for line in piece.split(b"\n")[:lines]:
                        number += 1
                        if not at and line.strip():
                            raise InputError(
                                path,
                                "not a FASTA file: the first line should start with '>'",
                                "give the genome as FASTA (plain, gzip or bgzip)",
                                number,
                            )
                        length += len(line.strip())
                        ambiguous += len(line.strip().translate(None, _UNAMBIGUOUS))
                if not block:
                    break
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise damaged_gzip(path, exc, copy="the genome again from its source") from None
    if at:
        contigs.append(Contig(name, length, at, ambiguous))
    return contigs


def genome_contigs(fasta: str | Path, ambiguous: bool = False) -> list[Contig]:
    """The genome's contigs, from an up-to-date .fai when there is one (unless ``ambiguous``: the
    ambiguous letters are counted), else by streaming the FASTA."""
    fasta = Path(fasta)
    if not fasta.is_file():
        raise InputError(fasta, "genome FASTA not found", "check reference.genome in the config")
    fai = Path(f"{fasta}.fai")
    if not ambiguous and fai.is_file() and fai.stat().st_mtime >= fasta.stat().st_mtime:
        return _fai_contigs(fai)
    return _streamed_contigs(fasta)


def bare_name(contig: str) -> str:
    """Contig name without a ``chr`` prefix, with ``M`` for ``MT`` (chr1 and 1 are the same contig)."""
    bare = contig[3:] if contig.lower().startswith("chr") else contig
    return "M" if bare.upper() == "MT" else bare
