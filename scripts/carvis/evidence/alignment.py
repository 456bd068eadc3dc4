"""Reads placed on the vector and the genome: alignments in read coordinates (from a record or its SA
tag), vector segments in provirus coordinates, and the rules a junction row is checked against
(homology mask, host MAPQ, terminus slop). Positions are 1-based unless noted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pysam

from carvis.core.intervals import Interval, IntervalSet
from carvis.reference.vectors import VectorModel

#: Most bases a vector segment in the inner LTR copy may run past the terminus (chance microhomology).
MAX_OVERSHOOT = 5
#: Shortest soft clip compared with the provirus termini (config ``sites: min_clip``).
MIN_CLIP = 12
_CIGAR = re.compile(r"(\d+)([MIDNSHP=X])")
_QUERY_OPS = set("MIS=XH")
REF_OPS = set("MDN=X")
_MATCH_OPS = set("M=X")


@dataclass(frozen=True)
class Rules:
    """What a junction row is checked against: the homology mask (0-based intervals per vector contig)
    and the ``sites`` thresholds (host MAPQ, terminus slop, shortest clip compared with a terminus)."""

    masks: dict[str, IntervalSet]
    min_mapq: int = 20
    slop: int = 2
    min_clip: int = MIN_CLIP


@dataclass(frozen=True)
class Alignment:
    """One alignment of a read: reference span and read-coordinate span."""

    contig: str
    ref_start: int  # 0-based
    reverse: bool
    cigar: tuple[tuple[str, int], ...]
    mapq: int

    @property
    def read_length(self) -> int:
        return sum(n for op, n in self.cigar if op in _QUERY_OPS)

    @property
    def ref_end(self) -> int:
        """0-based exclusive reference end."""
        return self.ref_start + sum(n for op, n in self.cigar if op in REF_OPS)

    def read_span(self) -> tuple[int, int]:
        """Aligned part as a half-open interval in original read orientation."""
        lead = 0
        for op, n in self.cigar:
            if op not in "SH":
                break
            lead += n
        aligned = sum(n for op, n in self.cigar if op in "MI=X")
        start, end = lead, lead + aligned
        if self.reverse:
            total = self.read_length
            start, end = total - end, total - start
        return start, end

    def ref_at(self, read_index: int) -> int:
        """1-based reference position of a read base; extrapolated linearly outside aligned bases."""
        total = self.read_length
        step = -1 if self.reverse else 1
        best: tuple[int, int] | None = None
        query, ref = 0, self.ref_start
        for op, n in self.cigar:
            if op in _MATCH_OPS:
                for k in range(n):
                    idx = total - 1 - (query + k) if self.reverse else query + k
                    dist = abs(idx - read_index)
                    if best is None or dist < best[0]:
                        best = (dist, ref + k + 1 + step * (read_index - idx))
                    if dist == 0:
                        return best[1]
            if op in _QUERY_OPS:
                query += n
            if op in REF_OPS:
                ref += n
        if best is None:
            raise ValueError("alignment without aligned bases")
        return best[1]


def parse_cigar(cigar: str) -> tuple[tuple[str, int], ...]:
    return tuple((op, int(n)) for n, op in _CIGAR.findall(cigar))


def from_record(rec: pysam.AlignedSegment) -> Alignment:
    ops = "MIDNSHP=X"
    cigar = tuple((ops[op], n) for op, n in rec.cigartuples or ())
    return Alignment(
        rec.reference_name or "*", rec.reference_start, rec.is_reverse, cigar, rec.mapping_quality
    )


def sa_alignments(rec: pysam.AlignedSegment) -> list[Alignment]:
    """The other parts of a chimeric read, from its SA tag."""
    if not rec.has_tag("SA"):
        return []
    out = []
    for entry in str(rec.get_tag("SA")).split(";"):
        if entry:
            contig, pos, strand, cigar, mapq, _ = entry.split(",")
            out.append(Alignment(contig, int(pos) - 1, strand == "-", parse_cigar(cigar), int(mapq)))
    return out


@dataclass
class VectorHit:
    """A vector segment placed in provirus (or backbone) coordinates."""

    aln: Alignment
    model: VectorModel
    part: str  # provirus | backbone
    start: int  # 0-based, on the contig of ``part``
    end: int


def place_on_vector(aln: Alignment, model: VectorModel) -> VectorHit:
    """Vector segment coordinates on its contig (the backbone shares no sequence with the provirus)."""
    part = "provirus" if aln.contig == model.provirus_contig else "backbone"
    return VectorHit(aln, model, part, aln.ref_start, aln.ref_end)


def trust_flags(
    model: VectorModel,
    part: str,
    span: Interval,
    host_mapq: int,
    rules: Rules,
) -> list[str]:
    """Reasons to distrust a junction whose vector part covers ``span`` (0-based) of ``part``."""
    flags = []
    contig = model.provirus_contig if part == "provirus" else str(model.backbone_contig)
    mask = rules.masks.get(contig)
    if mask is not None and 2 * mask.overlap(*span) > span[1] - span[0]:
        flags.append("homologous")
    if part == "backbone":
        flags.append("backbone")
    if host_mapq < rules.min_mapq:
        flags.append("low_mapq")
    return flags


def contig_length(hit: VectorHit) -> int:
    return len(hit.model.provirus) if hit.part == "provirus" else len(hit.model.backbone)


def read_number(rec: pysam.AlignedSegment) -> int:
    if not rec.is_paired:
        return 0
    return 1 if rec.is_read1 else 2


def vector_records(bam: pysam.AlignmentFile, model: VectorModel) -> Iterator[pysam.AlignedSegment]:
    """Mapped primary and supplementary records on the vector's contigs (provirus, backbone)."""
    for contig in model.contigs():
        if contig in bam.references:
            # own iterator: duplicate and mate look-ups fetch from ``bam`` while this one runs
            for rec in bam.fetch(contig, multiple_iterators=True):
                if not (rec.is_unmapped or rec.is_secondary):
                    yield rec
