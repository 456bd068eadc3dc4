"""``spanning`` evidence rows: reference-allele fragments across each candidate site, counted in a BAM
(or, for screened reads, the mean fragment length the sites stage models them from), and the
reference-allele long reads across a site (:func:`spanning_reads`, for :mod:`carvis.sites.structure`)."""

from __future__ import annotations

import pysam

from carvis.core.intervals import Interval
from carvis.core.seqs import bare_name
from carvis.core.tables import PLACING_KINDS, EvidenceRow
from carvis.evidence.alignment import REF_OPS, from_record, parse_cigar
from carvis.reference.vectors import VectorModel

#: Soft clips at least this long inside the window disqualify a spanning fragment.
SPAN_CLIP = 5
#: Longest template searched for spanning fragments.
MAX_TEMPLATE = 1000
#: Proper pairs whose template lengths give the mean fragment length of screened reads.
FRAGMENT_PAIRS = 100_000
#: Bases a junction fragment must cover around its junction to be seen: about 20 host bases for the
#: aligner to place the host part and 12 vector bases for a clip; reference spanners must cover as many.
JUNCTION_REACH = 32
#: An insertion or deletion this long inside a long read's window is an allele other than the reference
#: (a provirus that minimap2 left inside one alignment, a host deletion), not a sequencing error.
LONG_GAP = 50


def candidate_sites(rows: list[EvidenceRow], models: dict[str, VectorModel]) -> set[tuple[str, str, int]]:
    """(vector, chrom, target-site start) from precise, trusted, non-duplicate junctions."""
    return {
        (row.vector, row.chrom, models[row.vector].site_start(str(row.side), row.host_pos))
        for row in rows
        if row.kind in PLACING_KINDS and not row.flags and not row.duplicate
    }


def _clipped_inside(ref_start: int, cigar: tuple[tuple[str, int], ...], window: Interval) -> bool:
    """Does the alignment have a soft clip of >= SPAN_CLIP bases at a point inside the window (1-based)?"""
    first, last = ref_start + 1, ref_start + sum(n for op, n in cigar if op in REF_OPS)
    lo, hi = window
    lead = cigar[0][1] if cigar and cigar[0][0] == "S" else 0
    trail = cigar[-1][1] if cigar and cigar[-1][0] == "S" else 0
    return (lead >= SPAN_CLIP and lo <= first <= hi) or (trail >= SPAN_CLIP and lo <= last <= hi)


def spanning_window(a: int, tsd: int) -> Interval:
    """1-based inclusive stretch a reference-allele fragment must cover at the target site starting at ``a``.

    JUNCTION_REACH bases around the site (TSD included), as a junction fragment must cover around its
    junction, so that both kinds of fragment can start at as many positions.
    """
    pad = (JUNCTION_REACH - tsd + 1) // 2
    return a - pad, a + tsd - 1 + pad


def spanning_fragments(bam: pysam.AlignmentFile, chrom: str, a: int, tsd: int, min_mapq: int) -> list[str]:
    """Names of reference-allele fragments covering :func:`spanning_window` (``chrom``: the BAM's name)."""
    window = spanning_window(a, tsd)
    names: list[str] = []
    if chrom not in bam.references:
        return names
    for rec in bam.fetch(chrom, max(0, window[0] - 1 - MAX_TEMPLATE), window[1]):
        if (
            rec.is_duplicate
            or rec.is_secondary
            or rec.is_supplementary
            or not rec.is_proper_pair
            or rec.next_reference_name != chrom
            or rec.template_length <= 0
            or rec.mapping_quality < min_mapq
            or int(rec.get_tag("MQ") if rec.has_tag("MQ") else min_mapq) < min_mapq
        ):
            continue
        start, end = rec.reference_start + 1, rec.reference_start + rec.template_length
        if start > window[0] or end < window[1]:
            continue
        own = from_record(rec).cigar
        mate = parse_cigar(str(rec.get_tag("MC"))) if rec.has_tag("MC") else ()
        if _clipped_inside(rec.reference_start, own, window) or _clipped_inside(
            rec.next_reference_start, mate, window
        ):
            continue
        names.append(str(rec.query_name))
    return sorted(set(names))


def spanning_reads(bam: pysam.AlignmentFile, chrom: str, window: Interval, min_mapq: int) -> list[str]:
    """Names of single (long) reads whose one alignment covers ``window`` (1-based inclusive) on ``chrom``
    (the genome's name; ``chr1`` and ``1`` are the same contig) with MAPQ >= ``min_mapq``, no soft clip of
    SPAN_CLIP or more and no insertion or deletion of LONG_GAP or more inside it: the reference allele."""
    contig = contig_in(bam, chrom)
    names: set[str] = set()
    if contig not in bam.references:
        return []
    for rec in bam.fetch(contig, window[0] - 1, window[1]):
        if rec.is_secondary or rec.is_duplicate or rec.mapping_quality < min_mapq:
            continue
        cigar = from_record(rec).cigar
        if rec.reference_start + 1 > window[0] or rec.reference_end is None or rec.reference_end < window[1]:
            continue
        if not _clipped_inside(rec.reference_start, cigar, window) and not _gap_inside(
            rec.reference_start, cigar, window
        ):
            names.add(str(rec.query_name))
    return sorted(names)


def _gap_inside(ref_start: int, cigar: tuple[tuple[str, int], ...], window: Interval) -> bool:
    """Does an insertion or deletion of >= LONG_GAP bases lie inside the window (1-based)?"""
    pos = ref_start  # reference bases before the current operation
    for op, n in cigar:
        reach = pos + n - 1 if op == "D" else pos  # an insertion sits between bases pos and pos + 1
        if op in "ID" and n >= LONG_GAP and pos + 1 <= window[1] and reach + 1 >= window[0]:
            return True
        if op in REF_OPS:
            pos += n
    return False


def mean_fragment_length(
    bam: pysam.AlignmentFile, models: dict[str, VectorModel], min_mapq: int
) -> tuple[float, int]:
    """(mean template length, pairs measured) of the first FRAGMENT_PAIRS unique, non-duplicate proper
    pairs on the genome; (0, 0) without any (single-end reads)."""
    vector_contigs = {c for m in models.values() for c in m.contigs()}
    total = pairs = 0
    for contig in bam.references:
        if contig in vector_contigs:
            continue
        for rec in bam.fetch(contig):
            if (
                rec.template_length > 0
                and rec.is_proper_pair
                and rec.mapping_quality >= min_mapq
                and not (rec.is_duplicate or rec.is_secondary or rec.is_supplementary)
            ):
                total += rec.template_length
                pairs += 1
                if pairs == FRAGMENT_PAIRS:
                    return total / pairs, pairs
    return (total / pairs if pairs else 0.0), pairs


def contig_in(bam: pysam.AlignmentFile, chrom: str) -> str:
    """The BAM's name for a genome contig (``chr1`` and ``1`` are the same contig)."""
    if chrom in bam.references:
        return chrom
    return {bare_name(c): c for c in bam.references}.get(bare_name(chrom), chrom)


def spanning_rows(
    bam: pysam.AlignmentFile, rows: list[EvidenceRow], models: dict[str, VectorModel], min_mapq: int
) -> list[EvidenceRow]:
    """One row per reference-allele fragment at each candidate site, counted in ``bam``."""
    return [
        EvidenceRow(fragment=name, read=0, kind="spanning", chrom=chrom, host_pos=a, vector=vector)
        for vector, chrom, a in sorted(candidate_sites(rows, models))
        for name in spanning_fragments(bam, contig_in(bam, chrom), a, models[vector].tsd_length, min_mapq)
    ]
