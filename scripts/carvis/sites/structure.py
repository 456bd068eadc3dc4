"""Long-read integration sites and provirus structure, from the long-read evidence and structure tables.

Junction rows (:mod:`carvis.evidence.long_reads`) are used as by the short-read caller: rows flagged
homologous (the homology mask), backbone or low_mapq are rejected; a site needs at least one row
anchored at a provirus terminus (``off_terminus`` rows, the host junction of a truncated provirus,
join a site but never make one). Orientation comes from the junction's side and provirus end (the
short-read rules). Each row estimates the site position (the first TSD base: a right junction itself, a
left junction minus TSD - 1); rows of one contig and orientation within :data:`WINDOW` bp form a site.

Junction positions are the consensus over reads (the median: single-read indels near a junction are
common in ONT reads), reported with their spread (largest minus smallest read value). When the two
consensus junctions give a TSD within :data:`TSD_SLACK` of the vector's and the reads disagree, the site
position is the median over both junctions' estimates and the junctions are placed one TSD apart.

The clonal fraction follows :mod:`carvis.sites.call` (same likelihood, interval and ``clonal`` rule) with
the reference allele modelled from the depth sample: reads start at rate depth / mean read length per
base; a read touches an insertion allele when it overlaps host + insert (mean read length + insert
length), and covers the reference allele's site when it overlaps the site.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyfaidx

from carvis.core.io import write_tsv
from carvis.core.tables import SITES
from carvis.reads.coverage import autosomal_depth, mean_read_length
from carvis.reference.vectors import VectorModel
from carvis.sites.clonality import AlleleCounts, allele_fraction, cell_fraction, is_clonal

#: Rows whose position estimates lie within this many bp are one site.
WINDOW = 50
#: A one-read site this close (bp) to a site of several reads, same orientation, is that site's read.
ABSORB = 200
#: Largest difference between the consensus TSD and the vector's that is read as junction noise.
TSD_SLACK = 2
#: Flags a usable row may carry (off_terminus: a truncated provirus end, never a site alone).
USABLE_FLAGS = {"NA", "", "off_terminus"}
ORIENTATION = {("left", "5p"): "+", ("right", "3p"): "+", ("left", "3p"): "-", ("right", "5p"): "-"}
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


def junctions(rows: Sequence[Mapping[str, str]], tsd: int) -> tuple[int, int | None, int | None, int]:
    """(position, left junction, right junction, TSD length) of one site's rows.

    With both junctions one TSD (+- TSD_SLACK) apart: a junction seen only at a truncated provirus end
    (no terminus to anchor its split point, which host-vector microhomology makes ambiguous) is placed one
    TSD from the anchored one; two anchored junctions whose reads disagree give the position as the
    median over both junctions' estimates.
    """
    left, right = _side_values(rows, "left"), _side_values(rows, "right")
    lc = consensus(left) if left else None
    rc = consensus(right) if right else None
    if lc is not None and rc is not None:
        observed = lc - rc + 1
        anchored = {
            side: any(r["side"] == side and "off_terminus" not in r["flags"] for r in rows)
            for side in ("left", "right")
        }
        if abs(observed - tsd) <= TSD_SLACK and anchored["left"] != anchored["right"]:
            position = rc if anchored["right"] else lc - tsd + 1
            return position, position + tsd - 1, position, tsd
        noisy = len(set(left)) > 1 or len(set(right)) > 1
        if noisy and abs(observed - tsd) <= TSD_SLACK:
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
    """Settings of the long-read caller (the ``sites`` config keys of the same name) and the sample's
    depth table (``coverage_tsv``; without it no clonal fraction) and purity."""

    coverage_tsv: str | Path | None = None
    purity: float | None = None
    min_mapq: int = 20
    min_fragments: int = 2
    clonal_min_fraction: float = 0.5


def call_long_read_sites(
    evidence: Sequence[Mapping[str, str]],
    structures: Sequence[Mapping[str, str]],
    model: VectorModel,
    genome_fasta: str | Path,
    sample: str,
    settings: LongReadSites = LongReadSites(),
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """SITES rows and SITE_STRUCTURE rows of one vector in one long-read sample."""
    coverage_tsv, purity, min_mapq = settings.coverage_tsv, settings.purity, settings.min_mapq
    min_fragments, clonal_min_fraction = settings.min_fragments, settings.clonal_min_fraction
    by_read = {r["read"]: r for r in structures}
    rate = length = None
    if coverage_tsv is not None:
        length = mean_read_length(coverage_tsv, set())
        rate = autosomal_depth(coverage_tsv, set()) / length
    genome = pyfaidx.Fasta(str(genome_fasta))
    sites: list[dict[str, object]] = []
    details: list[dict[str, object]] = []
    for rows in cluster_rows(usable(evidence, model.name, min_mapq), model.tsd_length):
        reads = sorted({r["fragment"] for r in rows})
        anchored = [r for r in rows if "off_terminus" not in r["flags"]]
        if len(reads) < min_fragments and len(reads) == 1 and not anchored:
            continue
        position, left, right, tsd = junctions(rows, model.tsd_length)
        chrom = rows[0]["chrom"]
        orientation = ORIENTATION[(anchored[0]["side"], anchored[0]["vector_end"])]
        structure, start, end, counts_text, insert = site_structure(
            [by_read[r] for r in reads if r in by_read]
        )
        start, end = _moved_truncation(rows, (left, right), orientation, (structure, start, end))
        q = low = high = span = None
        clonal = None
        if rate is not None and length is not None:
            touching = rate * (length + (insert or len(model.provirus)))
            q, low, high = allele_fraction([AlleleCounts(len(reads), 1, covering=touching)])
            span = round(max(0.0, rate * length * (1 - q)), 2)
            clonal = is_clonal(
                cell_fraction(q, purity) or 0.0, cell_fraction(high, purity) or 0.0, clonal_min_fraction
            )
        paired = left is not None and right is not None
        flags = [f for f, on in (("one_sided", not paired), ("spanning_modelled", rate is not None)) if on]
        key = {
            "sample": sample,
            "vector": model.name,
            "chrom": chrom,
            "position": position,
            "orientation": orientation,
            "left_junction": left,
            "right_junction": right,
        }
        sites.append(
            {
                **key,
                "tsd_length": tsd if paired else None,
                "tsd": str(genome[chrom][right - 1 : left]).upper() if paired and tsd > 0 else None,  # type: ignore[operator]
                "fragments": len(reads),
                "split_fragments": len(reads),
                "discordant_fragments": 0,
                "spanning_fragments": span,
                "allele_fraction": q,
                "clonal_fraction": cell_fraction(q, purity),
                "clonal_fraction_low": cell_fraction(low, purity),
                "clonal_fraction_high": cell_fraction(high, purity),
                "precise": "yes",
                "flags": ",".join(flags) or None,
                "clip_fragments": 0,
                "clonal": None if clonal is None else ("yes" if clonal else "no"),
                "host_mapq": round(statistics.median(int(r["host_mapq"]) for r in rows)),
                "support": "multiple" if len(reads) >= min_fragments else "single",
            }
        )
        left_values, right_values = _side_values(rows, "left"), _side_values(rows, "right")
        details.append(
            {
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
        )
    _relative(sites)
    order = sorted(
        range(len(sites)), key=lambda i: (-int(str(sites[i]["fragments"])), str(sites[i]["chrom"]))
    )
    return [sites[i] for i in order], [details[i] for i in order]


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


def _relative(sites: list[dict[str, object]], dominant_fraction: float = 0.2) -> None:
    total = sum(int(str(s["fragments"])) for s in sites)
    for s in sites:
        share = int(str(s["fragments"])) / total if total else 0.0
        s["relative_abundance"] = round(share, 4)
        s["dominant"] = "yes" if share >= dominant_fraction else "no"


def write_long_read_sites(
    sites: Sequence[Mapping[str, object]],
    details: Sequence[Mapping[str, object]],
    sites_tsv: str | Path,
    structure_tsv: str | Path,
) -> None:
    """The sites table (SITES columns) and the per-site structure table."""
    write_tsv(sites_tsv, SITES, sites)
    write_tsv(structure_tsv, SITE_STRUCTURE, details)
