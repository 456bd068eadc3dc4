"""Long-read evidence: the chimeric alignments of each read, its junction rows and its provirus structure.

minimap2 (:mod:`carvis.reads.long_reads`: ``map-ont`` / ``map-hifi`` with long joins limited, so that a
host flank is never joined across an insert by a long CIGAR insertion) splits a read that crosses a
provirus into its host and vector parts (primary + supplementary alignments, read with their full CIGARs).
In read order these form a *chain*.
Each host-vector neighbour pair becomes one ``split`` evidence row through the short-read code
(:func:`carvis.evidence.extract.split_row`: vector-end anchoring, homology mask, LTR-copy projection and
orientation are the same); ``fragment`` is the read name and ``read`` 0.

The vector parts between two host parts give the read's provirus structure (:func:`classify`):
``full_length``, ``internal_deletion`` (the lost provirus bases), ``truncated_5p`` / ``truncated_3p``
(the first / last provirus base kept), ``tandem`` (the provirus starts again: a concatemer),
``inverted`` (vector parts on both strands), ``rearrangement`` (host between vector parts, or two host
flanks that are not one target site). A read holding vector only whose vector parts join the 3' end to
the 5' end is a ``two_ltr_circle`` (episomal; never a site).

A read with one host part at one end and read bases left unaligned past its vector parts at the other (a
host flank too short for minimap2 to place: ``map-hifi`` needs an alignment score of 200, about 210 host
bases at 1% errors; ``map-ont`` a chain of several 15-mers) is checked there (:func:`tail_host`): its
tail is compared with the host beside the placed junction's TSD partner, the one host sequence the other
flank can be. A tail of at least MIN_TAIL bases that matches it (TAIL_EDITS) makes the read cross both
junctions and gives it its structure (column ``tail_host``: the host bases matched; its junction stays NA,
only the placed one makes evidence); otherwise the read, like any read crossing one junction, is
``partial``. A k-base tail matches a random sequence with probability about (placements tried: 2
TAIL_SHIFT + 1 offsets, times the starts that leave MIN_TAIL bases) x (sequences within the allowed edits)
x 4^-k: 7 x ~60 / 4^12 = 2.5e-5 for 12 bases with one edit (measured: 2.4e-5 at 12 bases, 1e-4 at 20 with
three edits over 9 starts; README, long reads).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pyfaidx
import pysam
from Bio import Align

from carvis.core.io import write_tsv
from carvis.core.seqs import revcomp
from carvis.core.tables import EVIDENCE
from carvis.evidence.clips import outward_flank
from carvis.evidence.extract import (
    Alignment,
    Rules,
    from_record,
    place_on_vector,
    split_row,
)
from carvis.reference.vectors import VectorModel

#: Provirus bases a vector part may stop short of a terminus and still reach it (alignment ends of
#: error-rich reads are ragged).
TERMINUS_SLOP = 30
#: Bases a junction read's vector part may stop short of a terminus and still be anchored there (the
#: short-read default is 2; long-read alignment ends are ragged).
ANCHOR_SLOP = 10
#: A junction's vector part is ``homologous`` (the homology mask) only when fewer than this many of its
#: bases are outside the mask: a long read whose vector part reaches vector-unique sequence is a vector
#: read, however much genome-derived sequence (promoter, cDNA) it also holds.
MIN_UNMASKED = 100
#: A deletion in a vector alignment at least this long is a provirus internal deletion.
MIN_DELETION = 100
#: Host flanks of one read further apart than this (bp) are not one target site.
MAX_TARGET_GAP = 100
#: A part whose read span lies this much (fraction) inside a longer part is an alternative alignment.
CONTAINED = 0.8
#: Unplaced tail bases needed to check a read's other flank against the host, and the most compared.
MIN_TAIL, MAX_TAIL = 12, 100
#: Edits (mismatch, inserted or deleted base) allowed per compared tail base (at least one).
TAIL_EDITS = 0.15
#: Tail bases the vector alignment may have left before the host (a ragged alignment end), and bp the
#: other junction may lie off the placed one's TSD partner (read indels or microhomology at a junction).
TAIL_SKIP, TAIL_SHIFT = 10, 3
#: Columns of the per-read structure table.
READ_STRUCTURE = (
    "read",
    "vector",
    "chrom",
    "left_junction",  # host base before the vector (lower coordinate), NA when not crossed
    "right_junction",
    "orientation",
    "structure",
    "structure_start",  # internal deletion: first lost provirus base; truncated_5p: first base kept
    "structure_end",  # internal deletion: last lost base; truncated_3p: last base kept
    "vector_parts",  # provirus parts in 5'->3' order, start-end (1-based), comma-separated
    "tail_host",  # host bases of an unplaced tail matched beside the placed junction's TSD partner (else NA)
)
#: Site orientation from a junction's side and the provirus end facing the host (as the short-read caller).
ORIENTATION = {("left", "5p"): "+", ("right", "3p"): "+", ("left", "3p"): "-", ("right", "5p"): "-"}
#: Structures that need both host flanks.
STRUCTURES = (
    "full_length",
    "internal_deletion",
    "truncated_5p",
    "truncated_3p",
    "truncated_both",
    "tandem",
    "inverted",
    "rearrangement",
)


@dataclass(frozen=True)
class Part:
    """One aligned part of a read: host (genome), provirus or backbone."""

    aln: Alignment
    kind: str  # host | provirus | backbone
    model: VectorModel | None
    start: int  # read span, 0-based half-open (original read orientation)
    end: int


def split_deletions(aln: Alignment, min_deletion: int = MIN_DELETION) -> list[Alignment]:
    """An alignment cut at every deletion of at least ``min_deletion`` bases into soft-clipped pieces."""
    total = aln.read_length
    pieces: list[Alignment] = []
    ops: list[tuple[str, int]] = []
    query = ref = 0
    start_query, start_ref = 0, aln.ref_start
    for op, n in aln.cigar:
        if op == "D" and n >= min_deletion:
            pieces.append(_piece(aln, start_ref, start_query, ops, total - query))
            ref += n
            ops, start_query, start_ref = [], query, aln.ref_start + ref
            continue
        if op in "SH":
            query += n
            if not ops and not pieces:
                start_query = query
            continue
        ops.append((op, n))
        if op in "MI=X":
            query += n
        if op in "MD=XN":
            ref += n
    pieces.append(_piece(aln, start_ref, start_query, ops, total - query))
    return pieces if len(pieces) > 1 else [aln]


def _piece(aln: Alignment, ref_start: int, lead: int, ops: list[tuple[str, int]], tail: int) -> Alignment:
    cigar = ([("S", lead)] if lead else []) + ops
    aligned = sum(n for op, n in ops if op in "MI=X")
    trail = aln.read_length - lead - aligned
    cigar += [("S", trail)] if trail > 0 else []
    return Alignment(aln.contig, ref_start, aln.reverse, tuple(cigar), aln.mapq)


def read_parts(alignments: Sequence[Alignment], owners: Mapping[str, VectorModel]) -> list[Part]:
    """The parts of one read (its primary and supplementary alignments, full CIGARs: an SA tag's CIGAR
    lumps the indels, which moves junctions) in read order, alternative alignments of the same read
    stretch left out."""
    parts: list[Part] = []
    for aln in alignments:
        model = owners.get(aln.contig)
        kind = (
            "host" if model is None else ("provirus" if aln.contig == model.provirus_contig else "backbone")
        )
        for piece in split_deletions(aln) if model is not None else [aln]:
            s, e = piece.read_span()
            parts.append(Part(piece, kind, model, s, e))
    kept: list[Part] = []
    for part in sorted(parts, key=lambda p: -(p.end - p.start)):
        size = part.end - part.start
        if not any(min(part.end, k.end) - max(part.start, k.start) >= CONTAINED * size for k in kept):
            kept.append(part)
    return sorted(kept, key=lambda p: p.start)


def _vector_parts(parts: list[Part]) -> tuple[list[tuple[int, int]], bool | None]:
    """Provirus intervals (1-based) in provirus 5'->3' order, and whether the provirus lies reversed in
    the read (None: parts on both strands)."""
    strands = {p.aln.reverse for p in parts}
    spans = [(p.aln.ref_start + 1, p.aln.ref_end) for p in parts]
    if len(strands) > 1:
        return spans, None
    reverse = strands.pop()
    return (spans[::-1] if reverse else spans), reverse


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = [spans[0]]
    for s, e in spans[1:]:
        if abs(s - out[-1][1] - 1) <= TERMINUS_SLOP:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def classify(spans: list[tuple[int, int]], length: int) -> tuple[str, int | None, int | None]:
    """Structure of a provirus whose parts (5'->3', both host flanks seen) are ``spans``; with the
    deletion or truncation coordinates."""
    merged = _merge(spans)
    if len(merged) > 1:
        for (_, e), (s, _) in pairwise(merged):
            if s < e - TERMINUS_SLOP:
                return "tandem", None, None
        return "internal_deletion", merged[0][1] + 1, merged[1][0] - 1
    s, e = merged[0]
    five, three = s > 1 + TERMINUS_SLOP, e < length - TERMINUS_SLOP
    if five and three:
        return "truncated_both", s, e
    if five:
        return "truncated_5p", s, None
    if three:
        return "truncated_3p", None, e
    return "full_length", None, None


def is_circle(spans: list[tuple[int, int]], length: int) -> bool:
    """Do consecutive vector parts join the provirus' 3' end to its 5' end (a 2-LTR circle)?"""
    return any(e >= length - TERMINUS_SLOP and s <= 1 + TERMINUS_SLOP for (_, e), (s, _) in pairwise(spans))


def edit_aligner(free_start: bool = False) -> Align.PairwiseAligner:
    """Edit distance (mismatch, insertion, deletion: one each) of a read segment against a hypothesis:
    global but for the hypothesis' trailing bases (the segment may end earlier) and, with ``free_start``,
    its leading ones (the segment may start later)."""
    aligner = Align.PairwiseAligner(mode="global", match_score=0, mismatch_score=-1, gap_score=-1)
    aligner.open_right_deletion_score = aligner.extend_right_deletion_score = 0
    if free_start:
        aligner.open_left_deletion_score = aligner.extend_left_deletion_score = 0
    return aligner


def tail_host(tail: str, host: str, aligner: Align.PairwiseAligner, slack: int = 0) -> int:
    """Host bases of ``tail`` (unplaced read bases read away from the provirus) matched by ``host`` (the
    host read away from the expected junction, from TAIL_SHIFT bases before it; the junction may lie
    ``slack`` bases further); 0 when fewer than MIN_TAIL bases match within TAIL_EDITS. The tail may
    start with up to TAIL_SKIP other bases."""
    tail = tail[:MAX_TAIL]
    for skip in range(TAIL_SKIP + 1):
        segment = tail[skip:]
        if len(segment) < MIN_TAIL:
            break
        edits = -aligner.score(host[: len(segment) + 2 * TAIL_SHIFT + slack], segment)
        if edits <= max(1, int(TAIL_EDITS * len(segment))):
            return len(segment)
    return 0


@dataclass(frozen=True)
class TailCheck:
    """What a read's unplaced tail is checked with: its bases (original orientation), the genome and the
    aligner (:func:`edit_aligner` with a free start)."""

    sequence: str
    genome: pyfaidx.Fasta
    aligner: Align.PairwiseAligner


def _tail(parts: list[Part], rows: list[dict[str, object]], check: TailCheck) -> int:
    """Host bases of the unplaced tail of a read whose one host part is at one end (0: none matched).

    The read's junction is its host part's last base before the vector part; where the two parts share
    read bases (microhomology, or a truncated provirus end), the junction may lie up to that many bases
    further out, and so may its TSD partner."""
    host = parts[0] if parts[0].kind == "host" else parts[-1]
    outer, inner = (parts[-1], parts[1]) if host is parts[0] else (parts[0], parts[-2])
    vector = outer.model
    if len(rows) != 1 or host.kind != "host" or outer.kind == "host" or vector is None:
        return 0
    tail = check.sequence[outer.end :] if host is parts[0] else check.sequence[: outer.start]
    if len(tail) < MIN_TAIL:
        return 0
    side, expected = vector.tsd_partner(str(rows[0]["side"]), int(str(rows[0]["host_pos"])))
    if host.aln.reverse != (side == "left"):  # read outward from the provirus, as outward_flank reads
        tail = revcomp(tail)
    shared = max(0, min(host.end, inner.end) - max(host.start, inner.start))
    start = expected - TAIL_SHIFT if side == "right" else expected + TAIL_SHIFT
    flank = outward_flank(check.genome, host.aln.contig, side, start, MAX_TAIL + 2 * TAIL_SHIFT + shared)
    return tail_host(tail, flank, check.aligner, shared)


def structure_row(
    parts: list[Part], rows: list[dict[str, object]], tail: int = 0
) -> dict[str, object] | None:
    """The structure row of one read (None when it holds no provirus part); ``tail``: host bases of the
    unplaced tail of a read with one host flank (:func:`_tail`)."""
    vector = [p for p in parts if p.kind == "provirus"]
    if not vector:
        return None
    model = vector[0].model
    assert model is not None
    hosts = [i for i, p in enumerate(parts) if p.kind == "host"]
    row: dict[str, object] = {"read": None, "vector": model.name, "structure": "partial"}
    spans, reverse = _vector_parts(vector)
    row["vector_parts"] = ",".join(f"{s}-{e}" for s, e in spans)
    if not hosts:
        row["structure"] = (
            "two_ltr_circle"
            if reverse is not None and is_circle(spans, len(model.provirus))
            else "vector_only"
        )
        return row
    by_side = {str(r["side"]): r for r in rows}
    row["chrom"] = parts[hosts[0]].aln.contig
    for side in ("left", "right"):
        if side in by_side:
            row[f"{side}_junction"] = by_side[side]["host_pos"]
    if rows:
        row["orientation"] = ORIENTATION[(str(rows[0]["side"]), str(rows[0]["vector_end"]))]
    first, last = hosts[0], hosts[-1]
    if first == last and 0 < first < len(parts) - 1:  # vector-host-vector: host captured between copies
        row["structure"] = "rearrangement"
        return row
    if first == last and not tail:
        return row
    between = (parts[1:] if first == 0 else parts[:-1]) if first == last else parts[first + 1 : last]
    inner = [p for p in between if p.kind == "provirus"]
    if not inner:
        return row
    if first == last:
        row["tail_host"] = tail
    a, b = parts[first].aln, parts[last].aln
    if any(p.kind != "provirus" for p in between) or a.contig != b.contig:
        row["structure"] = "rearrangement"
        return row
    if first != last and (
        len(rows) != 2 or abs(int(str(rows[0]["host_pos"])) - int(str(rows[1]["host_pos"]))) > MAX_TARGET_GAP
    ):
        row["structure"] = "rearrangement"
        return row
    inner_spans, inner_reverse = _vector_parts(inner)
    if inner_reverse is None:
        row["structure"] = "inverted"
        return row
    structure, start, end = classify(inner_spans, len(model.provirus))
    row.update(structure=structure, structure_start=start, structure_end=end)
    return row


def _is_candidate(rec: pysam.AlignedSegment, owners: Mapping[str, VectorModel]) -> bool:
    if rec.reference_name in owners:
        return True
    sa = str(rec.get_tag("SA")) if rec.has_tag("SA") else ""
    return any(entry.split(",")[0] in owners for entry in sa.split(";") if entry)


def read_alignments(
    bam_path: str | Path, owners: Mapping[str, VectorModel]
) -> Iterator[tuple[str, list[Alignment], str]]:
    """Each read with a vector part, with all its primary and supplementary alignments and its bases in
    their original orientation (from the primary; two passes)."""
    names: set[str] = set()
    groups: dict[str, list[Alignment]] = defaultdict(list)
    bases: dict[str, str] = {}
    with pysam.AlignmentFile(str(bam_path)) as bam:
        for rec in bam.fetch(until_eof=True):
            if not rec.is_unmapped and not rec.is_secondary and _is_candidate(rec, owners):
                names.add(str(rec.query_name))
    with pysam.AlignmentFile(str(bam_path)) as bam:
        for rec in bam.fetch(until_eof=True):
            if rec.query_name in names and not rec.is_unmapped and not rec.is_secondary:
                groups[str(rec.query_name)].append(from_record(rec))
                if not rec.is_supplementary:
                    bases[str(rec.query_name)] = rec.get_forward_sequence() or ""
    for name, alignments in sorted(groups.items()):
        yield name, alignments, bases.get(name, "")


def read_evidence(
    name: str,
    alignments: Sequence[Alignment],
    owners: Mapping[str, VectorModel],
    rules: Rules,
    check: TailCheck | None = None,
) -> tuple[list[dict[str, object]], dict[str, object] | None]:
    """Evidence rows (one per host-vector neighbour pair) and the structure row of one read (an unplaced
    tail checked with ``check``)."""
    parts = read_parts(alignments, owners)
    rows: list[dict[str, object]] = []
    for x, y in pairwise(parts):
        if {x.kind, y.kind} not in ({"host", "provirus"}, {"host", "backbone"}):
            continue
        vec, host = (x, y) if x.kind != "host" else (y, x)
        assert vec.model is not None
        row = split_row(place_on_vector(vec.aln, vec.model), host.aln, rules, (name, 0))
        mask = rules.masks.get(vec.aln.contig)
        span = vec.aln.ref_end - vec.aln.ref_start
        if mask is not None and span - mask.overlap(vec.aln.ref_start, vec.aln.ref_end) >= MIN_UNMASKED:
            row.flags = tuple(f for f in row.flags if f != "homologous")
        row.duplicate = False
        rows.append(row.cells())
    hosts = [p for p in parts if p.kind == "host"]
    tail = _tail(parts, rows, check) if check is not None and len(hosts) == 1 else 0
    structure = structure_row(parts, rows, tail)
    if structure is not None:
        structure["read"] = name
    return rows, structure


@dataclass(frozen=True)
class LongReadTables:
    """The tables of one long-read sample's evidence: junction rows (EVIDENCE), per-read structure
    (READ_STRUCTURE) and, optionally, a ``metric count`` table (reads with a vector part, junction rows,
    reads per structure)."""

    evidence: str | Path
    structure: str | Path
    qc: str | Path | None = None


def extract_long_read_evidence(
    bam_path: str | Path,
    models: Mapping[str, VectorModel],
    rules: Rules,
    genome_fasta: str | Path,
    tables: LongReadTables,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Write the evidence and per-read structure tables of one long-read BAM (unplaced tails checked
    against ``genome_fasta``, the combined reference)."""
    owners = {contig: m for m in models.values() for contig in m.contigs()}
    evidence: list[dict[str, object]] = []
    structures: list[dict[str, object]] = []
    with pyfaidx.Fasta(str(genome_fasta)) as genome:
        aligner = edit_aligner(free_start=True)
        for name, alignments, sequence in read_alignments(bam_path, owners):
            rows, structure = read_evidence(
                name, alignments, owners, rules, TailCheck(sequence, genome, aligner)
            )
            evidence += rows
            if structure is not None:
                structures.append(structure)
    write_tsv(tables.evidence, EVIDENCE, evidence)
    write_tsv(tables.structure, READ_STRUCTURE, structures)
    if tables.qc is not None:
        qc = {"reads_with_vector": len(structures), "junction_rows": len(evidence)}
        for row in structures:
            key = f"structure_{row['structure']}"
            qc[key] = qc.get(key, 0) + 1
        write_tsv(tables.qc, ("metric", "count"), ({"metric": k, "count": v} for k, v in sorted(qc.items())))
    return evidence, structures
