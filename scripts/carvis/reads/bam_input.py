"""Tumour reads already aligned to the human genome (BAM/CRAM): check the header, extract what matters.

Reads that can touch the vector are unmapped, have an unmapped mate, are not properly paired
or are soft-clipped (a read holding 30 bp or more of vector-unique sequence cannot align
unclipped to the genome), or share k-mers with the vector (kmer_screen over every primary read:
vector reads aligned in full to a contig the clinical reference holds and carvis's genome may
not, such as a viral decoy). :func:`extract_command` writes those pairs, both mates, as FASTQ for
realignment to the combined reference; the autosomal depth comes from the input BAM itself.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

import pysam

from carvis.core.errors import InputError
from carvis.reads.screen import kmer_screen_command
from carvis.reference.preflight import genome_contigs

#: Soft-clipped bases that make a properly paired read worth realigning.
MIN_CLIP = 5
#: samtools filter expression selecting the reads to realign (their mates are fetched by name).
SELECT = f"flag.unmap || flag.munmap || !flag.proper_pair || sclen >= {MIN_CLIP}"


def bare_name(contig: str) -> str:
    """Contig name without a ``chr`` prefix, with ``M`` for ``MT`` (chr1 and 1 are the same contig)."""
    bare = contig[3:] if contig.lower().startswith("chr") else contig
    return "M" if bare.upper() == "MT" else bare


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


def extract_command(
    bam: str | Path,
    reference: str | Path,
    names: str | Path,
    r1: str | Path,
    r2: str | Path,
    threads: int,
    screen: tuple[str | Path, str | Path, str | Path],
    counts: str | Path,
) -> str:
    """Passes over the BAM/CRAM: names of the selected reads and of the reads kmer_screen keeps (``screen``:
    its binary, screening reference and vector ends), then both mates of each as FASTQ.

    kmer_screen's counts go to ``counts`` (:func:`carvis.reads.screen.parse_counts`; its one file,
    ``/dev/stdin``, holds the primary reads of the BAM/CRAM, counted without another pass)."""
    binary, pieces, ends = screen
    paths = dict(bam=bam, ref=reference, names=names, r1=r1, r2=r2, counts=counts)
    q = {k: shlex.quote(str(v)) for k, v in paths.items()}
    kmer = shlex.quote(f"{names}.kmer")
    view = f"samtools view -@ {threads} -T {q['ref']} -F 0x900"
    scan = kmer_screen_command(binary, pieces, ends, "0.0", f"{names}.kmer", ["-1", "/dev/stdin"])
    fastq_all = f"samtools fastq -n -F 0x900 --reference {q['ref']} {q['bam']}"
    return (
        f"{{ {view} -e {shlex.quote(SELECT)} {q['bam']} | cut -f 1"
        f" && {fastq_all} | {shlex.join(scan)} >{q['counts']}"
        f" && awk 'NR % 4 == 1 {{print substr($1, 2)}}' {kmer}_R1.fastq;"
        f" }} | sort -u -S 1G > {q['names']} && rm -f {kmer}_R1.fastq {kmer}_R2.fastq"
        f" && {view} -u -N {q['names']} {q['bam']}"
        f" | samtools collate -u -O - {q['names']}.collate"
        f" | samtools fastq -n -1 {q['r1']} -2 {q['r2']} -0 /dev/null -s /dev/null -"
    )
