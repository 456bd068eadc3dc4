"""Sequence helpers: reverse complement and FASTA/GenBank reading via Biopython."""

from __future__ import annotations

from pathlib import Path

from Bio import SeqIO
from Bio.SeqRecord import SeqRecord

from carvis.core.errors import InputError

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
    record = records[0]
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
