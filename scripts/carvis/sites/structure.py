"""Long-read integration sites and provirus structure, from the long-read evidence and structure tables.

Junction rows (:mod:`carvis.evidence.long_reads`) are used as by the short-read caller: rows flagged
homologous (the homology mask), backbone or low_mapq are rejected; a site needs at least one row
anchored at a provirus terminus (``off_terminus`` rows, the host junction of a truncated provirus,
join a site but never make one). Orientation comes from the junction's side and provirus end (the
short-read rules). Each row estimates the site position (the first TSD base: a right junction itself, a
left junction minus TSD - 1); rows of one contig and orientation within :data:`WINDOW` bp form a site.

Junction positions are the consensus over reads, reported with the spread of the reads' own junctions
(largest minus smallest): with the junction reads' BAM, a side anchored at a terminus is realigned from
the reads' bases (:mod:`carvis.sites.realign`: fewest edits over the reads; single-read indels near a
junction are common), else the median. Both junctions within :data:`TSD_SLACK` of one TSD apart are
placed one TSD apart (see :func:`junctions`).

The clonal fraction follows :mod:`carvis.sites.call` (same likelihood, interval and ``clonal`` rule). The
reference allele is counted: reads of the spanning BAM aligned across the site with SPAN_FLANK host bases
on each side (:func:`carvis.evidence.spanning.spanning_reads`), the site's junction reads left out; they
are binomial against the junction reads with k = :func:`reach_ratio` (a read reaches an insertion allele
over mean read length + insert length starts, spans the reference window over mean read length - window).
Without a spanning BAM, or where it lacks the site's contig, the reference allele is modelled from the
depth sample (flag ``spanning_modelled``): reads start at rate depth / mean read length per base; one
touches an insertion allele when it overlaps host + insert, the reference allele when it overlaps the site.
"""

from __future__ import annotations

import contextlib
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyfaidx
import pysam

from carvis.core.io import write_tsv
from carvis.core.tables import SITES, SiteRow
from carvis.evidence.extract import check_index
from carvis.evidence.spanning import contig_in, spanning_reads
from carvis.reads.coverage import autosomal_depth, mean_read_length
from carvis.reference.vectors import VectorModel
from carvis.sites.clonality import AlleleCounts, allele_fraction, cell_fraction, is_clonal
from carvis.sites.realign import Junction, best_position, edits_by_position

#: Rows whose position estimates lie within this many bp are one site.
WINDOW = 50
#: A one-read site this close (bp) to a site of several reads, same orientation, is that site's read.
ABSORB = 200
#: Largest difference between the consensus TSD and the vector's that is read as junction noise.
TSD_SLACK = 2
#: Flags a usable row may carry (off_terminus: a truncated provirus end, never a site alone).
USABLE_FLAGS = {"NA", "", "off_terminus"}
ORIENTATION = {("left", "5p"): "+", ("right", "3p"): "+", ("left", "3p"): "-", ("right", "5p"): "-"}
#: Host bases a reference-allele read must align on each side of a site (TSD between) to span it: far
#: more than a junction read's host alignment runs past its junction (ANCHOR_SLOP, a few bases of
#: microhomology), so a read split at the junction never counts, and little against a 10-20 kb read
#: (it loses 2 x 100 of its starts); a 5%-error read is aligned through 100 bases without a clip.
SPAN_FLANK = 100
#: Columns of the per-site structure table (``calls/<sample>.structure.tsv``).
SITE_STRUCTURE = (
    "sample",
    "vector",
    "chrom",
    "position",
    "orientation",
    "left_junction",
    "right_junction",
    "left_spread",  # largest minus smallest left junction over the reads (bp)
    "right_spread",
    "left_reads",
    "right_reads",
    "reads",  # reads with a junction at the site
    "reads_both",  # reads crossing both junctions (their structures are counted)
    "structure",  # consensus: the most common class among reads_both (NA without such reads)
    "structure_start",  # median over those reads (deletion: first lost base; truncated_5p: first kept)
    "structure_end",
    "structure_counts",  # class:reads, comma-separated
    "insert_length",  # median provirus bases of reads_both (NA without them)
)


def _position(row: Mapping[str, str], tsd: int) -> int:
    pos = int(row["host_pos"])
    return pos if row["side"] == "right" else pos - tsd + 1


def usable(rows: Sequence[Mapping[str, str]], vector: str, min_mapq: int) -> list[Mapping[str, str]]:
    """Junction rows of one vector that may place a site."""
    out = []
    for row in rows:
        flags = set(row["flags"].split(",")) if row["flags"] not in {"NA", ""} else set()
        if row["vector"] != vector or row["kind"] != "split" or not flags <= USABLE_FLAGS:
            continue
        if int(row["host_mapq"]) < min_mapq:
            continue
        out.append(row)
    return out


def cluster_rows(rows: Sequence[Mapping[str, str]], tsd: int) -> list[list[Mapping[str, str]]]:
    """Rows grouped into sites (contig, orientation, position estimates within WINDOW), each with an
    anchored row; one-read groups near a group of several reads are merged into it."""
    groups: dict[tuple[str, str], list[Mapping[str, str]]] = defaultdict(list)
    for row in rows:
        groups[(row["chrom"], ORIENTATION[(row["side"], row["vector_end"])])].append(row)
    clusters: list[list[Mapping[str, str]]] = []
    for members in groups.values():
        members.sort(key=lambda r: _position(r, tsd))
        local = [[members[0]]]
        for row in members[1:]:
            if _position(row, tsd) - _position(local[-1][-1], tsd) <= WINDOW:
                local[-1].append(row)
            else:
                local.append([row])
        big = [c for c in local if len({r["fragment"] for r in c}) > 1]
        for c in local:
            if c in big or not big:
                continue
            centre = statistics.median(_position(r, tsd) for r in c)
            near = min(big, key=lambda b: abs(statistics.median(_position(r, tsd) for r in b) - centre))
            if abs(statistics.median(_position(r, tsd) for r in near) - centre) <= ABSORB:
                near.extend(c)
                c.clear()
        clusters += [c for c in local if c and any("off_terminus" not in r["flags"] for r in c)]
    return clusters


def consensus(values: Sequence[int]) -> int:
    """The median (lower middle value for an even count)."""
    return int(statistics.median_low(values))


def _side_values(rows: Sequence[Mapping[str, str]], side: str) -> list[int]:
    """Host positions of one side's rows; anchored rows only when there are any."""
    mine = [r for r in rows if r["side"] == side]
    anchored = [r for r in mine if "off_terminus" not in r["flags"]]
    return [int(r["host_pos"]) for r in (anchored or mine)]


def junctions(
    rows: Sequence[Mapping[str, str]], tsd: int, edits: Mapping[str, dict[int, int]] | None = None
) -> tuple[int, int | None, int | None, int]:
    """(position, left junction, right junction, TSD length) of one site's rows.

    A side with ``edits`` (:func:`carvis.sites.realign.edits_by_position`) is placed where they are
    fewest, else at the median of its reads. With both junctions one TSD (+- TSD_SLACK) apart: both with
    edits give the position whose pair one TSD apart has the fewest edits in all; a junction seen only at
    a truncated provirus end (no terminus to anchor its split point, which host-vector microhomology makes
    ambiguous) is placed one TSD from the anchored one; two anchored junctions whose reads disagree (no
    edits) give the position as the median over both junctions' estimates.
    """
    edits = edits or {}
    left, right = _side_values(rows, "left"), _side_values(rows, "right")
    lc = consensus(left) if left else None
    rc = consensus(right) if right else None
    if lc is not None and "left" in edits:
        lc = best_position(edits["left"], lc)
    if rc is not None and "right" in edits:
        rc = best_position(edits["right"], rc)
    if lc is not None and rc is not None:
        observed = lc - rc + 1
        anchored = {
            side: any(r["side"] == side and "off_terminus" not in r["flags"] for r in rows)
            for side in ("left", "right")
        }
        near = abs(observed - tsd) <= TSD_SLACK
        if near and anchored["left"] != anchored["right"]:
            position = rc if anchored["right"] else lc - tsd + 1
            return position, position + tsd - 1, position, tsd
        by_left, by_right = edits.get("left", {}), edits.get("right", {})
        pairs = {p: n + by_left[p + tsd - 1] for p, n in by_right.items() if p + tsd - 1 in by_left}
        if near and pairs:
            position = best_position(pairs, rc)
            return position, position + tsd - 1, position, tsd
        noisy = len(set(left)) > 1 or len(set(right)) > 1
        if noisy and near and not edits:
            position = consensus([_position(r, tsd) for r in rows if "off_terminus" not in r["flags"]])
            return position, position + tsd - 1, position, tsd
        return rc, lc, rc, observed
    if rc is not None:
        return rc, None, rc, tsd
    assert lc is not None
    return lc - tsd + 1, lc, None, tsd


def site_structure(
    reads: Sequence[Mapping[str, str]],
) -> tuple[str | None, int | None, int | None, str | None, int | None]:
    """Consensus class, its coordinates, the class counts and the median insert length of the reads
    crossing both junctions of one site."""
    both = [r for r in reads if r["structure"] not in {"partial", "vector_only", "two_ltr_circle"}]
    if not both:
        return None, None, None, None, None
    counts = Counter(r["structure"] for r in both)
    best = counts.most_common(1)[0][0]
    mine = [r for r in both if r["structure"] == best]
    coords = []
    for column in ("structure_start", "structure_end"):
        values = [int(r[column]) for r in mine if r[column] not in {"NA", ""}]
        coords.append(consensus(values) if values else None)
    lengths = [
        sum(int(b) - int(a) + 1 for a, b in (p.split("-") for p in r["vector_parts"].split(",")))
        for r in both
    ]
    text = ",".join(f"{k}:{n}" for k, n in sorted(counts.items()))
    return best, coords[0], coords[1], text, consensus(lengths)


@dataclass(frozen=True)
class LongReadSites:
    """Settings of the long-read caller (the ``sites`` config keys of the same name), the sample's depth
    table (``coverage_tsv``; without it no clonal fraction), purity, and the BAM/CRAM whose reads are
    counted across each site (``spanning_bam``: the second pass's, the user's or the fully aligned BAM;
    without it, or where it lacks the site's contig, the reference allele is modelled) and the sample's
    BAM (``reads_bam``; without it each junction is the median of its reads')."""

    coverage_tsv: str | Path | None = None
    purity: float | None = None
    min_mapq: int = 20
    min_fragments: int = 2
    clonal_min_fraction: float = 0.5
    spanning_bam: str | Path | None = None
    reads_bam: str | Path | None = None  # the junction reads' BAM: junctions realigned (carvis.sites.realign)


def reach_ratio(read_length: float, insert: int, window: int) -> float:
    """``junctions`` (k) of :class:`AlleleCounts` for long reads: read starts that put a read on an
    insertion allele's junctions (mean read length + insert length) over those whose read spans the
    reference allele's ``window`` (mean read length - window + 1)."""
    return (read_length + insert) / max(1.0, read_length - window + 1)


@dataclass(frozen=True)
class _Depth:
    """What the clonal fraction of one sample's sites needs: read starts per base and mean read length
    (the depth table), and the open spanning BAM."""

    rate: float
    length: float
    bam: pysam.AlignmentFile | None


@dataclass(frozen=True)
class _Run:
    """One sample's call: its name, settings, depth, open genome and junction reads' BAM."""

    sample: str
    settings: LongReadSites
    depth: _Depth | None
    genome: pyfaidx.Fasta
    reads: pysam.AlignmentFile | None


def _counts(
    depth: _Depth, site: tuple[str, int, int], reads: Sequence[str], insert: int, min_mapq: int
) -> AlleleCounts:
    """The allele counts of one site (``site``: chrom, position, TSD length): its spanning reads counted
    in the BAM or, without it or its contig, modelled (``covering``)."""
    chrom, position, tsd = site
    window = (position - SPAN_FLANK, position + tsd - 1 + SPAN_FLANK)
    if depth.bam is not None and contig_in(depth.bam, chrom) in depth.bam.references:
        spanning = set(spanning_reads(depth.bam, chrom, window, min_mapq)) - set(reads)
        k = reach_ratio(depth.length, insert, window[1] - window[0] + 1)
        return AlleleCounts(len(reads), k, spanning=len(spanning))
    return AlleleCounts(len(reads), 1, covering=depth.rate * (depth.length + insert))


def call_long_read_sites(
    evidence: Sequence[Mapping[str, str]],
    structures: Sequence[Mapping[str, str]],
    model: VectorModel,
    genome_fasta: str | Path,
    sample: str,
    settings: LongReadSites = LongReadSites(),
) -> tuple[list[SiteRow], list[dict[str, object]]]:
    """SITES rows and SITE_STRUCTURE rows of one vector in one long-read sample."""
    with contextlib.ExitStack() as stack:
        bams: dict[str | Path | None, pysam.AlignmentFile] = {}
        for path in (settings.spanning_bam, settings.reads_bam):
            if path is not None:
                bams[path] = stack.enter_context(
                    pysam.AlignmentFile(str(path), reference_filename=str(genome_fasta))
                )
                check_index(bams[path], path)
        depth = None
        if settings.coverage_tsv is not None:
            length = mean_read_length(settings.coverage_tsv, set())
            rate = autosomal_depth(settings.coverage_tsv, set()) / length
            depth = _Depth(rate, length, bams.get(settings.spanning_bam))
        genome = stack.enter_context(pyfaidx.Fasta(str(genome_fasta)))
        run = _Run(sample, settings, depth, genome, bams.get(settings.reads_bam))
        by_read = {r["read"]: r for r in structures}
        pairs = [
            _site(rows, by_read, model, run)
            for rows in cluster_rows(usable(evidence, model.name, settings.min_mapq), model.tsd_length)
        ]
    kept = [p for p in pairs if p is not None]
    _relative([site for site, _ in kept])
    kept.sort(key=lambda p: (-p[0].fragments, p[0].chrom))
    return [site for site, _ in kept], [detail for _, detail in kept]


def _edits(rows: Sequence[Mapping[str, str]], model: VectorModel, run: _Run) -> dict[str, dict[int, int]]:
    """Side -> edits by candidate junction (:func:`carvis.sites.realign.edits_by_position`) of the sides
    with reads anchored at a provirus terminus, when the junction reads' BAM is given."""
    out: dict[str, dict[int, int]] = {}
    if run.reads is None:
        return out
    for side in ("left", "right"):
        mine = [r for r in rows if r["side"] == side and "off_terminus" not in r["flags"]]
        if mine:
            junction = Junction(
                mine[0]["chrom"], side, mine[0]["vector_end"], consensus(_side_values(rows, side)),
                {r["fragment"] for r in mine},
            )  # fmt: skip
            edits = edits_by_position(run.reads, run.genome, model.provirus, junction)
            if edits:
                out[side] = edits
    return out


def _site(
    rows: Sequence[Mapping[str, str]],
    by_read: Mapping[str, Mapping[str, str]],
    model: VectorModel,
    run: _Run,
) -> tuple[SiteRow, dict[str, object]] | None:
    """The site row and structure row of one cluster of junction rows, or None (one unanchored read)."""
    sample, depth, settings, genome = run.sample, run.depth, run.settings, run.genome
    reads = sorted({r["fragment"] for r in rows})
    anchored = [r for r in rows if "off_terminus" not in r["flags"]]
    if len(reads) < settings.min_fragments and len(reads) == 1 and not anchored:
        return None
    position, left, right, tsd = junctions(rows, model.tsd_length, _edits(rows, model, run))
    chrom = rows[0]["chrom"]
    orientation = ORIENTATION[(anchored[0]["side"], anchored[0]["vector_end"])]
    structure, start, end, counts_text, insert = site_structure([by_read[r] for r in reads if r in by_read])
    start, end = _moved_truncation(rows, (left, right), orientation, (structure, start, end))
    paired = left is not None and right is not None
    q = low = high = clonal = None
    span: float | None = None
    modelled = False
    if depth is not None:
        counts = _counts(
            depth, (chrom, position, tsd if paired else model.tsd_length), reads,
            insert or len(model.provirus), settings.min_mapq,
        )  # fmt: skip
        q, low, high = allele_fraction([counts])
        span = counts.spanning
        if counts.covering is not None:  # the reference allele's reads expected over the site
            modelled, span = True, round(max(0.0, depth.rate * depth.length * (1 - q)), 2)
        purity = settings.purity
        clonal = is_clonal(
            cell_fraction(q, purity) or 0.0, cell_fraction(high, purity) or 0.0, settings.clonal_min_fraction
        )
    flags = [f for f, on in (("one_sided", not paired), ("spanning_modelled", modelled)) if on]
    key: dict[str, object] = {
        "sample": sample,
        "vector": model.name,
        "chrom": chrom,
        "position": position,
        "orientation": orientation,
        "left_junction": left,
        "right_junction": right,
    }
    site = SiteRow(
        sample=sample,
        vector=model.name,
        chrom=chrom,
        position=position,
        orientation=orientation,
        left_junction=left,
        right_junction=right,
        tsd_length=tsd if paired else None,
        tsd=str(genome[chrom][right - 1 : left]).upper() if paired and tsd > 0 else None,  # type: ignore[operator]
        fragments=len(reads),
        split_fragments=len(reads),
        spanning_fragments=span,
        allele_fraction=q,
        clonal_fraction=cell_fraction(q, settings.purity),
        clonal_fraction_low=cell_fraction(low, settings.purity),
        clonal_fraction_high=cell_fraction(high, settings.purity),
        flags=",".join(flags) or None,
        clonal=clonal,
        host_mapq=round(statistics.median(int(r["host_mapq"]) for r in rows)),
        support="multiple" if len(reads) >= settings.min_fragments else "single",
    )
    left_values, right_values = _side_values(rows, "left"), _side_values(rows, "right")
    detail = {
        **key,
        "left_spread": max(left_values) - min(left_values) if left_values else None,
        "right_spread": max(right_values) - min(right_values) if right_values else None,
        "left_reads": len(left_values),
        "right_reads": len(right_values),
        "reads": len(reads),
        "reads_both": sum(int(n) for n in (counts_text or "").replace(",", ":").split(":")[1::2]),
        "structure": structure,
        "structure_start": start,
        "structure_end": end,
        "structure_counts": counts_text,
        "insert_length": insert,
    }
    return site, detail


def _moved_truncation(
    rows: Sequence[Mapping[str, str]],
    placed: tuple[int | None, int | None],
    orientation: str,
    structure: tuple[str | None, int | None, int | None],
) -> tuple[int | None, int | None]:
    """A truncation point moved with the junction :func:`junctions` placed one TSD from the anchored one:
    the host bases it gained at the truncated end are provirus bases the reads' alignments had claimed."""
    kind, start, end = structure
    gained = {}
    for i, side in enumerate(("left", "right")):
        values, where = _side_values(rows, side), placed[i]
        if values and where is not None:
            observed = consensus(values)
            gained[side] = where - observed if side == "left" else observed - where
    five, three = ("left", "right") if orientation == "+" else ("right", "left")
    if kind == "truncated_5p" and start is not None:
        start += gained.get(five, 0)
    if kind == "truncated_3p" and end is not None:
        end -= gained.get(three, 0)
    return start, end


def _relative(sites: Sequence[SiteRow], dominant_fraction: float = 0.2) -> None:
    total = sum(s.fragments for s in sites)
    for s in sites:
        share = s.fragments / total if total else 0.0
        s.relative_abundance = round(share, 4)
        s.dominant = share >= dominant_fraction


def write_long_read_sites(
    sites: Sequence[SiteRow],
    details: Sequence[Mapping[str, object]],
    sites_tsv: str | Path,
    structure_tsv: str | Path,
) -> None:
    """The sites table (SITES columns) and the per-site structure table."""
    write_tsv(sites_tsv, SITES, (s.cells() for s in sites))
    write_tsv(structure_tsv, SITE_STRUCTURE, details)
