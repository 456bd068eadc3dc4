"""The evidence table: reads and fragments that join a vector to the genome, plus reference-allele spanners.

Split and discordant rows come from records on vector contigs (every chimeric read or fragment with an
aligned vector part has a segment there). ``clip`` rows come from one pass over the genome-aligned reads:
a soft clip too short for the aligner to place on the vector is compared with the provirus termini
directly. ``host_clip`` rows are the converse: a vector-aligned read that ends at a provirus terminus and
continues in a soft clip too short to place on the genome, whose bases match the host next to a junction
seen by a split or clip row (or the partner junction its TSD predicts). They have no host placement of
their own (host MAPQ NA): the sites stage uses them only at the junction of a site anchored by other
fragments. A host clip that matches no such junction but lies beside its own mate, placed on the host,
becomes a ``mate_clip`` row (host MAPQ the mate's). Positions are 1-based. Read coordinates are in the
original read orientation (as sequenced).
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyfaidx
import pysam

from carvis.core.errors import InputError
from carvis.core.intervals import Interval, IntervalSet
from carvis.core.io import write_tsv
from carvis.core.seqs import bare_name, revcomp
from carvis.core.tables import EVIDENCE
from carvis.reference.vectors import VectorModel

#: Soft clips at least this long inside the window disqualify a spanning fragment.
SPAN_CLIP = 5
#: Longest template searched for spanning fragments.
MAX_TEMPLATE = 1000
#: Proper pairs whose template lengths give the mean fragment length of screened reads.
FRAGMENT_PAIRS = 100_000
#: Most bases a vector segment in the inner LTR copy may run past the terminus (chance microhomology).
MAX_OVERSHOOT = 5
#: Shortest soft clip compared with the provirus termini (config ``sites: min_clip``).
MIN_CLIP = 12
#: Clipped bases next to the junction that are compared with a terminus.
CLIP_COMPARE = 40
#: Clips compared over at least this many bases may differ from the terminus at 2 bases, shorter ones at 1.
CLIP_TWO_MISMATCHES = 24
#: Bases a junction fragment must cover around its junction to be seen: about 20 host bases for the
#: aligner to place the host part and 12 vector bases for a clip; reference spanners must cover as many.
JUNCTION_REACH = 32

#: (vector, vector end) -> (chrom, side, host_pos) of the junctions host clips are compared with.
Targets = dict[tuple[str, str], set[tuple[str, str, int]]]

_CIGAR = re.compile(r"(\d+)([MIDNSHP=X])")
_QUERY_OPS = set("MIS=XH")
_REF_OPS = set("MDN=X")
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
        return self.ref_start + sum(n for op, n in self.cigar if op in _REF_OPS)

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
            if op in _REF_OPS:
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


def _flags(
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


def _project_ltr(p: int, low_end: bool, model: VectorModel) -> int:
    """Move a boundary in the wrong LTR copy to the copy at the end the host attaches to.

    A segment in the inner copy may run a few bases past the LTR into the internal region
    when the host bases happen to match; the result then lies beyond the terminus.
    """
    if not model.ltr_length:
        return p
    shift = len(model.provirus) - model.ltr_length
    if low_end and p > shift - MAX_OVERSHOOT:
        return p - shift
    if not low_end and p <= model.ltr_length + MAX_OVERSHOOT:
        return p + shift
    return p


def _contig_length(hit: VectorHit) -> int:
    return len(hit.model.provirus) if hit.part == "provirus" else len(hit.model.backbone)


def split_row(hit: VectorHit, host: Alignment, rules: Rules) -> dict[str, object]:
    """Evidence fields of one vector-host split read."""
    vs, ve = hit.aln.read_span()
    hs, he = host.read_span()
    host_before = hs + he < vs + ve
    toward = -1 if host_before else 1  # read direction from the vector segment to the host
    low_end = host_before != hit.aln.reverse
    boundary_idx = vs if host_before else ve - 1
    length = _contig_length(hit)
    p = hit.start + 1 if low_end else hit.end
    if hit.part == "provirus":
        p = _project_ltr(p, low_end, hit.model)
    offset = p - 1 if low_end else length - p  # negative: the segment runs past the terminus
    anchored = -MAX_OVERSHOOT <= offset <= rules.slop
    edge_idx = boundary_idx + toward * offset if anchored else boundary_idx
    host_pos = host.ref_at(edge_idx + toward)
    vector_after = -toward * (-1 if host.reverse else 1) > 0  # vector at higher genome coordinates
    flags = _flags(hit.model, hit.part, (hit.start, hit.end), host.mapq, rules)
    if not anchored:
        flags.append("off_terminus")
    return {
        "kind": "split",
        "chrom": host.contig,
        "host_pos": host_pos,
        "side": "left" if vector_after else "right",
        "vector_end": "5p" if low_end else "3p",
        "vector_pos": (1 if low_end else length) if anchored else p,
        "anchor_offset": abs(offset),
        "host_mapq": host.mapq,
        "vector_mapq": hit.aln.mapq,
        "precise": "yes",
        "flags": flags,
        "vector_bases": max(0, offset) + ve - vs,
        "host_bases": he - hs,
    }


def _mate_inner_end(rec: pysam.AlignedSegment) -> tuple[int, bool]:
    """1-based inner end of the mate (its 3'-most base) and whether the mate is forward."""
    forward = not rec.mate_is_reverse
    start = rec.next_reference_start + 1
    if not forward:
        return start, forward
    if rec.has_tag("MC"):
        span = sum(n for op, n in parse_cigar(str(rec.get_tag("MC"))) if op in _REF_OPS)
        return start + span - 1, forward
    raise ValueError(f"read {rec.query_name} has no MC tag; run samtools fixmate")


def _mate_mapq(bam: pysam.AlignmentFile, rec: pysam.AlignedSegment) -> int:
    if rec.has_tag("MQ"):
        return int(rec.get_tag("MQ"))
    return int(bam.mate(rec).mapping_quality)


def discordant_row(
    bam: pysam.AlignmentFile,
    rec: pysam.AlignedSegment,
    hit: VectorHit,
    rules: Rules,
) -> dict[str, object]:
    """Evidence fields of a fragment with one mate on the vector and the other on the genome."""
    host_pos, mate_forward = _mate_inner_end(rec)
    host_mapq = _mate_mapq(bam, rec)
    return {
        "kind": "discordant",
        "read": 0,
        "chrom": rec.next_reference_name,
        "host_pos": host_pos,
        "side": "left" if mate_forward else "right",
        "vector_end": "5p" if rec.is_reverse else "3p",
        "vector_pos": hit.start + 1 if rec.is_reverse else hit.end,
        "vector_bases": hit.end if rec.is_reverse else _contig_length(hit) - hit.start,
        "anchor_offset": None,
        "host_mapq": host_mapq,
        "vector_mapq": rec.mapping_quality,
        "precise": "no",
        "flags": _flags(hit.model, hit.part, (hit.start, hit.end), host_mapq, rules),
    }


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
        if mismatches > (2 if n >= CLIP_TWO_MISMATCHES else 1):
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
) -> list[dict[str, object]]:
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
                {
                    "fragment": str(rec.query_name),
                    "read": _read_number(rec),
                    "kind": "clip",
                    "chrom": rec.reference_name,
                    "host_pos": boundary + step * o,
                    "side": side,
                    "vector": t.model.name,
                    "vector_end": t.end,
                    "vector_pos": 1 if t.end == "5p" else length,
                    "anchor_offset": abs(o),
                    "host_mapq": rec.mapping_quality,
                    "vector_mapq": None,
                    "precise": "yes",
                    "duplicate": rec.is_duplicate,
                    "flags": _flags(t.model, "provirus", span, rec.mapping_quality, rules),
                    "vector_bases": n,
                    "host_bases": rec.query_alignment_length,
                }
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
) -> list[dict[str, object]]:
    """Clip rows from one pass over every primary genome alignment.

    Only reads with a soft clip of at least ``rules.min_clip`` bases and no SA part on a vector contig are
    compared (reads with one are split rows). The pass reads the whole genome part of the BAM once,
    which is cheap for screened BAMs (only reads near vector sequence) and linear in size otherwise.
    """
    vector_contigs = {c for m in models.values() for c in m.contigs()}
    ends = termini(models, rules.slop)
    rows: list[dict[str, object]] = []
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
    offset: int  # bases between the aligned vector end and the terminus (negative: ran past it)


def host_clips_of(rec: pysam.AlignedSegment, model: VectorModel, rules: Rules) -> list[HostClip]:
    """Soft clips of >= ``rules.min_clip`` host bases beyond a provirus terminus (LTR copies projected, as for
    split reads) of a read aligned to the provirus contig."""
    cigar = rec.cigartuples or []
    seq = rec.query_sequence or ""
    if rec.reference_name != model.provirus_contig or not cigar or not seq:
        return []
    length = len(model.provirus)
    out = []
    if cigar[0][0] == pysam.CSOFT_CLIP:
        offset = _project_ltr(rec.reference_start + 1, True, model) - 1
        host = revcomp(seq[: cigar[0][1] - offset])
        out.append(HostClip(rec, model, "5p", host, offset))
    if cigar[-1][0] == pysam.CSOFT_CLIP:
        offset = length - _project_ltr(int(rec.reference_end or 0), False, model)
        host = seq[len(seq) - cigar[-1][1] + offset :]
        out.append(HostClip(rec, model, "3p", host, offset))
    return [c for c in out if -MAX_OVERSHOOT <= c.offset <= rules.slop and len(c.host) >= rules.min_clip]


def junction_targets(rows: list[dict[str, object]], models: dict[str, VectorModel]) -> Targets:
    """Junctions of split and clip rows with no reason for distrust but a low host MAPQ, and the partner
    junction of each that the target-site duplication predicts (other side, other vector end)."""
    out: Targets = defaultdict(set)
    for row in rows:
        if row["kind"] not in {"split", "clip"} or set(row["flags"]) - {"low_mapq"}:  # type: ignore[call-overload]
            continue
        vector, end, side = str(row["vector"]), str(row["vector_end"]), str(row["side"])
        x = int(str(row["host_pos"]))
        out[(vector, end)].add((str(row["chrom"]), side, x))
        other = "3p" if end == "5p" else "5p"
        out[(vector, other)].add((str(row["chrom"]), *tsd_partner(side, x, models[vector].tsd_length)))
    return out


def tsd_partner(side: str, host_pos: int, tsd: int) -> tuple[str, int]:
    """(side, host_pos) of the other junction of a provirus with target-site duplication ``tsd``."""
    return ("right", host_pos - tsd + 1) if side == "left" else ("left", host_pos + tsd - 1)


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
) -> list[dict[str, object]]:
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
        (chrom, side, x) = hits[0]
        rec, length = clip.rec, len(clip.model.provirus)
        span = (rec.reference_start, int(rec.reference_end or 0))
        rows.append(
            {
                "fragment": str(rec.query_name),
                "read": _read_number(rec),
                "kind": "host_clip",
                "chrom": chrom,
                "host_pos": x,
                "side": side,
                "vector": name,
                "vector_end": clip.end,
                "vector_pos": 1 if clip.end == "5p" else length,
                "anchor_offset": abs(clip.offset),
                "host_mapq": None,
                "vector_mapq": rec.mapping_quality,
                "precise": "yes",
                "duplicate": rec.is_duplicate,
                "flags": _flags(clip.model, "provirus", span, 0, rules),
                "vector_bases": max(0, clip.offset) + span[1] - span[0],
                "host_bases": len(clip.host),
            }
        )
    return rows


def mate_clip_rows(
    clips: list[HostClip],
    discordant: dict[str, dict[str, object]],
    genome: pyfaidx.Fasta,
    rules: Rules,
    qc: Counter[str],
) -> list[dict[str, object]]:
    """One ``mate_clip`` row per host clip placed by its mate: the fragment's other read lies on the host
    (its discordant row, same vector end) and the clip's first CLIP_COMPARE host bases match exactly one
    place on the host side of a junction within MAX_TEMPLATE bases of the mate's inner end (up to 1
    mismatch, 2 from CLIP_TWO_MISMATCHES bases, as :func:`match_clip`).

    The host part is too short for the aligner (12-19 bases) but, near a uniquely placed mate, such a
    match is as good as a placement: a random 12-mer matches somewhere in 2 kb, both strands, with up to
    one mismatch with probability 4000 x 37 / 4^12 = 0.009. Host MAPQ is the mate's.
    """
    rows = []
    for clip in clips:
        mate = discordant.get(str(clip.rec.query_name))
        if mate is None or (mate["vector"], mate["vector_end"]) != (clip.model.name, clip.end):
            continue
        chrom, side, inner = str(mate["chrom"]), str(mate["side"]), int(str(mate["host_pos"]))
        host = clip.host[:CLIP_COMPARE]
        if side == "left":  # mate left of the junction: the clip's host bases end at the junction
            lo = max(0, inner - len(host))
            window = str(genome[chrom][lo : inner + MAX_TEMPLATE]).upper()
            needle, shift = revcomp(host), len(host)
        else:
            lo = max(0, inner - 1 - MAX_TEMPLATE)
            window = str(genome[chrom][lo : inner - 1 + len(host)]).upper()
            needle, shift = host, 1
        hits = _near_matches(needle, window)
        if len(hits) != 1:
            qc["mate_clip_unplaced" if not hits else "mate_clip_ambiguous"] += 1
            continue
        rec, length = clip.rec, len(clip.model.provirus)
        span = (rec.reference_start, int(rec.reference_end or 0))
        host_mapq = int(str(mate["host_mapq"]))
        rows.append(
            {
                "fragment": str(rec.query_name),
                "read": _read_number(rec),
                "kind": "mate_clip",
                "chrom": chrom,
                "host_pos": lo + hits[0] + shift,
                "side": side,
                "vector": clip.model.name,
                "vector_end": clip.end,
                "vector_pos": 1 if clip.end == "5p" else length,
                "anchor_offset": abs(clip.offset),
                "host_mapq": host_mapq,
                "vector_mapq": rec.mapping_quality,
                "precise": "yes",
                "duplicate": rec.is_duplicate,
                "flags": _flags(clip.model, "provirus", span, host_mapq, rules),
                "vector_bases": max(0, clip.offset) + span[1] - span[0],
                "host_bases": len(clip.host),
            }
        )
    return rows


def _near_matches(needle: str, window: str) -> list[int]:
    """Start offsets in ``window`` where ``needle`` matches with at most 1 mismatch (2 from
    CLIP_TWO_MISMATCHES bases)."""
    limit = 2 if len(needle) >= CLIP_TWO_MISMATCHES else 1
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


def _read_number(rec: pysam.AlignedSegment) -> int:
    if not rec.is_paired:
        return 0
    return 1 if rec.is_read1 else 2


def _is_duplicate(bam: pysam.AlignmentFile, rec: pysam.AlignedSegment, others: list[Alignment]) -> bool:
    """Duplicate flag of the read's primary record (markdup does not flag supplementary records)."""
    if rec.is_duplicate or not rec.is_supplementary:
        return rec.is_duplicate
    number = _read_number(rec)
    for aln in others:
        for cand in bam.fetch(aln.contig, aln.ref_start, aln.ref_start + 1):
            if (
                cand.query_name == rec.query_name
                and _read_number(cand) == number
                and not (cand.is_supplementary or cand.is_secondary)
            ):
                return cand.is_duplicate
    return False


def _vector_records(bam: pysam.AlignmentFile, model: VectorModel) -> Iterator[pysam.AlignedSegment]:
    for contig in model.contigs():
        if contig in bam.references:
            # own iterator: duplicate and mate look-ups fetch from ``bam`` while this one runs
            for rec in bam.fetch(contig, multiple_iterators=True):
                if not (rec.is_unmapped or rec.is_secondary):
                    yield rec


def chimeric_rows(
    bam: pysam.AlignmentFile,
    models: dict[str, VectorModel],
    rules: Rules,
    qc: Counter[str],
    genome: pyfaidx.Fasta | None = None,
) -> list[dict[str, object]]:
    """Split, clip, discordant and (with ``genome``) host-clip rows: one per read (split, clip, host clip)
    or fragment (discordant)."""
    vector_contigs = {c for m in models.values() for c in m.contigs()}
    split: dict[tuple[str, int], tuple[int, dict[str, object]]] = {}
    clips: list[HostClip] = []
    discordant: dict[str, dict[str, object]] = {}
    signatures: dict[str, tuple[object, ...]] = {}
    for model in models.values():
        for rec in _vector_records(bam, model):
            hit = place_on_vector(from_record(rec), model)
            if rec.is_paired and not rec.is_supplementary and not rec.mate_is_unmapped:
                signatures[str(rec.query_name)] = _signature(rec, models)
            others = sa_alignments(rec)
            hosts = [a for a in others if a.contig not in vector_contigs]
            key = (str(rec.query_name), _read_number(rec))
            if hosts:
                vs, ve = hit.aln.read_span()
                host = min(hosts, key=lambda a: _gap((vs, ve), a.read_span()))
                row = split_row(hit, host, rules)
                row.update(fragment=key[0], read=key[1], vector=model.name)
                row["duplicate"] = _is_duplicate(bam, rec, others)
                gap = _gap((vs, ve), host.read_span())
                if key not in split or gap < split[key][0]:
                    split[key] = (gap, row)
            elif others:
                qc["vector_internal_chimeras"] += 1
            else:
                clips += host_clips_of(rec, model, rules)
            if (
                rec.is_paired
                and not rec.is_supplementary
                and not rec.mate_is_unmapped
                and rec.next_reference_name not in vector_contigs
                and key[0] not in discordant
            ):
                row = discordant_row(bam, rec, hit, rules)
                row.update(fragment=key[0], vector=model.name, duplicate=rec.is_duplicate)
                discordant[key[0]] = row
    rows = [row for _, row in split.values()] + list(discordant.values())
    rows += clip_rows(bam, models, rules, qc)
    if genome is not None:
        placed = host_clip_rows(clips, junction_targets(rows, models), genome, rules, qc)
        done = {(r["fragment"], r["read"]) for r in placed}
        rest = [c for c in clips if (str(c.rec.query_name), _read_number(c.rec)) not in done]
        rows += placed + mate_clip_rows(rest, discordant, genome, rules, qc)
    mark_ltr_duplicates(rows, signatures)
    for row in rows:
        qc[f"{row['kind']}_rows"] += 1
    return rows


def _canonical_ltr(model: VectorModel, pos: int) -> int:
    """A provirus position in the second LTR copy moved to the first (the copies are identical)."""
    shift = len(model.provirus) - model.ltr_length
    return pos - shift if model.ltr_length and pos > shift else pos


def _five_prime(ref_start: int, cigar: tuple[tuple[str, int], ...], reverse: bool) -> int:
    """Unclipped 5' end (0-based) of an alignment, as samtools markdup uses it."""
    if reverse:
        end = ref_start + sum(n for op, n in cigar if op in _REF_OPS)
        return end + (cigar[-1][1] if cigar[-1][0] in "SH" else 0)
    return ref_start - (cigar[0][1] if cigar[0][0] in "SH" else 0)


def _end_key(models: dict[str, VectorModel], contig: str, pos: int, reverse: bool) -> tuple[str, int, bool]:
    model = next((m for m in models.values() if m.provirus_contig == contig), None)
    return contig, _canonical_ltr(model, pos) if model else pos, reverse


def _signature(rec: pysam.AlignedSegment, models: dict[str, VectorModel]) -> tuple[object, ...]:
    """Fragment ends for duplicate marking, with LTR placements made canonical.

    Reads in an LTR (MAPQ 0) land on either copy at random, so markdup misses their duplicates.
    """
    own = from_record(rec)
    mate_cigar = parse_cigar(str(rec.get_tag("MC"))) if rec.has_tag("MC") else (("M", 0),)
    ends = (
        _end_key(models, own.contig, _five_prime(own.ref_start, own.cigar, own.reverse), own.reverse),
        _end_key(
            models,
            str(rec.next_reference_name),
            _five_prime(rec.next_reference_start, mate_cigar, rec.mate_is_reverse),
            rec.mate_is_reverse,
        ),
    )
    return tuple(sorted(ends))


def mark_ltr_duplicates(rows: list[dict[str, object]], signatures: dict[str, tuple[object, ...]]) -> None:
    """Mark fragments with the same LTR-canonical ends as duplicates, keeping one per group."""
    flagged = {str(r["fragment"]) for r in rows if r["duplicate"]}
    groups: dict[tuple[object, ...], list[str]] = {}
    for name in sorted({str(r["fragment"]) for r in rows}):
        if name in signatures:
            groups.setdefault(signatures[name], []).append(name)
    duplicates = set(flagged)
    for names in groups.values():
        keep = next((n for n in names if n not in flagged), None)
        duplicates.update(n for n in names if n != keep)
    for row in rows:
        row["duplicate"] = str(row["fragment"]) in duplicates


def _gap(a: Interval, b: Interval) -> int:
    """Bases between two read intervals (negative when they overlap)."""
    return max(a[0], b[0]) - min(a[1], b[1])


def candidate_sites(
    rows: list[dict[str, object]], models: dict[str, VectorModel]
) -> set[tuple[str, str, int]]:
    """(vector, chrom, target-site start) from precise, trusted, non-duplicate junctions."""
    out = set()
    for row in rows:
        if row["kind"] not in {"split", "clip", "mate_clip"} or row["flags"] or row["duplicate"]:
            continue
        x = int(str(row["host_pos"]))
        tsd = models[str(row["vector"])].tsd_length
        a = x - tsd + 1 if row["side"] == "left" else x
        out.add((str(row["vector"]), str(row["chrom"]), a))
    return out


def _clipped_inside(ref_start: int, cigar: tuple[tuple[str, int], ...], window: Interval) -> bool:
    """Does the alignment have a soft clip of >= SPAN_CLIP bases at a point inside the window (1-based)?"""
    first, last = ref_start + 1, ref_start + sum(n for op, n in cigar if op in _REF_OPS)
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


def _join(flags: object) -> str | None:
    return (",".join(flags) or None) if isinstance(flags, list) else None


def _check_index(bam: pysam.AlignmentFile, path: str | Path) -> None:
    if not bam.has_index():
        raise InputError(path, "the BAM/CRAM has no index", "run samtools index on it")


def _check_bam(bam: pysam.AlignmentFile, path: str | Path, models: dict[str, VectorModel]) -> None:
    _check_index(bam, path)
    contigs = [m.provirus_contig for m in models.values()]
    if not any(c in bam.references for c in contigs):
        raise InputError(
            path,
            f"none of the vector contigs ({', '.join(contigs)}) is in the BAM",
            "align the reads to the combined reference (genome + vector contigs) built by carvis",
        )


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


def _contig_in(bam: pysam.AlignmentFile, chrom: str) -> str:
    """The BAM's name for a genome contig (``chr1`` and ``1`` are the same contig)."""
    if chrom in bam.references:
        return chrom
    return {bare_name(c): c for c in bam.references}.get(bare_name(chrom), chrom)


def spanning_rows(
    bam: pysam.AlignmentFile, rows: list[dict[str, object]], models: dict[str, VectorModel], min_mapq: int
) -> list[dict[str, object]]:
    """One row per reference-allele fragment at each candidate site, counted in ``bam``."""
    out: list[dict[str, object]] = []
    for vector, chrom, a in sorted(candidate_sites(rows, models)):
        contig = _contig_in(bam, chrom)
        for name in spanning_fragments(bam, contig, a, models[vector].tsd_length, min_mapq):
            out.append(
                {
                    "fragment": name,
                    "read": 0,
                    "kind": "spanning",
                    "chrom": chrom,
                    "host_pos": a,
                    "vector": vector,
                    "duplicate": False,
                    "flags": [],
                }
            )
    return out


def extract_evidence(
    bam_path: str | Path,
    models: dict[str, VectorModel],
    mask: dict[str, list[tuple[int, int]]],
    out_tsv: str | Path,
    *,
    min_mapq: int = 20,
    anchor_slop: int = 2,
    min_clip: int = MIN_CLIP,
    spanning_bam: str | Path | None = None,
    reference: str | Path | None = None,
    model_spanning: bool = False,
    qc_tsv: str | Path | None = None,
) -> dict[str, int]:
    """Write the evidence table (columns :data:`carvis.core.tables.EVIDENCE`); return QC counts.

    ``mask`` holds 0-based half-open intervals on vector contigs (regions homologous to the genome).
    ``min_clip``: shortest soft clip compared with the provirus termini (genome-aligned reads; one pass
    over every genome alignment, see :func:`clip_rows`) or with the host (vector-aligned reads).
    ``reference``: the combined FASTA the reads were aligned to; it gives the host bases that host clips
    are compared with (no ``host_clip`` rows without it). Spanning (reference-allele) fragments are
    counted in ``spanning_bam`` (the user's full input BAM/CRAM, decoded with ``reference``; contigs may
    be named chr1 or 1) or else in ``bam_path``. ``model_spanning`` (screened reads, which hold almost
    no reference fragments): none are counted; the mean fragment length is measured instead, for the
    sites stage to model them. QC counts: ``<kind>_rows``, ``vector_internal_chimeras``,
    ``clip_reads_examined``, ``clip_no_terminus``, ``clip_ambiguous``, ``clip_either_end`` (clips inside
    the stretch both provirus ends share, kept as one 5p row for the sites stage to orient),
    ``host_clip_unplaced`` (matching no target junction), ``host_clip_ambiguous`` (matching several), and with
    ``model_spanning`` ``mean_fragment_length`` (rounded) and ``fragment_length_pairs``.
    """
    rules = Rules({contig: IntervalSet(ivs) for contig, ivs in mask.items()}, min_mapq, anchor_slop, min_clip)
    qc: Counter[str] = Counter()
    with contextlib.ExitStack() as stack:
        genome = None if reference is None else stack.enter_context(pyfaidx.Fasta(str(reference)))
        bam = stack.enter_context(pysam.AlignmentFile(str(bam_path)))
        _check_bam(bam, bam_path, models)
        rows = chimeric_rows(bam, models, rules, qc, genome)
        if model_spanning:
            length, pairs = mean_fragment_length(bam, models, min_mapq)
            qc.update(mean_fragment_length=round(length), fragment_length_pairs=pairs)
        elif spanning_bam is None:
            rows += spanning_rows(bam, rows, models, min_mapq)
    if spanning_bam is not None and not model_spanning:
        ref = None if reference is None else str(reference)
        with pysam.AlignmentFile(str(spanning_bam), reference_filename=ref) as full:
            _check_index(full, spanning_bam)
            rows += spanning_rows(full, rows, models, min_mapq)
    qc["spanning_rows"] += sum(r["kind"] == "spanning" for r in rows)
    write_tsv(out_tsv, EVIDENCE, ({**row, "flags": _join(row["flags"])} for row in rows))
    if qc_tsv is not None:
        write_tsv(qc_tsv, ("metric", "count"), ({"metric": k, "count": v} for k, v in sorted(qc.items())))
    return dict(qc)
