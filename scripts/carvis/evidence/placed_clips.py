"""``aligned_clip`` evidence rows: host clips placed genome-wide by an exhaustive short-read aligner.

A vector-aligned read that ends at a provirus terminus and runs on into 20-35 host bases, whose mate also
lies on the vector, has no host alignment: minimap2's short-read index (k=21, w=11) rarely holds two seeds
in so few bases, so the aligner leaves them soft-clipped. When no split or clip row gives a junction to
compare them with (``host_clip``) and no host-placed mate gives a window (``mate_clip``), the site is seen
by this one read only. Such clips (at least ``min_bases`` host bases) are written to a FASTQ, placed by
``bwa aln`` against the genome alone (backtracking over its FM index: every placement within the clip's
edit allowance is found, so its MAPQ says whether the placement is unique: 37 when no other place comes
within one more mismatch, 20-25 when one does, 0 in a repeat) and read back as rows with the placement's
MAPQ as host MAPQ. Gapped placements, placements with more mismatches than a clip may have
(:func:`~carvis.evidence.clips.max_mismatches`) and placements below ``min_mapq`` (bwa's pick among repeat
copies, which must not join the copies of a multi-hit site) make no row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pysam

from carvis.core.io import atomic_write
from carvis.core.tables import EvidenceRow
from carvis.evidence.alignment import Rules, read_number, sa_alignments, vector_records
from carvis.evidence.clips import HostClip, clip_row, host_clips_of, max_mismatches
from carvis.reference.vectors import VectorModel

#: Separates the read name, read number and vector end in a clip's FASTQ name.
SEP = "|"


@dataclass(frozen=True)
class ClipPlacement:
    """Where the aligner put a clip's host bases: the junction (chrom, side, host_pos) and its MAPQ."""

    chrom: str
    side: str
    host_pos: int
    mapq: int


def clip_name(clip: HostClip) -> str:
    """The clip's FASTQ name: read name, read number and the provirus end it continues from."""
    return SEP.join((str(clip.rec.query_name), str(read_number(clip.rec)), clip.end))


def host_clip_candidates(
    bam: pysam.AlignmentFile, models: Mapping[str, VectorModel], rules: Rules
) -> Iterator[HostClip]:
    """Host clips of provirus-aligned reads with no other alignment (as the evidence stage collects them)."""
    for model in models.values():
        for rec in vector_records(bam, model):
            if not sa_alignments(rec):
                yield from host_clips_of(rec, model, rules)


def write_clip_fastq(
    bam_path: str | Path, models: Mapping[str, VectorModel], rules: Rules, min_bases: int, out: str | Path
) -> int:
    """Write the host clips of at least ``min_bases`` bases (read outward from the junction) as FASTQ;
    return how many. Written atomically, gzip-compressed when ``out`` ends in .gz."""
    n = 0
    with pysam.AlignmentFile(str(bam_path)) as bam, atomic_write(out) as fh:
        for clip in host_clip_candidates(bam, models, rules):
            if len(clip.host) >= min_bases:
                fh.write(f"@{clip_name(clip)}\n{clip.host}\n+\n{clip.qual}\n")
                n += 1
    return n


def read_placements(path: str | Path, qc: Counter[str]) -> dict[str, ClipPlacement]:
    """The usable placements in the aligner's BAM/SAM of the clip FASTQ, by clip name.

    The clip reads outward from the junction, so a forward placement starting at p puts the host right
    of the junction (host_pos = p) and a reverse one ending at e puts it left (host_pos = e).
    """
    out = {}
    with pysam.AlignmentFile(str(path), check_sq=False) as bam:
        for rec in bam:
            if rec.is_secondary or rec.is_supplementary:
                continue
            qc["clips_aligned"] += 1
            cigar = rec.cigartuples or []
            if rec.is_unmapped:
                qc["aligned_clip_unplaced"] += 1
            elif (
                len(cigar) != 1
                or cigar[0][0] != pysam.CMATCH
                or int(str(rec.get_tag("NM"))) > max_mismatches(rec.query_length)
            ):
                qc["aligned_clip_inexact"] += 1
            elif rec.is_reverse:
                out[str(rec.query_name)] = ClipPlacement(
                    str(rec.reference_name), "left", int(rec.reference_end or 0), rec.mapping_quality
                )
            else:
                out[str(rec.query_name)] = ClipPlacement(
                    str(rec.reference_name), "right", rec.reference_start + 1, rec.mapping_quality
                )
    return out


def aligned_clip_rows(
    clips: list[HostClip], placements: Mapping[str, ClipPlacement], rules: Rules, qc: Counter[str]
) -> list[EvidenceRow]:
    """One ``aligned_clip`` row per host clip the aligner placed uniquely (MAPQ at least ``rules.min_mapq``,
    kept as host MAPQ); placements below it are counted (``aligned_clip_low_mapq``)."""
    rows = []
    for clip in clips:
        placed = placements.get(clip_name(clip))
        if placed is None:
            continue
        if placed.mapq < rules.min_mapq:
            qc["aligned_clip_low_mapq"] += 1
            continue
        rows.append(
            clip_row(clip, "aligned_clip", (placed.chrom, placed.side, placed.host_pos), placed.mapq, rules)
        )
    return rows
