"""An input BAM/CRAM checked against the configured genome build (header only, before any work)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pysam

from carvis.core.errors import InputError
from carvis.core.seqs import bare_name, genome_contigs


def genome_lengths(fasta: str | Path) -> dict[str, int]:
    """Contig -> length of a FASTA (plain or gzipped), from its .fai when there is one."""
    return {contig.name: contig.length for contig in genome_contigs(fasta)}


def _header_lengths(path: Path, where: str) -> dict[str, int]:
    try:
        with pysam.AlignmentFile(str(path), "rc" if path.suffix == ".cram" else "rb", check_sq=False) as aln:
            return dict(zip(aln.references, aln.lengths, strict=True))
    except (OSError, ValueError) as exc:
        raise InputError(
            path, f"cannot read the BAM/CRAM header ({exc}){where}", "give an indexed, undamaged BAM or CRAM"
        ) from exc


def check_alignment_header(path: Path, genome: Mapping[str, int], where: str = "") -> None:
    """The BAM/CRAM must be aligned to this genome build: equal lengths for contigs of the same name.

    ``chr1`` and ``1`` count as the same name. A CRAM's contigs must all be in the genome under
    their own names, because decoding a CRAM looks each contig's sequence up by name.
    """
    header = _header_lengths(path, where)
    by_bare = {bare_name(c): (c, n) for c, n in genome.items()}
    cram = path.suffix == ".cram"
    shared = 0
    for contig, length in header.items():
        exact = genome.get(contig)
        found = (contig, exact) if exact is not None else by_bare.get(bare_name(contig))
        if found is None or (cram and exact is None):
            if cram:
                raise InputError(
                    path,
                    f"CRAM contig {contig!r} is not in the reference genome FASTA{where}",
                    "give as reference.genome the FASTA the CRAM was written with (same contig names), "
                    "or convert the CRAM to BAM with that FASTA: samtools view -b -T ref.fa in.cram",
                )
            continue
        if found[1] != length:
            raise InputError(
                path,
                f"contig {contig!r} is {length:,} bp in the BAM/CRAM header but {found[0]!r} is "
                f"{found[1]:,} bp in the genome FASTA{where}",
                "use the genome build the BAM/CRAM was aligned to as reference.genome (e.g. GRCh38 "
                "for a GRCh38 BAM)",
            )
        shared += 1
    if not shared:
        first = next(iter(header), "none")
        raise InputError(
            path,
            f"no contig of the BAM/CRAM header (first: {first!r}) is in the genome FASTA{where}",
            "use the genome build the BAM/CRAM was aligned to as reference.genome",
        )
