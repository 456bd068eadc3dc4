"""``clip``, ``host_clip`` and ``mate_clip`` evidence rows: soft clips matched to the provirus termini or
to the host.

A soft clip of a genome-aligned read too short for the aligner to place on the vector is compared with
the provirus termini directly (``clip``). A vector-aligned read that ends at a provirus terminus and
continues in a soft clip too short to place on the genome becomes a ``host_clip`` row when its bases
match the host next to a junction seen by a split or clip row (or the partner junction its TSD predicts),
else a ``mate_clip`` row when they match beside its own mate, placed on the host (host MAPQ the mate's).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pyfaidx
import pysam

from carvis.core.seqs import revcomp
from carvis.core.tables import EvidenceRow
from carvis.evidence.alignment import (
    MAX_OVERSHOOT,
    Rules,
    read_number,
    sa_alignments,
    trust_flags,
)
from carvis.reference.vectors import VectorModel

#: Clipped bases next to the junction that are compared with a terminus.
CLIP_COMPARE = 40
#: Clips compared over at least this many bases may differ from the terminus at 2 bases, shorter ones at 1.
CLIP_TWO_MISMATCHES = 24
#: Host bases, on the host side of a junction, searched beside a host-placed mate for a ``mate_clip``.
MATE_WINDOW = 1000
#: (vector, vector end) -> (chrom, side, host_pos) of the junctions host clips are compared with.
Targets = dict[tuple[str, str], set[tuple[str, str, int]]]


@dataclass(frozen=True)
class Terminus:
    """A provirus end as it continues from the host base: 5p = the provirus start, 3p = the start of its
    reverse complement (both read outward from the junction)."""

    model: VectorModel
    end: str  # 5p | 3p
    seq: str


def termini(models: dict[str, VectorModel], slop: int) -> list[Terminus]:
    """Both termini of every vector, from the provirus sequence in the manifest."""
    n = CLIP_COMPARE + slop
    out = []
    for model in models.values():
        out.append(Terminus(model, "5p", model.provirus[:n]))
        out.append(Terminus(model, "3p", revcomp(model.provirus[-n:])))
    return out


def max_mismatches(compared: int) -> int:
    """Mismatches allowed when ``compared`` clipped bases are matched: 1, or 2 from CLIP_TWO_MISMATCHES."""
    return 2 if compared >= CLIP_TWO_MISMATCHES else 1


def match_clip(query: str, terminus: str, slop: int, min_clip: int) -> tuple[int, int] | None:
    """(score, offset) of the best placement of clipped bases (read outward from the host) on a terminus.

    Offset o > 0: the host alignment ran o bases into the vector (microhomology) and the clip continues at
    terminus[o:]; o < 0: the clip starts with -o host bases the aligner left unaligned. Score = mismatches
    + |o| over up to CLIP_COMPARE bases; None when more than 1 (2 from CLIP_TWO_MISMATCHES bases) differ.
    """
    best: tuple[int, int] | None = None
    for o in range(-slop, slop + 1):
        q, t = (query[-o:], terminus) if o < 0 else (query, terminus[o:])
        n = min(len(q), len(t), CLIP_COMPARE)
        if n < min_clip:
            continue
        mismatches = sum(x != y for x, y in zip(q[:n], t[:n], strict=True))
        if mismatches > max_mismatches(n):
            continue
        if best is None or (mismatches + abs(o), abs(o)) < (best[0], abs(best[1])):
            best = (mismatches + abs(o), o)
    return best


def _clip_ends(rec: pysam.AlignedSegment, min_clip: int) -> Iterator[tuple[str, str, int]]:
    """(side, clipped bases read outward from the host, last aligned host base) of long soft clips."""
    cigar = rec.cigartuples or []
    seq = rec.query_sequence or ""
    if cigar and cigar[-1][0] == pysam.CSOFT_CLIP and cigar[-1][1] >= min_clip:
        yield "left", seq[len(seq) - cigar[-1][1] :], int(rec.reference_end or 0)
    if cigar and cigar[0][0] == pysam.CSOFT_CLIP and cigar[0][1] >= min_clip:
        yield "right", revcomp(seq[: cigar[0][1]]), rec.reference_start + 1


def clip_rows_of(
    rec: pysam.AlignedSegment,
    ends: list[Terminus],
    rules: Rules,
    qc: Counter[str],
) -> list[EvidenceRow]:
    """Clip rows of one genome-aligned read: one per vector whose terminus its clip matches best.

    A clip that matches two termini (or placements) equally well is ambiguous and counted, not used.
    """
    for side, query, boundary in _clip_ends(rec, rules.min_clip):
        hits = [
            (m, t) for t in ends if (m := match_clip(query, t.seq, rules.slop, rules.min_clip)) is not None
        ]
        if not hits:
            qc["clip_no_terminus"] += 1
            continue
        best = min((m[0], abs(m[1])) for m, _ in hits)
        top = [(m[1], t) for m, t in hits if (m[0], abs(m[1])) == best]
        n = min(len(query), CLIP_COMPARE)
        if _either_end(top, n):
            qc["clip_either_end"] += 1
            top = top[:1]  # the sites stage orients it (its vector_bases lie inside the shared ends)
        if len({(o, t.end) for o, t in top}) > 1:
            qc["clip_ambiguous"] += 1
            continue
        step = -1 if side == "left" else 1  # from the aligned boundary toward the host
        rows = []
        for o, t in top:
            length = len(t.model.provirus)
            span = (0, n) if t.end == "5p" else (length - n, length)
            rows.append(
                EvidenceRow(
                    fragment=str(rec.query_name),
                    read=read_number(rec),
                    kind="clip",
                    chrom=str(rec.reference_name),
                    host_pos=boundary + step * o,
                    side=side,
                    vector=t.model.name,
                    vector_end=t.end,
                    vector_pos=1 if t.end == "5p" else length,
                    anchor_offset=abs(o),
                    host_mapq=rec.mapping_quality,
                    vector_mapq=None,
                    precise=True,
                    duplicate=rec.is_duplicate,
                    flags=tuple(trust_flags(t.model, "provirus", span, rec.mapping_quality, rules)),
                    vector_bases=n,
                    host_bases=rec.query_alignment_length,
                )
            )
        return rows
    return []


def _either_end(top: list[tuple[int, Terminus]], compared: int) -> bool:
    """Do the best placements of a clip differ only in the end of one vector, over bases both ends
    share (:meth:`VectorModel.shared_end`)?"""
    models = {t.model.name for _, t in top}
    return (
        len(top) == 2
        and len(models) == 1
        and len({o for o, _ in top}) == 1
        and compared <= top[0][1].model.shared_end()
    )


def clip_rows(
    bam: pysam.AlignmentFile, models: dict[str, VectorModel], rules: Rules, qc: Counter[str]
) -> list[EvidenceRow]:
    """Clip rows from one pass over every primary genome alignment.

    Only reads with a soft clip of at least ``rules.min_clip`` bases and no SA part on a vector contig are
    compared (reads with one are split rows). The pass reads the whole genome part of the BAM once,
    which is cheap for screened BAMs (only reads near vector sequence) and linear in size otherwise.
    """
    vector_contigs = {c for m in models.values() for c in m.contigs()}
    ends = termini(models, rules.slop)
    rows: list[EvidenceRow] = []
    for contig in bam.references:
        if contig in vector_contigs:
            continue
        for rec in bam.fetch(contig):
            cigar = rec.cigartuples
            if (
                not cigar
                or rec.is_secondary
                or rec.is_supplementary
                or max(n if op == pysam.CSOFT_CLIP else 0 for op, n in (cigar[0], cigar[-1])) < rules.min_clip
                or any(a.contig in vector_contigs for a in sa_alignments(rec))
            ):
                continue
            qc["clip_reads_examined"] += 1
            rows += clip_rows_of(rec, ends, rules, qc)
    return rows


@dataclass(frozen=True)
class HostClip:
    """Host bases soft-clipped beyond a provirus terminus on a vector-aligned read."""

    rec: pysam.AlignedSegment
    model: VectorModel
    end: str  # 5p | 3p: the terminus the alignment ends at
    host: str  # the clipped host bases read outward from the junction
    qual: str  # their base qualities (Phred+33, ``I`` where the BAM has none), in the same order
    offset: int  # bases between the aligned vector end and the terminus (negative: ran past it)


def host_clips_of(rec: pysam.AlignedSegment, model: VectorModel, rules: Rules) -> list[HostClip]:
    """Soft clips of >= ``rules.min_clip`` host bases beyond a provirus terminus (LTR copies projected, as for
    split reads) of a read aligned to the provirus contig."""
    cigar = rec.cigartuples or []
    seq = rec.query_sequence or ""
    if rec.reference_name != model.provirus_contig or not cigar or not seq:
        return []
    quals = rec.query_qualities
    qual = "I" * len(seq) if quals is None else str(pysam.qualities_to_qualitystring(quals))
    length = len(model.provirus)
    out = []
    if cigar[0][0] == pysam.CSOFT_CLIP:
        offset = model.project_ltr(rec.reference_start + 1, True, MAX_OVERSHOOT) - 1
        n = cigar[0][1] - offset
        out.append(HostClip(rec, model, "5p", revcomp(seq[:n]), qual[:n][::-1], offset))
    if cigar[-1][0] == pysam.CSOFT_CLIP:
        offset = length - model.project_ltr(int(rec.reference_end or 0), False, MAX_OVERSHOOT)
        start = len(seq) - cigar[-1][1] + offset
        out.append(HostClip(rec, model, "3p", seq[start:], qual[start:], offset))
    return [c for c in out if -MAX_OVERSHOOT <= c.offset <= rules.slop and len(c.host) >= rules.min_clip]


def junction_targets(rows: list[EvidenceRow], models: dict[str, VectorModel]) -> Targets:
    """Junctions of split and clip rows with no reason for distrust but a low host MAPQ, and the partner
    junction of each that the target-site duplication predicts (other side, other vector end)."""
    out: Targets = defaultdict(set)
    for row in rows:
        if row.kind not in {"split", "clip"} or set(row.flags) - {"low_mapq"}:
            continue
        vector, end, side = row.vector, str(row.vector_end), str(row.side)
        out[(vector, end)].add((row.chrom, side, row.host_pos))
        other = "3p" if end == "5p" else "5p"
        out[(vector, other)].add((row.chrom, *models[vector].tsd_partner(side, row.host_pos)))
    return out


def outward_flank(genome: pyfaidx.Fasta, chrom: str, side: str, host_pos: int, n: int) -> str:
    """``n`` host bases next to a junction, read away from the vector."""
    if side == "left":
        return revcomp(str(genome[chrom][max(0, host_pos - n) : host_pos]).upper())
    return str(genome[chrom][host_pos - 1 : host_pos - 1 + n]).upper()


def host_clip_rows(
    clips: list[HostClip],
    targets: Targets,
    genome: pyfaidx.Fasta,
    rules: Rules,
    qc: Counter[str],
) -> list[EvidenceRow]:
    """One row per host clip whose bases match the host next to exactly one target junction.

    Compared as a vector clip is with a terminus (:func:`match_clip`, no slop: the vector side is
    already anchored): up to 1 mismatch, 2 from CLIP_TWO_MISMATCHES bases.
    """
    flanks: dict[tuple[str, str, int], str] = {}
    rows = []
    for clip in clips:
        name = clip.model.name
        hits = []
        for chrom, side, x in sorted(targets.get((name, clip.end), ())):
            if (chrom, side, x) not in flanks:
                flanks[(chrom, side, x)] = outward_flank(genome, chrom, side, x, CLIP_COMPARE)
            if match_clip(clip.host, flanks[(chrom, side, x)], 0, rules.min_clip) is not None:
                hits.append((chrom, side, x))
        if len(hits) != 1:
            qc["host_clip_unplaced" if not hits else "host_clip_ambiguous"] += 1
            continue
        rows.append(clip_row(clip, "host_clip", hits[0], None, rules))
    return rows


def clip_row(
    clip: HostClip, kind: str, junction: tuple[str, str, int], host_mapq: int | None, rules: Rules
) -> EvidenceRow:
    """The evidence row of a host clip placed at ``junction`` (chrom, side, host_pos)."""
    rec = clip.rec
    span = (rec.reference_start, int(rec.reference_end or 0))
    chrom, side, host_pos = junction
    return EvidenceRow(
        fragment=str(rec.query_name),
        read=read_number(rec),
        kind=kind,
        chrom=chrom,
        host_pos=host_pos,
        side=side,
        vector=clip.model.name,
        vector_end=clip.end,
        vector_pos=1 if clip.end == "5p" else len(clip.model.provirus),
        anchor_offset=abs(clip.offset),
        host_mapq=host_mapq,
        vector_mapq=rec.mapping_quality,
        precise=True,
        duplicate=rec.is_duplicate,
        flags=tuple(trust_flags(clip.model, "provirus", span, host_mapq or 0, rules)),
        vector_bases=max(0, clip.offset) + span[1] - span[0],
        host_bases=len(clip.host),
    )


def mate_clip_rows(
    clips: list[HostClip],
    discordant: dict[str, EvidenceRow],
    genome: pyfaidx.Fasta,
    rules: Rules,
    qc: Counter[str],
) -> list[EvidenceRow]:
    """One ``mate_clip`` row per host clip placed by its mate: the fragment's other read lies on the host
    (its discordant row, same vector end) and the clip's first CLIP_COMPARE host bases match exactly one
    place on the host side of a junction within MATE_WINDOW bases of the mate's inner end (up to 1
    mismatch, 2 from CLIP_TWO_MISMATCHES bases, as :func:`match_clip`).

    The host part is too short for the aligner (12-19 bases) but, near a uniquely placed mate, such a
    match is as good as a placement: a random 12-mer matches somewhere in 2 kb, both strands, with up to
    one mismatch with probability 4000 x 37 / 4^12 = 0.009. Host MAPQ is the mate's.
    """
    rows = []
    for clip in clips:
        mate = discordant.get(str(clip.rec.query_name))
        if mate is None or (mate.vector, mate.vector_end) != (clip.model.name, clip.end):
            continue
        host = clip.host[:CLIP_COMPARE]
        if mate.side == "left":  # mate left of the junction: the clip's host bases end at the junction
            lo = max(0, mate.host_pos - len(host))
            window = str(genome[mate.chrom][lo : mate.host_pos + MATE_WINDOW]).upper()
            needle, shift = revcomp(host), len(host)
        else:
            lo = max(0, mate.host_pos - 1 - MATE_WINDOW)
            window = str(genome[mate.chrom][lo : mate.host_pos - 1 + len(host)]).upper()
            needle, shift = host, 1
        hits = _near_matches(needle, window)
        if len(hits) != 1:
            qc["mate_clip_unplaced" if not hits else "mate_clip_ambiguous"] += 1
            continue
        junction = (mate.chrom, str(mate.side), lo + hits[0] + shift)
        rows.append(clip_row(clip, "mate_clip", junction, mate.host_mapq, rules))
    return rows


def _near_matches(needle: str, window: str) -> list[int]:
    """Start offsets in ``window`` where ``needle`` matches with at most 1 mismatch (2 from
    CLIP_TWO_MISMATCHES bases)."""
    limit = max_mismatches(len(needle))
    hits = []
    for i in range(len(window) - len(needle) + 1):
        mismatches = 0
        for a, b in zip(needle, window[i : i + len(needle)], strict=True):
            mismatches += a != b
            if mismatches > limit:
                break
        else:
            hits.append(i)
    return hits
