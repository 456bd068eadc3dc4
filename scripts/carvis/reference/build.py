"""The combined reference: genome contigs plus each vector's provirus and backbone contigs."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

import numpy as np
import pysam

from carvis.core.errors import InputError
from carvis.core.io import atomic_write, read_tsv, write_tsv
from carvis.reference.vectors import VectorModel, contig_owner

_LINE = 60


def _genome_identity(genome: str | Path) -> bytes:
    genome = Path(genome).resolve()
    stat = genome.stat()
    return f"{genome}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode()


def genome_key(genome: str | Path) -> str:
    """A short cache key for the genome alone (its FASTA copy, .fai and minimap2 index): the resolved path,
    size and modification time (hashing a 3 GB FASTA at every start would be slow). No vector changes it."""
    return hashlib.sha256(_genome_identity(genome)).hexdigest()[:12]


def reference_key(genome: str | Path, vectors: Mapping[str, Mapping[str, object]]) -> str:
    """A short cache key for one genome + vector set.

    The genome is identified as in :func:`genome_key`; each vector by its file content and settings.
    Changing a vector, or pointing to another genome, gives a new key; nothing else does.
    """
    digest = hashlib.sha256(_genome_identity(genome))
    for name in sorted(vectors):
        spec = dict(vectors[name])
        digest.update(hashlib.sha256(Path(str(spec["sequence"])).read_bytes()).digest())
        spec.pop("sequence")
        digest.update(json.dumps([name, spec], sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]


_BLOCK_LINES = 1 << 17  # 7.9 Mb of sequence per numpy block


def _write_record(out: IO[str], name: str, seq: str) -> None:
    """One FASTA record in 60-base lines; whole lines go out in numpy blocks (a 250 Mb contig is 4 million
    lines: a Python loop over them was most of the genome's write time)."""
    out.write(f">{name}\n")
    full = len(seq) // _LINE * _LINE
    for start in range(0, full, _LINE * _BLOCK_LINES):
        piece = seq[start : min(full, start + _LINE * _BLOCK_LINES)].encode("latin-1")
        lines = np.full((len(piece) // _LINE, _LINE + 1), ord("\n"), dtype=np.uint8)
        lines[:, :_LINE] = np.frombuffer(piece, dtype=np.uint8).reshape(-1, _LINE)
        out.write(lines.tobytes().decode("latin-1"))
    if full < len(seq):
        out.write(seq[full:] + "\n")


#: Columns of the contig bases table written beside the combined reference.
BASES_COLUMNS = ("contig", "length", "called_bases")


def build_combined_reference(
    genome: str | Path,
    models: Iterable[VectorModel],
    out_fasta: str | Path,
    bases_tsv: str | Path | None = None,
) -> None:
    """Stream the genome (plain or gzipped FASTA) and append every vector contig, atomically.

    ``bases_tsv`` gets each contig's length and called (non-N) bases: the length a read can cover, which
    scales a depth sample's coverage (carvis.reads.coverage.write_coverage).
    """
    models = list(models)
    seen: set[str] = set()
    bases: list[dict[str, object]] = []
    with atomic_write(out_fasta) as out:
        try:
            with pysam.FastxFile(str(genome)) as fasta:
                for record in fasta:
                    name, seq = record.name or "", (record.sequence or "").upper()
                    if contig_owner(name):
                        raise InputError(
                            genome,
                            f"genome contig {record.name!r} looks like a carvis vector contig",
                            "rename the contig: names ending in __provirus or __backbone are reserved",
                        )
                    seen.add(name)
                    _write_record(out, name, seq)
                    bases.append(
                        {"contig": record.name, "length": len(seq), "called_bases": len(seq) - seq.count("N")}
                    )
        except OSError as exc:
            raise InputError(
                genome, f"cannot read the genome FASTA: {exc}", "give a FASTA or .fa.gz"
            ) from exc
        if not seen:
            raise InputError(genome, "no sequences in the genome FASTA", "check reference.genome")
        for model in models:
            for name, seq in model.contigs().items():
                _write_record(out, name, seq)
                bases.append({"contig": name, "length": len(seq), "called_bases": len(seq)})
    if bases_tsv is not None:
        write_tsv(bases_tsv, BASES_COLUMNS, bases)


def write_vector_reference(
    models: Iterable[VectorModel], out_fasta: str | Path, bases_tsv: str | Path
) -> None:
    """The vector contigs alone (the part of the combined reference that a new vector changes), written as
    :func:`build_combined_reference` writes them after the genome, plus their rows of the bases table."""
    bases: list[dict[str, object]] = []
    with atomic_write(out_fasta) as out:
        for model in models:
            for name, seq in model.contigs().items():
                _write_record(out, name, seq)
                bases.append({"contig": name, "length": len(seq), "called_bases": len(seq)})
    write_tsv(bases_tsv, BASES_COLUMNS, bases)


def combine_reference(
    genome: tuple[str | Path, str | Path, str | Path],
    vectors: tuple[str | Path, str | Path, str | Path],
    out: tuple[str | Path, str | Path, str | Path],
) -> None:
    """The combined reference from its genome part and its vector part, each a (FASTA, .fai, bases table).

    The FASTA is the genome's bytes then the vectors' (what :func:`build_combined_reference` writes); the
    .fai is the two indexes with the vectors' offsets moved past the genome (samtools would write the same
    lines), so neither the genome nor its index is read base by base again.
    """
    (g_fa, g_fai, g_bases), (v_fa, v_fai, v_bases), (o_fa, o_fai, o_bases) = genome, vectors, out
    with atomic_write(o_fa, "wb", compress=False) as dst:
        for part in (g_fa, v_fa):
            with open(part, "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 24)
    shift = Path(g_fa).stat().st_size
    lines = Path(g_fai).read_text().splitlines()
    for line in Path(v_fai).read_text().splitlines():
        name, length, offset, *rest = line.split("\t")
        lines.append("\t".join([name, length, str(int(offset) + shift), *rest]))
    with atomic_write(o_fai) as fai:
        fai.write("".join(f"{line}\n" for line in lines))
    rows = read_tsv(g_bases, BASES_COLUMNS) + read_tsv(v_bases, BASES_COLUMNS)
    write_tsv(o_bases, BASES_COLUMNS, rows)


def read_called_bases(path: str | Path) -> dict[str, int]:
    """Contig -> called (non-N) bases, from the table of :func:`build_combined_reference`."""
    rows = read_tsv(path, BASES_COLUMNS, "rebuild the reference (delete the reference folder and rerun)")
    return {r["contig"]: int(r["called_bases"]) for r in rows}


def write_vector_contigs_bed(models: Iterable[VectorModel], out_bed: str | Path) -> None:
    """One BED line per vector contig (for samtools depth -b)."""
    with atomic_write(out_bed) as out:
        for model in models:
            for name, seq in model.contigs().items():
                out.write(f"{name}\t0\t{len(seq)}\n")
