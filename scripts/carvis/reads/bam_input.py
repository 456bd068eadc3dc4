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
from pathlib import Path

from carvis.reads.screen import kmer_screen_command

#: Soft-clipped bases that make a properly paired read worth realigning.
MIN_CLIP = 5
#: samtools filter expression selecting the reads to realign (their mates are fetched by name).
SELECT = f"flag.unmap || flag.munmap || !flag.proper_pair || sclen >= {MIN_CLIP}"


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
