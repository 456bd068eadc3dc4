"""Tumour reads already aligned to the human genome (BAM/CRAM): check the header, extract what matters.

Reads that can touch the vector are unmapped, have an unmapped mate, are not properly paired
or are soft-clipped (a read holding 30 bp or more of vector-unique sequence cannot align
unclipped to the genome), or share k-mers with the vector (the k-mer screen over every primary read:
vector reads aligned in full to a contig the clinical reference holds and carvis's genome may
not, such as a viral decoy). :func:`extract_command` writes those pairs, both mates, as FASTQ for
realignment to the combined reference, decoding the file once: ``samtools view`` hands the primary
records as SAM text to ``kmer_screen -S`` (kmer_screen.c, SAM mode), which selects the pairs and pairs
the mates. The autosomal depth comes from the input BAM itself.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from carvis.reads.screen import kmer_screen_command

#: Soft-clipped bases (samtools' ``sclen``, both ends) that make a properly paired read worth realigning.
MIN_CLIP = 5


@dataclass(frozen=True)
class Extraction:
    """One BAM/CRAM extraction: the file, the FASTA that decodes a CRAM, kmer_screen (binary, screening
    reference, vector ends), the output ``prefix`` (``PREFIX_R1.fastq.gz``, ``PREFIX_R2.fastq.gz`` and
    ``PREFIX.spill.tsv``, the mates paired after kmer_screen's window) and the counts file; ``window``:
    the records waiting for their mate in memory (kmer_screen ``-w``; None: its default, 65,536)."""

    bam: str | Path
    reference: str | Path
    screen: tuple[str | Path, str | Path, str | Path]
    prefix: str | Path
    counts: str | Path
    threads: int = 2
    window: int | None = None


def extract_command(x: Extraction) -> str:
    """One decoding pass over the BAM/CRAM: its primary records (``samtools view -F 0x900``, aux tags left
    out) into kmer_screen's SAM mode, which writes both mates of each selected pair.

    kmer_screen's counts go to ``x.counts`` (:func:`carvis.reads.screen.parse_counts`; its one file,
    ``/dev/stdin``, holds the primary reads of the BAM/CRAM). A file without its end-of-file marker
    (cut at a block boundary, which samtools view only warns about) stops before the pass."""
    binary, pieces, ends = x.screen
    bam = shlex.quote(str(x.bam))
    view = [
        "samtools",
        "view",
        "-@",
        str(x.threads),
        "-T",
        str(x.reference),
        "-F",
        "0x900",
        "--keep-tag",
        "XX",
    ]
    reads = ["-S", str(MIN_CLIP), *(["-w", str(x.window)] if x.window else []), "-1", "/dev/stdin"]
    scan = kmer_screen_command(binary, pieces, ends, "0.0", x.prefix, reads)
    copy_again = "copy it again from its source and compare its checksum (sha256sum) with the source's"
    cut = f"{x.bam}: cut short or not a BAM/CRAM (samtools quickcheck: no end-of-file marker or no header)"
    stopped = f"{x.bam}: reading stopped (the samtools or kmer_screen message above says where)"
    return (
        f"set -o pipefail; samtools quickcheck {bam} || {_stop(f'{cut}: {copy_again}')}"
        f" && {{ {shlex.join(view)} {bam} | {shlex.join(scan)} >{shlex.quote(str(x.counts))}"
        f" || {_stop(f'{stopped}; if the file is damaged, {copy_again}')}; }}"
    )


def _stop(message: str) -> str:
    """Shell: print ``carvis: error: MESSAGE`` on stderr and exit 1."""
    return f"{{ echo {shlex.quote(f'carvis: error: {message}')} >&2; exit 1; }}"
