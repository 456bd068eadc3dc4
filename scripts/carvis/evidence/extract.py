"""The evidence table: reads and fragments that join a vector to the genome, plus reference-allele spanners.

Split and discordant rows come from records on vector contigs (every chimeric read or fragment with an
aligned vector part has a segment there). ``clip`` rows come from one pass over the genome-aligned reads:
a soft clip too short for the aligner to place on the vector is compared with the provirus termini
directly. ``host_clip`` rows are the converse: a vector-aligned read that ends at a provirus terminus and
continues in a soft clip too short to place on the genome, whose bases match the host next to a junction
seen by a split or clip row (or the partner junction its TSD predicts). They have no host placement of
their own (host MAPQ NA): the sites stage uses them only at the junction of a site anchored by other
fragments. Positions are 1-based. Read coordinates are in the original read orientation (as sequenced).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyfaidx
import pysam

from carvis.core.errors import InputError
from carvis.core.intervals import Interval, IntervalSet
from carvis.core.io import write_tsv
from carvis.core.tables import EVIDENCE, EvidenceRow
from carvis.evidence.alignment import (
    MAX_OVERSHOOT,
    MIN_CLIP,
    REF_OPS,
    Alignment,
    Rules,
    VectorHit,
    contig_length,
    from_record,
    parse_cigar,
    place_on_vector,
    read_number,
    sa_alignments,
    trust_flags,
    vector_records,
)
from carvis.evidence.clips import (
    HostClip,
    clip_rows,
    host_clip_rows,
    host_clips_of,
    junction_targets,
    mate_clip_rows,
)
from carvis.evidence.placed_clips import ClipPlacement, aligned_clip_rows, read_placements
from carvis.evidence.spanning import mean_fragment_length, spanning_rows
from carvis.reference.vectors import VectorModel


def split_row(hit: VectorHit, host: Alignment, rules: Rules, read: tuple[str, int]) -> EvidenceRow:
    """Evidence row of one vector-host split read (``read``: query name and read number)."""
    vs, ve = hit.aln.read_span()
    hs, he = host.read_span()
    host_before = hs + he < vs + ve
    toward = -1 if host_before else 1  # read direction from the vector segment to the host
    low_end = host_before != hit.aln.reverse
    boundary_idx = vs if host_before else ve - 1
    length = contig_length(hit)
    p = hit.start + 1 if low_end else hit.end
    if hit.part == "provirus":
        p = hit.model.project_ltr(p, low_end, MAX_OVERSHOOT)
    offset = p - 1 if low_end else length - p  # negative: the segment runs past the terminus
    anchored = -MAX_OVERSHOOT <= offset <= rules.slop
    edge_idx = boundary_idx + toward * offset if anchored else boundary_idx
    host_pos = host.ref_at(edge_idx + toward)
    vector_after = -toward * (-1 if host.reverse else 1) > 0  # vector at higher genome coordinates
    flags = trust_flags(hit.model, hit.part, (hit.start, hit.end), host.mapq, rules)
    if not anchored:
        flags.append("off_terminus")
    return EvidenceRow(
        fragment=read[0],
        read=read[1],
        kind="split",
        chrom=host.contig,
        host_pos=host_pos,
        side="left" if vector_after else "right",
        vector=hit.model.name,
        vector_end="5p" if low_end else "3p",
        vector_pos=(1 if low_end else length) if anchored else p,
        anchor_offset=abs(offset),
        host_mapq=host.mapq,
        vector_mapq=hit.aln.mapq,
        precise=True,
        flags=tuple(flags),
        vector_bases=max(0, offset) + ve - vs,
        host_bases=he - hs,
    )


def _mate_inner_end(rec: pysam.AlignedSegment) -> tuple[int, bool]:
    """1-based inner end of the mate (its 3'-most base) and whether the mate is forward."""
    forward = not rec.mate_is_reverse
    start = rec.next_reference_start + 1
    if not forward:
        return start, forward
    if rec.has_tag("MC"):
        span = sum(n for op, n in parse_cigar(str(rec.get_tag("MC"))) if op in REF_OPS)
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
) -> EvidenceRow:
    """Evidence row of a fragment with one mate on the vector and the other on the genome."""
    host_pos, mate_forward = _mate_inner_end(rec)
    host_mapq = _mate_mapq(bam, rec)
    return EvidenceRow(
        fragment=str(rec.query_name),
        read=0,
        kind="discordant",
        chrom=str(rec.next_reference_name),
        host_pos=host_pos,
        side="left" if mate_forward else "right",
        vector=hit.model.name,
        vector_end="5p" if rec.is_reverse else "3p",
        vector_pos=hit.start + 1 if rec.is_reverse else hit.end,
        vector_bases=hit.end if rec.is_reverse else contig_length(hit) - hit.start,
        anchor_offset=None,
        host_mapq=host_mapq,
        vector_mapq=rec.mapping_quality,
        precise=False,
        duplicate=rec.is_duplicate,
        flags=tuple(trust_flags(hit.model, hit.part, (hit.start, hit.end), host_mapq, rules)),
    )


def _is_duplicate(bam: pysam.AlignmentFile, rec: pysam.AlignedSegment, others: list[Alignment]) -> bool:
    """Duplicate flag of the read's primary record (markdup does not flag supplementary records)."""
    if rec.is_duplicate or not rec.is_supplementary:
        return rec.is_duplicate
    number = read_number(rec)
    for aln in others:
        for cand in bam.fetch(aln.contig, aln.ref_start, aln.ref_start + 1):
            if (
                cand.query_name == rec.query_name
                and read_number(cand) == number
                and not (cand.is_supplementary or cand.is_secondary)
            ):
                return cand.is_duplicate
    return False


def chimeric_rows(
    bam: pysam.AlignmentFile,
    models: dict[str, VectorModel],
    rules: Rules,
    qc: Counter[str],
    genome: pyfaidx.Fasta | None = None,
    placements: Mapping[str, ClipPlacement] | None = None,
) -> list[EvidenceRow]:
    """Split, clip, discordant, (with ``genome``) host-clip and mate-clip and (with ``placements``)
    aligned-clip rows: one per read (split, clip, host clip, mate clip, aligned clip) or fragment
    (discordant). A host clip becomes at most one row: host_clip, else mate_clip, else aligned_clip."""
    vector_contigs = {c for m in models.values() for c in m.contigs()}
    split: dict[tuple[str, int], tuple[int, EvidenceRow]] = {}
    clips: list[HostClip] = []
    discordant: dict[str, EvidenceRow] = {}
    signatures: dict[str, tuple[object, ...]] = {}
    for model in models.values():
        for rec in vector_records(bam, model):
            hit = place_on_vector(from_record(rec), model)
            if rec.is_paired and not rec.is_supplementary and not rec.mate_is_unmapped:
                signatures[str(rec.query_name)] = _signature(rec, models)
            others = sa_alignments(rec)
            hosts = [a for a in others if a.contig not in vector_contigs]
            key = (str(rec.query_name), read_number(rec))
            if hosts:
                vs, ve = hit.aln.read_span()
                host = min(hosts, key=lambda a: _gap((vs, ve), a.read_span()))
                row = split_row(hit, host, rules, key)
                row.duplicate = _is_duplicate(bam, rec, others)
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
                discordant[key[0]] = discordant_row(bam, rec, hit, rules)
    rows = [row for _, row in split.values()] + list(discordant.values())
    rows += clip_rows(bam, models, rules, qc)
    if genome is not None:
        placed = host_clip_rows(clips, junction_targets(rows, models), genome, rules, qc)
        placed += mate_clip_rows(_unplaced(clips, placed), discordant, genome, rules, qc)
        rows += placed
        clips = _unplaced(clips, placed)
    if placements is not None:
        rows += aligned_clip_rows(clips, placements, rules, qc)
    mark_ltr_duplicates(rows, signatures)
    for row in rows:
        qc[f"{row.kind}_rows"] += 1
    return rows


def _unplaced(clips: list[HostClip], rows: list[EvidenceRow]) -> list[HostClip]:
    """The clips of reads that none of ``rows`` holds."""
    done = {(r.fragment, r.read) for r in rows}
    return [c for c in clips if (str(c.rec.query_name), read_number(c.rec)) not in done]


def _five_prime(ref_start: int, cigar: tuple[tuple[str, int], ...], reverse: bool) -> int:
    """Unclipped 5' end (0-based) of an alignment, as samtools markdup uses it."""
    if reverse:
        end = ref_start + sum(n for op, n in cigar if op in REF_OPS)
        return end + (cigar[-1][1] if cigar[-1][0] in "SH" else 0)
    return ref_start - (cigar[0][1] if cigar[0][0] in "SH" else 0)


def _end_key(models: dict[str, VectorModel], contig: str, pos: int, reverse: bool) -> tuple[str, int, bool]:
    model = next((m for m in models.values() if m.provirus_contig == contig), None)
    return contig, model.canonical_ltr(pos) if model else pos, reverse


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


def mark_ltr_duplicates(rows: list[EvidenceRow], signatures: dict[str, tuple[object, ...]]) -> None:
    """Mark fragments with the same LTR-canonical ends as duplicates, keeping one per group."""
    flagged = {r.fragment for r in rows if r.duplicate}
    groups: dict[tuple[object, ...], list[str]] = {}
    for name in sorted({r.fragment for r in rows}):
        if name in signatures:
            groups.setdefault(signatures[name], []).append(name)
    duplicates = set(flagged)
    for names in groups.values():
        keep = next((n for n in names if n not in flagged), None)
        duplicates.update(n for n in names if n != keep)
    for row in rows:
        row.duplicate = row.fragment in duplicates


def _gap(a: Interval, b: Interval) -> int:
    """Bases between two read intervals (negative when they overlap)."""
    return max(a[0], b[0]) - min(a[1], b[1])


def check_index(bam: pysam.AlignmentFile, path: str | Path) -> None:
    """Stop with a clear message when a BAM/CRAM to be read by region has no index."""
    if not bam.has_index():
        raise InputError(path, "the BAM/CRAM has no index", "run samtools index on it")


def _check_bam(bam: pysam.AlignmentFile, path: str | Path, models: dict[str, VectorModel]) -> None:
    check_index(bam, path)
    contigs = [m.provirus_contig for m in models.values()]
    if not any(c in bam.references for c in contigs):
        raise InputError(
            path,
            f"none of the vector contigs ({', '.join(contigs)}) is in the BAM",
            "align the reads to the combined reference (genome + vector contigs) built by carvis",
        )


@dataclass(frozen=True)
class EvidenceParams:
    """The evidence stage's settings (config ``sites``: ``min_mapq``, ``anchor_slop``, ``min_clip``).

    ``min_clip``: shortest soft clip compared with the provirus termini (genome-aligned reads; one pass
    over every genome alignment, see :func:`clip_rows`) or with the host (vector-aligned reads).
    ``model_spanning`` (screened reads, which hold almost no reference fragments): no spanning rows are
    counted; the mean fragment length is measured instead, for the sites stage to model them.
    """

    min_mapq: int = 20
    anchor_slop: int = 2
    min_clip: int = MIN_CLIP
    model_spanning: bool = False

    def rules(self, mask: dict[str, list[tuple[int, int]]]) -> Rules:
        return Rules(
            {contig: IntervalSet(ivs) for contig, ivs in mask.items()},
            self.min_mapq,
            self.anchor_slop,
            self.min_clip,
        )


@dataclass(frozen=True)
class EvidenceFiles:
    """The files of one sample's evidence step.

    ``reference``: the combined FASTA the reads were aligned to; it gives the host bases that host clips
    are compared with (no ``host_clip`` rows without it). Spanning (reference-allele) fragments are
    counted in ``spanning_bam`` (the user's full input BAM/CRAM, decoded with ``reference``; contigs may
    be named chr1 or 1) or else in ``bam``. ``qc``: where the QC counts go (none written without it).
    ``placed_clips``: the aligner's BAM of the host clip FASTQ (:mod:`carvis.evidence.placed_clips`; no
    ``aligned_clip`` rows without it).
    """

    bam: str | Path
    out: str | Path
    reference: str | Path | None = None
    spanning_bam: str | Path | None = None
    qc: str | Path | None = None
    placed_clips: str | Path | None = None


def extract_evidence(
    files: EvidenceFiles,
    models: dict[str, VectorModel],
    mask: dict[str, list[tuple[int, int]]],
    params: EvidenceParams = EvidenceParams(),
) -> dict[str, int]:
    """Write the evidence table (columns :data:`carvis.core.tables.EVIDENCE`); return QC counts.

    Three named steps: :func:`junction_step` (split, clip, discordant and host-clip rows),
    :func:`reference_step` (spanning rows, or the mean fragment length when they are modelled) and
    :func:`write_evidence`. ``mask`` holds 0-based half-open intervals on vector contigs (regions
    homologous to the genome). QC counts: ``<kind>_rows``, ``vector_internal_chimeras``,
    ``clip_reads_examined``, ``clip_no_terminus``, ``clip_ambiguous``, ``clip_either_end`` (clips inside
    the stretch both provirus ends share, kept as one 5p row for the sites stage to orient),
    ``host_clip_unplaced`` (matching no target junction), ``host_clip_ambiguous`` (matching several),
    ``clips_aligned``, ``aligned_clip_unplaced``, ``aligned_clip_inexact`` and ``aligned_clip_low_mapq``
    (clips sent to the aligner; not placed, placed with a gap or too many mismatches, placed below
    ``min_mapq``), and
    with ``model_spanning`` ``mean_fragment_length`` (rounded) and ``fragment_length_pairs``.
    """
    qc: Counter[str] = Counter()
    rows = junction_step(files, models, params.rules(mask), qc)
    rows += reference_step(files, rows, models, params, qc)
    write_evidence(files, rows, qc)
    return dict(qc)


def junction_step(
    files: EvidenceFiles, models: dict[str, VectorModel], rules: Rules, qc: Counter[str]
) -> list[EvidenceRow]:
    """Split, clip, discordant and (with the reference) host-clip rows of the sample's BAM."""
    with contextlib.ExitStack() as stack:
        genome = None if files.reference is None else stack.enter_context(pyfaidx.Fasta(str(files.reference)))
        bam = stack.enter_context(pysam.AlignmentFile(str(files.bam)))
        _check_bam(bam, files.bam, models)
        placements = None if files.placed_clips is None else read_placements(files.placed_clips, qc)
        return chimeric_rows(bam, models, rules, qc, genome, placements)


def reference_step(
    files: EvidenceFiles,
    rows: list[EvidenceRow],
    models: dict[str, VectorModel],
    params: EvidenceParams,
    qc: Counter[str],
) -> list[EvidenceRow]:
    """Spanning rows at the candidate sites of ``rows`` (in the spanning BAM, else the sample's), or with
    ``model_spanning`` none: the mean fragment length goes to ``qc`` instead."""
    if params.model_spanning:
        with pysam.AlignmentFile(str(files.bam)) as bam:
            length, pairs = mean_fragment_length(bam, models, params.min_mapq)
        qc.update(mean_fragment_length=round(length), fragment_length_pairs=pairs)
        return []
    if files.spanning_bam is None:
        with pysam.AlignmentFile(str(files.bam)) as bam:
            return spanning_rows(bam, rows, models, params.min_mapq)
    ref = None if files.reference is None else str(files.reference)
    with pysam.AlignmentFile(str(files.spanning_bam), reference_filename=ref) as full:
        check_index(full, files.spanning_bam)
        return spanning_rows(full, rows, models, params.min_mapq)


def write_evidence(files: EvidenceFiles, rows: list[EvidenceRow], qc: Counter[str]) -> None:
    """The evidence table and (``files.qc``) its QC counts."""
    qc["spanning_rows"] += sum(r.kind == "spanning" for r in rows)
    write_tsv(files.out, EVIDENCE, (row.cells() for row in rows))
    if files.qc is not None:
        write_tsv(files.qc, ("metric", "count"), ({"metric": k, "count": v} for k, v in sorted(qc.items())))
