"""Long-read junction positions from the reads' bases, for :mod:`carvis.sites.structure`.

Each read's bases around one junction (from its host alignment: :data:`REACH` host bases before the
candidates, then as many bases again) are aligned to the sequence each candidate position would give: the
host up to the candidate, then the provirus end (its first bases at a 5' end, its last at a 3' end; reverse
complemented for a provirus on the minus strand). Edits (mismatch, insertion, deletion: one each) are summed
over the reads, per candidate. A read whose own alignment moved the junction by a base or two around an
indel costs one edit at the true position, so the sum finds it where the median of the reads' own junctions
need not (three of four HiFi reads with an indel within 4 bp of a junction, benchmark seed 2).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pyfaidx
import pysam

from carvis.core.seqs import revcomp
from carvis.evidence.long_reads import edit_aligner

#: Host bases compared before the first candidate (and provirus bases after the last).
REACH = 30
#: Candidates: the median of the reads' own junctions and this many positions either side.
SHIFT = 3


@dataclass(frozen=True)
class Junction:
    """One side of a site: contig, side (left: host before the provirus), provirus end at the junction
    (5p or 3p), the median of the reads' junctions (the host base next to the provirus) and the reads."""

    chrom: str
    side: str
    vector_end: str
    median: int
    reads: Collection[str]


def _provirus_end(provirus: str, junction: Junction, n: int) -> str:
    """The provirus bases next to the junction on the genome's strand, in the order read away from the
    host (reversed at a right junction)."""
    if junction.side == "left":
        return provirus[:n] if junction.vector_end == "5p" else revcomp(provirus[-n:])
    end = provirus[-n:] if junction.vector_end == "3p" else revcomp(provirus[:n])
    return end[::-1]  # a right junction is read leftwards from its host anchor


def edits_by_position(
    bam: pysam.AlignmentFile, genome: pyfaidx.Fasta, provirus: str, junction: Junction
) -> dict[int, int]:
    """Candidate host position -> edits summed over the reads whose host alignment covers the anchor
    (empty without such a read)."""
    lo, hi = junction.median - SHIFT, junction.median + SHIFT
    left = junction.side == "left"
    anchor = lo - REACH if left else hi + REACH  # 1-based host base every segment starts from
    span = abs(anchor - (hi if left else lo)) + 1 + REACH  # read bases compared
    if min(anchor, lo) < 1 or max(anchor, hi) > len(genome[junction.chrom]):
        return {}  # too near the contig's end to compare
    vector = _provirus_end(provirus, junction, span)
    host = str(genome[junction.chrom][min(anchor, lo) - 1 : max(anchor, hi)]).upper()
    # the host bases from the anchor to each candidate, then the provirus end (read leftwards at a right one)
    hosts = {j: host[: j - anchor + 1] if left else host[j - lo :][::-1] for j in range(lo, hi + 1)}
    hypotheses = {j: bases + vector for j, bases in hosts.items()}
    aligner = edit_aligner()
    totals = dict.fromkeys(hypotheses, 0)
    seen: set[str] = set()
    for rec in bam.fetch(junction.chrom, anchor - 1, anchor):
        name = str(rec.query_name)
        if name not in junction.reads or name in seen or rec.is_secondary or rec.query_sequence is None:
            continue
        query = next((q for q, r in rec.get_aligned_pairs(matches_only=True) if r == anchor - 1), None)
        if query is None:
            continue
        seq = rec.query_sequence
        segment = seq[query : query + span] if left else seq[max(0, query + 1 - span) : query + 1][::-1]
        if len(segment) < span - SHIFT:
            continue
        seen.add(name)
        for j, hypothesis in hypotheses.items():
            totals[j] -= int(aligner.score(hypothesis, segment))
    return totals if seen else {}


def best_position(edits: dict[int, int], median: int) -> int:
    """The candidate with the fewest edits; among equals the median, else the one nearest it."""
    fewest = min(edits.values())
    return min((j for j, n in edits.items() if n == fewest), key=lambda j: (abs(j - median), j))
