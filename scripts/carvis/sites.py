"""Integration sites from the evidence table: junctions, TSD pairing, discordant support, clonality."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyfaidx

from carvis.io import read_tsv, write_tsv
from carvis.tables import EVIDENCE, SITES
from carvis.vectors import VectorModel

#: Bases a discordant host mate may reach past its junction (microhomology: it aligns into the vector).
DISCORDANT_OVERHANG = 5

_ORIENTATION = {("left", "5p"): "+", ("right", "3p"): "+", ("left", "3p"): "-", ("right", "5p"): "-"}
_END = {(side, o): end for (side, end), o in _ORIENTATION.items()}


@dataclass
class Junction:
    """Host-vector junction: one side of a site."""

    chrom: str
    side: str  # left | right
    host_pos: int
    vector_end: str
    split: set[str] = field(default_factory=set)
    discordant: set[str] = field(default_factory=set)

    @property
    def orientation(self) -> str:
        return _ORIENTATION[(self.side, self.vector_end)]

    @property
    def fragments(self) -> set[str]:
        return self.split | self.discordant


@dataclass
class Site:
    """One integration site with its (seen or predicted) junctions."""

    chrom: str
    orientation: str
    position: int
    left: Junction
    right: Junction
    tsd_length: int | None
    precise: bool = True

    def junctions_seen(self) -> int:
        return sum(1 for j in (self.left, self.right) if j.fragments)

    def fragments(self) -> set[str]:
        return self.left.fragments | self.right.fragments


def load_evidence(path: str | Path, vector: str) -> list[dict[str, str]]:
    """Rows of one vector from an evidence table, checking its header."""
    rows = read_tsv(path, EVIDENCE, "give the file written by carvis.evidence.extract_evidence")
    return [r for r in rows if r["vector"] == vector]


def _usable(row: dict[str, str], min_mapq: int) -> bool:
    if row["duplicate"] == "yes" or row["flags"] != "NA":
        return False
    return row["kind"] == "spanning" or (row["host_mapq"] != "NA" and int(row["host_mapq"]) >= min_mapq)


def cluster_junctions(rows: list[dict[str, str]]) -> dict[tuple[str, str, int, str], Junction]:
    """Precise rows grouped by exact (chrom, side, host_pos, vector_end)."""
    out: dict[tuple[str, str, int, str], Junction] = {}
    for row in rows:
        if row["precise"] != "yes":
            continue
        key = (row["chrom"], row["side"], int(row["host_pos"]), row["vector_end"])
        out.setdefault(key, Junction(*key)).split.add(row["fragment"])
    return out


def pair_junctions(junctions: list[Junction], tsd_length: int) -> list[Site]:
    """Join left and right junctions of one orientation whose overlap is the TSD; keep the rest one-sided."""
    rights = {(j.chrom, j.orientation, j.host_pos): j for j in junctions if j.side == "right"}
    used: set[int] = set()
    sites = []
    for left in sorted((j for j in junctions if j.side == "left"), key=lambda j: -len(j.split)):
        right = rights.get((left.chrom, left.orientation, left.host_pos - tsd_length + 1))
        if right is not None and id(right) not in used:
            used.add(id(right))
            sites.append(Site(left.chrom, left.orientation, right.host_pos, left, right, tsd_length))
        else:
            a = left.host_pos - tsd_length + 1
            right = Junction(left.chrom, "right", a, _END[("right", left.orientation)])
            sites.append(Site(left.chrom, left.orientation, a, left, right, None))
    for right in rights.values():
        if id(right) not in used:
            a = right.host_pos
            left = Junction(right.chrom, "left", a + tsd_length - 1, _END[("left", right.orientation)])
            sites.append(Site(right.chrom, right.orientation, a, left, right, None))
    return sites


def _accepts(junction: Junction, row: dict[str, str], window: int) -> int | None:
    """Distance from a discordant host mate to the junction, or None when it cannot belong to it."""
    if (junction.chrom, junction.side, junction.vector_end) != (row["chrom"], row["side"], row["vector_end"]):
        return None
    inward = int(row["host_pos"]) - junction.host_pos
    if junction.side == "left":
        inward = -inward
    if -DISCORDANT_OVERHANG <= inward <= window:
        return abs(inward)
    return None


def attach_discordant(sites: list[Site], rows: list[dict[str, str]], window: int) -> list[dict[str, str]]:
    """Add discordant fragments to the nearest compatible junction; return the leftovers."""
    leftovers = []
    for row in rows:
        best: tuple[int, Junction] | None = None
        for site in sites:
            for junction in (site.left, site.right):
                dist = _accepts(junction, row, window)
                if dist is not None and (best is None or dist < best[0]):
                    best = (dist, junction)
        if best is None:
            leftovers.append(row)
        else:
            best[1].discordant.add(row["fragment"])
    return leftovers


def _discordant_clusters(rows: list[dict[str, str]], window: int, min_fragments: int) -> list[Junction]:
    """Leftover discordant fragments clustered by chrom, side and end (spanning <= window).

    Each cluster becomes an imprecise junction at its innermost host mate end.
    """
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        groups[(row["chrom"], row["side"], row["vector_end"])].append(row)
    out = []
    for (chrom, side, end), group in groups.items():
        group.sort(key=lambda r: int(r["host_pos"]))
        clusters: list[list[dict[str, str]]] = []
        for row in group:
            if clusters and int(row["host_pos"]) - int(clusters[-1][0]["host_pos"]) <= window:
                clusters[-1].append(row)
            else:
                clusters.append([row])
        for cluster in clusters:
            names = {r["fragment"] for r in cluster}
            if len(names) >= min_fragments:
                positions = [int(r["host_pos"]) for r in cluster]
                inner = max(positions) if side == "left" else min(positions)
                out.append(Junction(chrom, side, inner, end, discordant=names))
    return out


def imprecise_sites(
    rows: list[dict[str, str]], window: int, min_fragments: int, tsd_length: int
) -> list[Site]:
    """Sites from discordant clusters; a left and a right cluster of one orientation that face each other
    (within the window) are one site, positioned at the right cluster's innermost host mate end."""
    clusters = _discordant_clusters(rows, window, min_fragments)
    rights = [j for j in clusters if j.side == "right"]
    used: set[int] = set()
    sites = []
    for left in (j for j in clusters if j.side == "left"):
        mates = [
            r
            for r in rights
            if id(r) not in used
            and (r.chrom, r.orientation) == (left.chrom, left.orientation)
            and -(tsd_length + DISCORDANT_OVERHANG) <= r.host_pos - left.host_pos <= window
        ]
        right = min(mates, key=lambda r: r.host_pos - left.host_pos, default=None)
        if right is None:
            right = Junction(left.chrom, "right", left.host_pos, _END[("right", left.orientation)])
        else:
            used.add(id(right))
        sites.append(Site(left.chrom, left.orientation, right.host_pos, left, right, None, precise=False))
    for right in rights:
        if id(right) not in used:
            left = Junction(right.chrom, "left", right.host_pos, _END[("left", right.orientation)])
            sites.append(
                Site(right.chrom, right.orientation, right.host_pos, left, right, None, precise=False)
            )
    return sites


def clonal_fraction(allele_fraction: float | None, purity: float | None) -> float | None:
    """Fraction of (tumour) cells carrying a heterozygous insertion, capped at 1."""
    if allele_fraction is None:
        return None
    cells = 2 * allele_fraction
    if purity:
        cells /= purity
    return min(1.0, cells)


def _site_row(
    site: Site,
    model: VectorModel,
    genome: pyfaidx.Fasta,
    sample: str,
    spanning: dict[tuple[str, int], set[str]],
    purity: float | None,
) -> dict[str, object]:
    fragments = site.fragments()
    seen = site.junctions_seen()
    split = site.left.split | site.right.split
    paired = site.tsd_length is not None and site.left.split and site.right.split
    span = spanning.get((site.chrom, site.position), set()) - fragments
    allele_fraction = None
    if site.precise:
        per_junction = len(fragments) / seen
        allele_fraction = per_junction / (per_junction + len(span))
    tsd = None
    if paired:
        tsd = str(genome[site.chrom][site.right.host_pos - 1 : site.left.host_pos]).upper()
    return {
        "sample": sample,
        "vector": model.name,
        "chrom": site.chrom,
        "position": site.position,
        "orientation": site.orientation,
        "left_junction": site.left.host_pos if site.left.split else None,
        "right_junction": site.right.host_pos if site.right.split else None,
        "tsd_length": site.tsd_length if paired else None,
        "tsd": tsd,
        "fragments": len(fragments),
        "split_fragments": len(split),
        "discordant_fragments": len(fragments - split),
        "spanning_fragments": len(span) if site.precise else None,
        "allele_fraction": allele_fraction,
        "clonal_fraction": clonal_fraction(allele_fraction, purity),
        "precise": site.precise,
        "flags": None if paired or not site.precise else "one_sided",
    }


def call_sites(
    evidence_tsv: str | Path,
    model: VectorModel,
    genome_fasta: str | Path,
    sample: str,
    out_tsv: str | Path,
    *,
    purity: float | None = None,
    min_mapq: int = 20,
    min_fragments: int = 2,
    dominant_fraction: float = 0.2,
    discordant_window: int = 1000,
    qc_tsv: str | Path | None = None,
) -> list[dict[str, object]]:
    """Call one vector's integration sites in one sample; write them (SITES columns) and return the rows."""
    rows = load_evidence(evidence_tsv, model.name)
    usable = [r for r in rows if _usable(r, min_mapq)]
    junctions = list(cluster_junctions(usable).values())
    sites = pair_junctions(junctions, model.tsd_length)
    leftovers = attach_discordant(sites, [r for r in usable if r["kind"] == "discordant"], discordant_window)
    sites += imprecise_sites(leftovers, discordant_window, min_fragments, model.tsd_length)
    spanning: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in usable:
        if r["kind"] == "spanning":
            spanning[(r["chrom"], int(r["host_pos"]))].add(r["fragment"])
    with pyfaidx.Fasta(str(genome_fasta)) as genome:
        out = [_site_row(s, model, genome, sample, spanning, purity) for s in sites]
    kept = [r for r in out if int(str(r["fragments"])) >= min_fragments]
    total = sum(int(str(r["fragments"])) for r in kept)
    for r in kept:
        r["relative_abundance"] = int(str(r["fragments"])) / total
        r["dominant"] = r["relative_abundance"] >= dominant_fraction
    kept.sort(key=lambda r: (-int(str(r["fragments"])), str(r["chrom"]), int(str(r["position"]))))
    write_tsv(out_tsv, SITES, kept)
    if qc_tsv is not None:
        write_tsv(qc_tsv, ("metric", "count"), _qc(rows, len(out) - len(kept)))
    return kept


def _qc(rows: list[dict[str, str]], dropped: int) -> list[dict[str, object]]:
    """Evidence rows by kind and by flag, duplicates, and sites dropped for too few fragments."""
    counts: Counter[str] = Counter()
    for row in rows:
        counts[f"rows_{row['kind']}"] += 1
        if row["duplicate"] == "yes":
            counts["rows_duplicate"] += 1
        for flag in row["flags"].split(","):
            if flag != "NA":
                counts[f"rows_flag_{flag}"] += 1
    counts["sites_dropped_few_fragments"] = dropped
    return [{"metric": k, "count": v} for k, v in sorted(counts.items())]
