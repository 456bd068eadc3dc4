"""Reference-allele fragments of a screened sample, counted in a second pass (``screen: count_spanning``).

The first screening pass keeps the pairs touching the vector, so the aligned reads hold every junction
fragment but almost none of the reference allele, and the clonal fraction must model it from the
genome-wide depth. This pass reads the FASTQs once more and keeps the pairs that share a k-mer with the
host bases around each candidate site of the evidence table (:func:`write_site_flanks`, less the repeats:
:func:`mask_site_flanks`), screened by the same ``kmer_screen``. Once those are aligned, the reference
fragments at each site are counted as in a fully aligned sample (:func:`write_spanning_rows`), local
depth and all.
"""

from __future__ import annotations

from pathlib import Path

import pyfaidx
import pysam
from Bio.SeqIO.FastaIO import SimpleFastaParser

from carvis.core.intervals import Interval, merge
from carvis.core.io import read_tsv, write_fasta, write_tsv
from carvis.core.tables import EVIDENCE, EvidenceRow
from carvis.evidence.spanning import MAX_TEMPLATE, candidate_sites, spanning_rows
from carvis.reference.mask import write_tiles
from carvis.reference.vectors import VectorModel

#: Host bases either side of a candidate site whose reads the second pass keeps: the longest template
#: searched for spanning fragments, so both mates of every reference fragment across the site are near.
SITE_FLANK = MAX_TEMPLATE
#: Flank tiles aligned back to the genome (length, step): the bases no uniquely placed tile covers are
#: left out of the screen.
FLANK_TILE = 100
FLANK_STEP = 10
#: A tile is unique when it aligns back to its own place with at least this MAPQ.
UNIQUE_MAPQ = 20


def evidence_rows(path: str | Path) -> list[EvidenceRow]:
    """The junction rows of an evidence table."""
    rows = read_tsv(path, EVIDENCE, "give the file written by carvis.evidence.extract.extract_evidence")
    return [EvidenceRow.from_cells(row) for row in rows if row["kind"] != "spanning"]


def site_regions(
    evidence_tsv: str | Path, models: dict[str, VectorModel], lengths: dict[str, int], flank: int = SITE_FLANK
) -> dict[str, list[Interval]]:
    """Merged 0-based half-open host intervals within ``flank`` bases of every candidate site."""
    spans: dict[str, list[Interval]] = {}
    for _, chrom, a in candidate_sites(evidence_rows(evidence_tsv), models):
        spans.setdefault(chrom, []).append((max(0, a - 1 - flank), min(lengths[chrom], a + flank)))
    return {chrom: merge(ivs) for chrom, ivs in sorted(spans.items())}


def write_site_flanks(
    evidence_tsv: str | Path,
    models: dict[str, VectorModel],
    genome_fasta: str | Path,
    out_fasta: str | Path,
    tiles_fasta: str | Path,
    flank: int = SITE_FLANK,
) -> int:
    """Write the host bases around every candidate site (one record ``chrom:start-end`` per merged
    interval) and their tiles, to be aligned back to the genome (see :func:`mask_site_flanks`); return
    the number of intervals. Lower-case (soft-masked) bases become N; the workflow passes the combined
    reference, which is upper-case, so there only :func:`mask_site_flanks` takes out repeats."""
    with pyfaidx.Fasta(str(genome_fasta), sequence_always_upper=False) as genome:
        lengths = {name: len(record) for name, record in genome.records.items()}
        regions = site_regions(evidence_tsv, models, lengths, flank)
        flanks = {
            f"{chrom}:{start + 1}-{end}": "".join(
                "N" if b.islower() else b for b in str(genome[chrom][start:end])
            )
            for chrom, intervals in regions.items()
            for start, end in intervals
        }
    write_fasta(out_fasta, flanks.items())
    write_tiles(flanks, tiles_fasta, FLANK_TILE, FLANK_STEP)
    return len(flanks)


def mask_site_flanks(
    flanks_fasta: str | Path, tiles_sam: str | Path, out_fasta: str | Path, min_mapq: int = UNIQUE_MAPQ
) -> tuple[int, int]:
    """Keep only the flank bases that some tile covers while aligning back to its own place with MAPQ
    >= ``min_mapq``; the rest (repeats: their k-mers would keep reads from every copy) become N.

    Returns (bases kept, bases in all).
    """
    with open(flanks_fasta) as handle:
        flanks = dict(SimpleFastaParser(handle))
    unique: dict[str, list[Interval]] = {name: [] for name in flanks}
    with pysam.AlignmentFile(str(tiles_sam)) as sam:
        for rec in sam:
            if rec.is_unmapped or rec.is_secondary or rec.is_supplementary or rec.mapping_quality < min_mapq:
                continue
            name, _, offset = str(rec.query_name).rpartition(":")
            chrom, _, span = name.rpartition(":")
            start = int(span.split("-")[0]) - 1 + int(offset)
            if rec.reference_name == chrom and abs(rec.reference_start - start) <= FLANK_STEP:
                unique[name].append((int(offset), int(offset) + rec.query_length))
    kept = 0
    masked = {}
    for name, seq in flanks.items():
        bases = ["N"] * len(seq)
        for lo, hi in merge(unique[name]):
            bases[lo:hi] = seq[lo:hi]
            kept += sum(b != "N" for b in seq[lo:hi])
        masked[name] = "".join(bases)
    write_fasta(out_fasta, masked.items())
    return kept, sum(len(seq) for seq in flanks.values())


def write_spanning_rows(
    evidence_tsv: str | Path,
    models: dict[str, VectorModel],
    bam_path: str | Path,
    out_tsv: str | Path,
    min_mapq: int,
) -> int:
    """Count the reference fragments at each candidate site in the second pass's BAM; write them as
    ``spanning`` evidence rows (EVIDENCE columns) and return how many."""
    with pysam.AlignmentFile(str(bam_path)) as bam:
        rows = spanning_rows(bam, evidence_rows(evidence_tsv), models, min_mapq)
    write_tsv(out_tsv, EVIDENCE, (row.cells() for row in rows))
    return len(rows)
