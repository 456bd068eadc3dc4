"""Tumour reads already aligned to the human genome (BAM/CRAM): check the header, extract what matters.

Reads that can touch the vector are unmapped, have an unmapped mate, are not properly paired
or are soft-clipped (a read holding 30 bp or more of vector-unique sequence cannot align
unclipped to the genome), or share k-mers with the vector (the k-mer screen over every primary read:
vector reads aligned in full to a contig the clinical reference holds and carvis's genome may
not, such as a viral decoy). :func:`extract_command` writes those pairs, both mates, as FASTQ for
realignment to the combined reference, decoding the file once: ``samtools view`` hands the records
as SAM text to ``kmer_screen -S`` (kmer_screen.c, SAM mode), which selects the pairs and pairs the mates.

The autosomal depth comes from the same pass: kmer_screen writes the records whose name passes samtools'
``view -s`` hash (:func:`depth_subsample`, at most about ``depth_sample_max_pairs`` pairs) as a SAM
depth sample, whose ``samtools coverage`` is scaled by pairs / sampled pairs (:func:`depth_scale`).
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pysam

from carvis.core.errors import InputError
from carvis.reads.screen import depth_fraction, kmer_screen_command, parse_counts, subsample_option

#: Soft-clipped bases (samtools' ``sclen``, both ends) that make a properly paired read worth realigning.
MIN_CLIP = 5


@dataclass(frozen=True)
class Extraction:
    """One BAM/CRAM extraction: the file, the FASTA that decodes a CRAM, kmer_screen (binary, screening
    reference, vector ends), the output ``prefix`` (``PREFIX_R1.fastq.gz``, ``PREFIX_R2.fastq.gz`` and
    ``PREFIX.spill.tsv``, the mates paired after kmer_screen's window, and ``PREFIX.depth.sam``, the depth
    sample) and the counts file; ``subsample``: the depth sample's ``samtools view -s`` argument (``0.0``:
    none); ``window``: the records waiting for their mate in memory (kmer_screen ``-w``; None: its default,
    65,536)."""

    bam: str | Path
    reference: str | Path
    screen: tuple[str | Path, str | Path, str | Path]
    prefix: str | Path
    counts: str | Path
    threads: int = 2
    subsample: str = "0.0"
    window: int | None = None


def extract_command(x: Extraction) -> str:
    """One decoding pass over the BAM/CRAM: its header and records but secondary ones (``samtools view -h
    -F 0x100``, aux tags left out) into kmer_screen's SAM mode, which writes both mates of each selected pair
    and the depth sample.

    kmer_screen's counts go to ``x.counts`` (:func:`carvis.reads.screen.parse_counts`; its one file,
    ``/dev/stdin``, holds the primary reads of the BAM/CRAM). A file without its end-of-file marker
    (cut at a block boundary, which samtools view only warns about) stops before the pass."""
    binary, pieces, ends = x.screen
    bam = shlex.quote(str(x.bam))
    view = ["samtools", "view", "-@", str(x.threads), "-T", str(x.reference), "-h", "-F", "0x100"]
    view += ["--keep-tag", "XX"]
    reads = ["-S", str(MIN_CLIP), *(["-w", str(x.window)] if x.window else []), "-1", "/dev/stdin"]
    scan = kmer_screen_command(binary, pieces, ends, x.subsample, x.prefix, reads)
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


#: Bytes per read assumed for a BAM/CRAM without an index: fewer than either holds at 150 bp (a CRAM of
#: simulated reads with constant qualities: 6), so that the read count is overestimated and the depth
#: sample stays under its cap.
_MIN_BYTES_PER_READ = 5


def estimate_pairs(bam: str | Path) -> int:
    """Read pairs of a BAM/CRAM without reading it: ``samtools idxstats`` (records on each contig and
    unplaced, from the index; secondary and supplementary records included, a few % over), or for a file
    without an index (where idxstats would read it all) its size / :data:`_MIN_BYTES_PER_READ` / 2."""
    by_size = Path(bam).stat().st_size // (2 * _MIN_BYTES_PER_READ)
    verbosity = pysam.set_verbosity(0)  # no htslib message for a missing index
    try:
        with pysam.AlignmentFile(str(bam), require_index=False) as handle:  # the header only
            if not handle.has_index():
                return by_size
    finally:
        pysam.set_verbosity(verbosity)
    result = subprocess.run(["samtools", "idxstats", str(bam)], capture_output=True, text=True, check=False)
    if result.returncode:
        return by_size
    return sum(int(f[2]) + int(f[3]) for f in (line.split("\t") for line in result.stdout.splitlines())) // 2


def depth_subsample(bam: str | Path, fraction: float, max_pairs: int | None, seed: int) -> str:
    """``samtools view -s`` argument of a BAM/CRAM's depth sample: ``fraction`` of its pairs, at most about
    ``max_pairs`` (:func:`carvis.reads.screen.depth_fraction`)."""
    return subsample_option(depth_fraction(fraction, max_pairs, estimate_pairs(bam)), seed)


def depth_scale(counts: str | Path) -> float:
    """Pairs / pairs in the depth sample, from kmer_screen's counts of an extraction."""
    read = parse_counts(Path(counts).read_text())
    if not read.sampled:
        raise InputError(
            counts,
            f"the depth sample of {read.pairs:,} pairs is empty: the autosomal depth cannot be estimated",
            "raise screen: depth_sample_fraction in the config",
        )
    return read.pairs / read.sampled
