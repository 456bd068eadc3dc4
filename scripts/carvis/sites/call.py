"""Integration sites from the evidence table: junctions, TSD pairing, discordant support, clonality.

Evidence rows are used or rejected for one reason each (see :data:`QC_METRICS`, the rows of the
``sites_qc`` table). Precise junctions whose host side has a low MAPQ are not dropped: they form
``multi_hit`` sites, one per group of junctions whose host flanks are identical (copies of a repeat
between which the aligner placed the reads at random), with every copy listed in ``candidate_loci``.
Reads that end inside the stretch both provirus ends share (transposon ITRs) take the orientation the
other evidence at their site gives (:func:`orient_shared_ends`). Sites of one placeable fragment are
reported as ``support`` single (:func:`single_fragment`; a low-MAPQ read placed by its mate,
:func:`mate_placed_sites`) and never used for clonality. A left-only and a right-only junction of one
orientation a host deletion apart are one insertion (:func:`pair_host_deletions`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyfaidx

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import EVIDENCE, SITES
from carvis.evidence.extract import outward_flank, spanning_window, tsd_partner
from carvis.reads.coverage import autosomal_depth, mean_read_length
from carvis.reference.vectors import VectorModel

#: Bases a discordant host mate may reach past its junction (microhomology: it aligns into the vector).
DISCORDANT_OVERHANG = 5
#: Junctions this close (bp) are equally likely sources of a discordant pair (see attach_discordant).
DISCORDANT_TIE = 50
#: Host bases next to a junction that must be identical for low-MAPQ junctions to be one multi-hit site.
MULTI_HIT_FLANK = 50
#: A site is clonal when the 95% interval of its cell fraction reaches 1 - this (and the estimate is
#: at least ``clonal_min_fraction``).
CLONAL_TOLERANCE = 0.1
#: A weak one-sided or multi-hit site this close (bp) to a paired site of the same orientation, with at
#: most SHADOW_RATIO of its fragments, is that site's reads misplaced inside a repeat (another tandem
#: unit, a nearby copy): its fragments are merged into the paired site.
SHADOW_WINDOW = 500
SHADOW_RATIO = 0.25
#: Most host bases the two junctions of one insertion may both keep (microhomology, or a short
#: duplication that is not the vector's TSD) when :func:`pair_host_deletions` joins them.
MAX_HOST_OVERLAP = 10
#: Allele fractions at which a site's log-likelihood is evaluated before refinement.
_GRID = np.linspace(0.0, 1.0, 2001)
#: Log-likelihood drop bounding a 95% likelihood-ratio interval (chi-square, 1 df, 0.95 quantile / 2).
LR_DROP = 1.9207
#: Pooled estimate over the sites flagged clonal in a sample (one clone): site columns.
CLONE_COLUMNS = ("clone_fraction", "clone_fraction_low", "clone_fraction_high")
#: Golden-section step.
GOLDEN = (math.sqrt(5) - 1) / 2
#: Rejection reasons in the order they are checked (a row is counted under the first that applies).
REASONS = ("duplicate", "backbone", "homologous", "off_terminus", "low_mapq", "unanchored")
#: Reasons that a precise row at the exact junction of an anchored site overrides (see :func:`rescue`).
WEAK = ("low_mapq", "unanchored")
#: The sites QC table: metric -> description (``<kind>`` and ``<reason>`` stand for each value).
QC_METRICS = {
    "rows_<kind>": "evidence rows of this vector by kind (split, clip, discordant, spanning)",
    "rejected_duplicate": "junction rows of PCR/optical duplicate fragments (markdup or LTR-canonical ends)",
    "rejected_backbone": "junction rows joining the plasmid backbone to the genome (plasmid contamination)",
    "rejected_homologous": "junction rows whose vector part is genome-homologous (cDNA, EF1a; the mask)",
    "rejected_off_terminus": "split rows whose vector part does not end at a provirus terminus (+- slop)",
    "rejected_low_mapq": "junction rows with host MAPQ < min_mapq that formed no multi-hit site",
    "rejected_unanchored": "host clips of vector-aligned reads at no junction of a site (evidence host_clip)",
    "rescued_rows": "precise rows with host MAPQ < min_mapq or only a host clip, at exactly a junction "
    "(seen or TSD-predicted) of a site anchored by well-placed fragments",
    "multi_hit_rows": "junction rows with host MAPQ < min_mapq (or host clips) reported in multi_hit sites",
    "rejected_vector_internal": "reads joining two vector parts: 2-LTR circles, U5-PBS, PPT-U3 (evidence QC)",
    "rejected_clip_off_terminus": "long soft clips of genome reads matching no terminus (evidence QC)",
    "rejected_clip_ambiguous": "soft clips matching two termini equally well (evidence QC)",
    "sites_absorbed_shadow": "weak one-sided or multi-hit sites merged into a nearby stronger paired site",
    "sites_dropped_few_fragments": "sites with fewer than min_fragments unique junction fragments "
    "that are not placeable single-fragment sites",
    "sites_single_fragment": "reported sites with one fragment (support single; not used for clonality)",
    "sites_orientation_unknown": "reported sites whose junction reads lie inside the stretch both provirus "
    "ends share, with no longer read or discordant mate to orient them",
    "mate_placed_rows": "junction rows with host MAPQ < min_mapq reported as single-fragment sites "
    "because their fragment's other read is placed on the host beside the junction",
    "sites_called": "sites reported",
    "sites_multi_hit": "reported sites flagged multi_hit",
    "sites_one_sided": "reported precise sites with one junction seen",
    "sites_imprecise": "reported sites from discordant pairs only",
    "sites_clonal": "reported sites flagged clonal",
}
#: Evidence QC metrics carried into the sites QC table (they count the rows of every vector in the sample).
_EVIDENCE_QC = {
    "vector_internal_chimeras": "rejected_vector_internal",
    "clip_no_terminus": "rejected_clip_off_terminus",
    "clip_ambiguous": "rejected_clip_ambiguous",
}

_ORIENTATION = {("left", "5p"): "+", ("right", "3p"): "+", ("left", "3p"): "-", ("right", "5p"): "-"}
_END = {(side, o): end for (side, end), o in _ORIENTATION.items()}


@dataclass
class Junction:
    """Host-vector junction: one side of a site."""

    chrom: str
    side: str  # left | right
    host_pos: int
    vector_end: str
    split: set[str] = field(default_factory=set)  # fragments with a split or clip read at the junction
    discordant: set[str] = field(default_factory=set)
    aligned: set[str] = field(default_factory=set)  # of ``split``: fragments with an aligner split read
    mapq: list[int] = field(default_factory=list)  # host MAPQ of every row
    rows: list[dict[str, str]] = field(default_factory=list)  # the precise rows

    @property
    def orientation(self) -> str:
        return _ORIENTATION[(self.side, self.vector_end)]

    @property
    def fragments(self) -> set[str]:
        return self.split | self.discordant

    def add(self, row: dict[str, str]) -> None:
        (self.split if row["precise"] == "yes" else self.discordant).add(row["fragment"])
        if row["precise"] == "yes":
            self.rows.append(row)
        if row["kind"] == "split":
            self.aligned.add(row["fragment"])
        if row["host_mapq"] != "NA":
            self.mapq.append(int(row["host_mapq"]))

    def outward_flank(self, genome: pyfaidx.Fasta) -> str:
        """MULTI_HIT_FLANK host bases read away from the vector (the same for every copy of a repeat)."""
        return outward_flank(genome, self.chrom, self.side, self.host_pos, MULTI_HIT_FLANK)


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
    multi_hit: bool = False  # host side placed with low MAPQ
    orientation_known: bool = True  # False: every junction read lies inside the ends' shared stretch
    host_deletion: int | None = None  # junctions paired across a host deletion (bp; < 0: overlap)
    copies: list[Site] = field(default_factory=list)  # other loci of a multi-hit site

    @property
    def paired(self) -> bool:
        """Both junctions joined: by the TSD or across a host deletion."""
        return self.tsd_length is not None or self.host_deletion is not None

    def junctions_seen(self) -> int:
        return sum(1 for j in (self.left, self.right) if j.fragments)

    def junctions(self) -> list[Junction]:
        return [j for s in (self, *self.copies) for j in (s.left, s.right)]

    def fragments(self) -> set[str]:
        return set().union(*(j.fragments for j in self.junctions()))

    def signatures(self, genome: pyfaidx.Fasta) -> set[tuple[str, str]]:
        """(vector end, outward host flank) of each seen junction."""
        return {(j.vector_end, j.outward_flank(genome)) for j in (self.left, self.right) if j.fragments}


def load_evidence(path: str | Path, vector: str) -> list[dict[str, str]]:
    """Rows of one vector from an evidence table, checking its header."""
    rows = read_tsv(path, EVIDENCE, "give the file written by carvis.evidence.extract.extract_evidence")
    return [r for r in rows if r["vector"] == vector]


def placed_mapq(row: dict[str, str]) -> int | None:
    """Host MAPQ of a row, or of its fragment's host mate when that confirms the placement (see
    :func:`confirm_by_mate`)."""
    own = None if row["host_mapq"] == "NA" else int(row["host_mapq"])
    mate = row.get("mate_mapq")
    return own if mate is None else max(own or 0, int(mate))


def confirm_by_mate(rows: list[dict[str, str]], window: int) -> None:
    """Give each precise row whose fragment's other read is placed on the host, on the host side of
    its junction (a discordant row of the same fragment, side and vector end, at most ``window``
    inward), that mate's MAPQ as ``mate_mapq``: a short host part that the aligner placed with a low
    MAPQ is then placed by its uniquely aligned mate (used only for single-fragment sites, see
    :func:`mate_placed_sites`)."""
    mates: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if row["kind"] == "discordant" and row["host_mapq"] != "NA":
            mates[row["fragment"]].append(row)
    for row in rows:
        if row["precise"] != "yes" or row["kind"] == "host_clip" or row["fragment"] not in mates:
            continue
        junction = Junction(row["chrom"], row["side"], int(row["host_pos"]), row["vector_end"])
        fits = [
            int(m["host_mapq"]) for m in mates[row["fragment"]] if _accepts(junction, m, window) is not None
        ]
        if fits:
            row["mate_mapq"] = str(max(fits))


def mate_placed_sites(
    low: list[dict[str, str]], multi: list[Site], tsd_length: int, min_mapq: int, min_fragments: int
) -> tuple[list[Site], list[Site]]:
    """Sites of one fragment from low-MAPQ rows that their mate places (``mate_mapq`` >= ``min_mapq``),
    and the multi-hit sites without the too-small ones those fragments formed.

    Only single-fragment sites are made this way: a site of several such fragments lies in a repeat
    whose reference fragments are not placed either, so it stays a multi-hit site.
    """
    kept = {f for s in multi if len(s.fragments()) >= min_fragments for f in s.fragments()}
    placed = [
        r
        for r in low
        if int(r.get("mate_mapq", -1)) >= min_mapq and r["fragment"] not in kept and r["kind"] != "host_clip"
    ]
    junctions = list(cluster_junctions(placed).values())
    sites = [s for s in pair_junctions(junctions, tsd_length) if len(s.fragments()) == 1]
    taken = {f for s in sites for f in s.fragments()}
    return sites, [s for s in multi if len(s.fragments()) >= min_fragments or not s.fragments() & taken]


def move_mates(placed: list[Site], sites: list[Site], discordant: list[dict[str, str]], window: int) -> None:
    """Move the discordant row of each mate-placed site's fragment from the junction it was attached to
    (its own read had no site then) to that site."""
    own = {f: site for site in placed for f in site.fragments()}
    for row in discordant:
        site = own.get(row["fragment"])
        if site is None:
            continue
        junction = next(j for j in (site.left, site.right) if j.split)
        if _accepts(junction, row, window) is None:
            continue
        for other in (j for s in sites if s is not site for j in (s.left, s.right)):
            if row["fragment"] in other.discordant:
                other.discordant.discard(row["fragment"])
                if row["host_mapq"] != "NA" and int(row["host_mapq"]) in other.mapq:
                    other.mapq.remove(int(row["host_mapq"]))
        junction.add(row)


def rejection(row: dict[str, str], min_mapq: int) -> str | None:
    """The first reason (:data:`REASONS`, then any other flag) not to use a row, or None."""
    flags = set() if row["flags"] == "NA" else set(row["flags"].split(","))
    if row["duplicate"] == "yes":
        flags.add("duplicate")
    flags.discard("low_mapq")  # judged with this stage's min_mapq
    if row["kind"] == "host_clip":
        flags.add("unanchored")  # no host placement of its own: used only by :func:`rescue`
    elif row["kind"] != "spanning" and (row["host_mapq"] == "NA" or int(row["host_mapq"]) < min_mapq):
        flags.add("low_mapq")
    return next((r for r in REASONS if r in flags), min(flags, default=None))


def _site_start(row: dict[str, str], tsd_length: int) -> int:
    """First TSD base of the site a precise row's junction belongs to (whatever its orientation)."""
    x = int(row["host_pos"])
    return tsd_partner("left", x, tsd_length)[1] if row["side"] == "left" else x


def _reach(row: dict[str, str]) -> int | None:
    return None if row.get("vector_bases", "NA") == "NA" else int(row["vector_bases"])


def orient_shared_ends(
    rows: list[dict[str, str]],
    reasons: list[str | None],
    model: VectorModel,
    window: int,
) -> set[tuple[str, int]]:
    """Give each precise row whose vector part lies inside the stretch both provirus ends share
    (:meth:`VectorModel.shared_end`: it cannot tell which end it is) the vector end of the orientation
    that the usable rows with a longer vector part (or a discordant mate beyond it) support at its site;
    return the (chrom, site start) where nothing decides (the rows are set to orientation +).

    Rows are changed in place; a tie between the orientations decides nothing.
    """
    shared = model.shared_end()
    ambiguous = [
        r
        for r in rows
        if r["precise"] == "yes"
        and r["vector_end"] in {"5p", "3p"}
        and (reach := _reach(r)) is not None
        and reach <= shared
    ]
    if not ambiguous:
        return set()
    tsd = model.tsd_length
    keys = {(r["chrom"], _site_start(r, tsd)) for r in ambiguous}
    votes: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    taken = {id(r) for r in ambiguous}
    for row, why in zip(rows, reasons, strict=True):
        if why is not None or id(row) in taken or row["kind"] == "spanning":
            continue
        orientation = _ORIENTATION[(row["side"], row["vector_end"])]
        if row["precise"] == "yes":
            votes[(row["chrom"], _site_start(row, tsd))][orientation] += 1
            continue
        for chrom, a in keys:
            x = a if row["side"] == "right" else a + tsd - 1
            junction = Junction(chrom, row["side"], x, row["vector_end"])
            if chrom == row["chrom"] and _accepts(junction, row, window) is not None:
                votes[(chrom, a)][orientation] += 1
    unknown = set()
    for row in ambiguous:
        key = (row["chrom"], _site_start(row, tsd))
        ranked = votes[key].most_common()
        if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            orientation = ranked[0][0]
        else:
            orientation = "+"
            unknown.add(key)
        row["vector_end"] = _END[(row["side"], orientation)]
    return unknown


def cluster_junctions(rows: list[dict[str, str]]) -> dict[tuple[str, str, int, str], Junction]:
    """Precise rows grouped by exact (chrom, side, host_pos, vector_end); host clips form none."""
    out: dict[tuple[str, str, int, str], Junction] = {}
    for row in rows:
        if row["precise"] != "yes" or row["kind"] == "host_clip":
            continue
        key = (row["chrom"], row["side"], int(row["host_pos"]), row["vector_end"])
        out.setdefault(key, Junction(*key)).add(row)
    return out


def pair_junctions(junctions: list[Junction], tsd_length: int) -> list[Site]:
    """Join left and right junctions of one orientation whose overlap is the TSD; keep the rest one-sided."""
    rights = {(j.chrom, j.orientation, j.host_pos): j for j in junctions if j.side == "right"}
    used: set[int] = set()
    sites = []
    for left in sorted((j for j in junctions if j.side == "left"), key=lambda j: -len(j.split)):
        _, a = tsd_partner("left", left.host_pos, tsd_length)
        right = rights.get((left.chrom, left.orientation, a))
        if right is not None and id(right) not in used:
            used.add(id(right))
            sites.append(Site(left.chrom, left.orientation, right.host_pos, left, right, tsd_length))
        else:
            right = Junction(left.chrom, "right", a, _END[("right", left.orientation)])
            sites.append(Site(left.chrom, left.orientation, a, left, right, None))
    for right in rights.values():
        if id(right) not in used:
            _, x = tsd_partner("right", right.host_pos, tsd_length)
            left = Junction(right.chrom, "left", x, _END[("left", right.orientation)])
            sites.append(Site(right.chrom, right.orientation, right.host_pos, left, right, None))
    return sites


def _one_sided(site: Site, side: str) -> bool:
    """A uniquely placed precise site with only its ``side`` junction seen."""
    seen = site.left if side == "left" else site.right
    other = site.right if side == "left" else site.left
    return (
        site.precise
        and not site.multi_hit
        and not site.copies
        and not site.paired
        and bool(seen.split)
        and not other.split
    )


def pair_host_deletions(sites: list[Site], max_deletion: int) -> list[Site]:
    """Join a left-only and a right-only site of one orientation whose junctions the host coordinates
    put at most ``max_deletion`` bases apart (a host deletion or gap: right junction - left junction -
    1, down to -MAX_HOST_OVERLAP for host bases kept on both sides) into one site with
    ``host_deletion``; the closest pairs first. Run after TSD pairing, which keeps priority."""
    lefts = [s for s in sites if _one_sided(s, "left")]
    rights = [s for s in sites if _one_sided(s, "right")]
    candidates = sorted(
        (
            (abs(gap), gap, i, j)
            for i, left in enumerate(lefts)
            for j, right in enumerate(rights)
            if (left.chrom, left.orientation) == (right.chrom, right.orientation)
            and -MAX_HOST_OVERLAP <= (gap := right.right.host_pos - left.left.host_pos - 1) <= max_deletion
        ),
    )
    used_left: set[int] = set()
    used_right: set[int] = set()
    joined = []
    for _, gap, i, j in candidates:
        if i in used_left or j in used_right:
            continue
        used_left.add(i)
        used_right.add(j)
        left, right = lefts[i].left, rights[j].right
        joined.append(
            Site(left.chrom, lefts[i].orientation, right.host_pos, left, right, None, host_deletion=gap)
        )
    gone = {id(lefts[i]) for i in used_left} | {id(rights[j]) for j in used_right}
    return [s for s in sites if id(s) not in gone] + joined


def rescue(sites: list[Site], rows: list[dict[str, str]], tsd_length: int) -> list[dict[str, str]]:
    """Add weak precise rows (see WEAK) that lie exactly at a junction of a precise site, seen or predicted
    by its TSD, with the same vector end; return the others.

    The site's placement comes from its anchoring fragments; a weak row adds a fragment whose junction
    is base-identical (a host clip's bases matched the host there). A one-sided site whose predicted
    junction is filled this way becomes paired.
    """
    index: dict[tuple[str, str, int, str], tuple[Site, Junction]] = {}
    for site in sites:
        for member in (site, *site.copies):
            for junction in (member.left, member.right):
                if member.precise:
                    key = (junction.chrom, junction.side, junction.host_pos, junction.vector_end)
                    index.setdefault(key, (member, junction))
    leftovers = []
    for row in rows:
        hit = index.get((row["chrom"], row["side"], int(row["host_pos"]), row["vector_end"]))
        if hit is None:
            leftovers.append(row)
            continue
        site, junction = hit
        junction.add(row)
        if site.tsd_length is None and site.left.split and site.right.split:
            site.tsd_length = tsd_length
    return leftovers


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
    """Add discordant fragments to a compatible junction; return the leftovers.

    A discordant host mate ends anywhere within a fragment length of its junction, so it cannot tell
    junctions DISCORDANT_TIE bp apart (a site and its shadows in a tandem repeat): among the compatible
    junctions within that distance of the nearest, the one of the site with most split fragments wins.
    """
    strength = {id(s): len(set().union(*(j.split for j in (s.left, s.right)))) for s in sites}
    leftovers = []
    for row in rows:
        compatible = [
            (dist, site, junction)
            for site in sites
            for junction in (site.left, site.right)
            if (dist := _accepts(junction, row, window)) is not None
        ]
        if not compatible:
            leftovers.append(row)
            continue
        nearest = min(d for d, _, _ in compatible)
        close = [(d, s, j) for d, s, j in compatible if d <= nearest + DISCORDANT_TIE]
        _, _, junction = min(close, key=lambda x: (-strength[id(x[1])], x[0]))
        junction.add(row)
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
            if len({r["fragment"] for r in cluster}) >= min_fragments:
                positions = [int(r["host_pos"]) for r in cluster]
                inner = max(positions) if side == "left" else min(positions)
                junction = Junction(chrom, side, inner, end)
                for row in cluster:
                    junction.add(row)
                out.append(junction)
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


def multi_hit_sites(
    rows: list[dict[str, str]], unique: list[Site], tsd_length: int, genome: pyfaidx.Fasta
) -> list[Site]:
    """Sites from precise low-MAPQ rows, one per group of sites sharing a junction's host flank.

    Junctions at a uniquely placed junction's position, or whose flank matches a unique site's (the
    unique reads resolved that integration), are left out. The copy with most fragments represents
    the group; the others are its ``copies``.
    """
    taken = {(j.chrom, j.side, j.host_pos, j.vector_end) for s in unique for j in (s.left, s.right)}
    junctions = [j for key, j in cluster_junctions(rows).items() if key not in taken]
    if not junctions:
        return []
    resolved = set().union(*(s.signatures(genome) for s in unique if s.precise))
    groups: list[tuple[set[tuple[str, str]], list[Site]]] = []
    for site in pair_junctions(junctions, tsd_length):
        signatures = site.signatures(genome)
        if signatures & resolved:
            continue
        joined = [g for g in groups if g[0] & signatures]
        merged = (signatures.union(*(g[0] for g in joined)), [site, *(x for g in joined for x in g[1])])
        groups = [g for g in groups if not g[0] & signatures] + [merged]
    out = []
    for _, members in groups:
        members.sort(key=lambda x: (-len(x.fragments()), x.chrom, x.position))
        members[0].copies = members[1:]
        members[0].multi_hit = True
        out.append(members[0])
    return out


def absorb_shadows(sites: list[Site]) -> list[Site]:
    """Merge weak imprecise, one-sided or multi-hit sites into a nearby stronger paired site.

    See SHADOW_WINDOW. An imprecise shadow is a few discordant pairs whose host mate aligned a few
    vector bases past the junction (mismatches instead of a clip), beyond its DISCORDANT_OVERHANG.
    """
    paired = [s for s in sites if s.precise and not s.multi_hit and s.paired]
    kept = []
    for site in sites:
        weak = not site.copies and (not site.precise or site.multi_hit or not site.paired)
        strong = [
            p
            for p in paired
            if weak
            and (p.chrom, p.orientation) == (site.chrom, site.orientation)
            and abs(p.position - site.position) <= SHADOW_WINDOW
            and len(site.fragments()) <= SHADOW_RATIO * len(p.fragments())
        ]
        if not strong:
            kept.append(site)
            continue
        host = max(strong, key=lambda p: len(p.fragments()))
        for mine, theirs in ((host.left, site.left), (host.right, site.right)):
            mine.split |= theirs.split
            mine.aligned |= theirs.aligned
            mine.discordant |= theirs.discordant
    return kept


@dataclass(frozen=True)
class AlleleCounts:
    """Fragments of one site, for its allele fraction q (the share of alleles carrying the insertion).

    Each of the ``junctions`` seen junctions gets fragments at the rate n q, the reference allele at
    n (1 - q): with counted ``spanning`` fragments, the ``junction`` fragments are binomial given the
    total, with p = k q / (k q + 1 - q); with modelled ones (screened reads) ``covering`` = T, the
    fragments of both alleles expected to cover the window, and the junction fragments are Poisson(k T q).
    """

    junction: int
    junctions: int
    spanning: int | None = None
    covering: float | None = None

    def loglik(self, q: np.ndarray) -> np.ndarray:
        k = self.junctions
        if self.covering is None:
            p = k * q / (k * q + 1 - q)
            both: np.ndarray = _xlogy(self.junction, p) + _xlogy(self.spanning or 0, 1 - p)
            return both
        mean = k * self.covering * q
        modelled: np.ndarray = _xlogy(self.junction, mean) - mean
        return modelled


def _xlogy(x: float, y: np.ndarray) -> np.ndarray:
    """x log y, 0 where x is 0 (and -inf where only y is)."""
    if x == 0:
        return np.zeros_like(y)
    with np.errstate(divide="ignore"):
        product: np.ndarray = x * np.log(y)
    return product


def allele_fraction(counts: list[AlleleCounts]) -> tuple[float, float, float]:
    """Maximum-likelihood allele fraction shared by the sites of ``counts``, and its 95% interval.

    The interval holds every q whose log-likelihood is within chi2(1, 0.95) / 2 of the maximum
    (likelihood ratio); it is found on a grid and refined by bisection, as is the maximum.
    """

    def ll(q: float) -> float:
        return float(sum(c.loglik(np.array([q]))[0] for c in counts))

    values = np.asarray(sum(c.loglik(_GRID) for c in counts))
    best = int(np.argmax(values))
    lo, hi = _GRID[max(best - 1, 0)], _GRID[min(best + 1, len(_GRID) - 1)]
    for _ in range(40):  # golden-section search on the bracket around the grid maximum
        a, b = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
        lo, hi = (lo, b) if ll(a) >= ll(b) else (a, hi)
    q = float((lo + hi) / 2)
    floor = max(ll(q), float(values[best])) - LR_DROP
    inside = np.flatnonzero(values >= floor)
    low = _bisect(ll, floor, float(_GRID[inside[0] - 1]), float(_GRID[inside[0]])) if inside[0] else 0.0
    last = len(_GRID) - 1
    high = (
        _bisect(ll, floor, float(_GRID[inside[-1] + 1]), float(_GRID[inside[-1]]))
        if inside[-1] < last
        else 1.0
    )
    return q, min(low, q), max(high, q)


def _bisect(ll: Callable[[float], float], floor: float, outside: float, inside: float) -> float:
    """The q between ``outside`` (ll below floor) and ``inside`` (above) where ll crosses the floor."""
    for _ in range(40):
        mid = (outside + inside) / 2
        outside, inside = (outside, mid) if ll(mid) >= floor else (mid, inside)
    return inside


def cell_fraction(allele_fraction: float | None, purity: float | None) -> float | None:
    """Fraction of (tumour) cells carrying a heterozygous insertion, capped at 1."""
    if allele_fraction is None:
        return None
    cells = 2 * allele_fraction
    if purity:
        cells /= purity
    return min(1.0, cells)


def is_clonal(fraction: float, high: float, min_fraction: float) -> bool:
    """Is the cell fraction at least ``min_fraction`` and consistent with every (tumour) cell?

    Consistent: the upper end of its 95% interval reaches 1 - CLONAL_TOLERANCE.
    """
    return fraction >= min_fraction and high >= 1 - CLONAL_TOLERANCE


def _loci(site: Site) -> str | None:
    if not site.copies:
        return None
    return ",".join(f"{s.chrom}:{s.position}{s.orientation}" for s in (site, *site.copies))


def covering_fragments(coverage_tsv: str | Path, evidence_qc: dict[str, int], window: int) -> float:
    """Fragments of both alleles expected to cover ``window`` bases at one point (T).

    Fragment starts per base (autosomal depth / (2 x read length); / read length for single-end reads,
    whose fragment is the read) times the starts that cover the window (fragment length - window + 1).
    """
    depth = autosomal_depth(coverage_tsv, set())
    read_length = mean_read_length(coverage_tsv, set())
    fragment = evidence_qc.get("mean_fragment_length", 0)
    starts = depth / (2 * read_length) if fragment else depth / read_length
    return starts * max(0.0, (fragment or read_length) - window + 1)


def site_counts(
    site: Site, spanning: dict[tuple[str, int], set[str]], covering: float | None
) -> AlleleCounts | None:
    """Allele counts of a precise, uniquely placed site (``covering``: modelled spanners), else None."""
    if not site.precise or site.multi_hit or (covering is not None and covering <= 0):
        return None
    fragments = site.fragments()
    if covering is not None:
        return AlleleCounts(len(fragments), site.junctions_seen(), covering=covering)
    span = len(spanning.get((site.chrom, site.position), set()) - fragments)
    return AlleleCounts(len(fragments), site.junctions_seen(), spanning=span)


def _site_row(
    site: Site,
    model: VectorModel,
    genome: pyfaidx.Fasta,
    counts: AlleleCounts | None,
    purity: float | None,
    clonal_min_fraction: float,
) -> dict[str, object]:
    """Row of one site; modelled spanning fragments (``counts.covering`` = T) are T - junction fragments
    per junction."""
    fragments = site.fragments()
    junctions = site.junctions()
    split = set().union(*(j.split for j in junctions))
    clip_only = split - set().union(*(j.aligned for j in junctions))
    paired = site.paired and site.left.split and site.right.split
    q = low = high = clonal = None
    span: float | None = None
    if counts is not None:
        span = counts.spanning
        if counts.covering is not None:
            span = round(max(0.0, counts.covering - counts.junction / counts.junctions), 2)
        q, low, high = allele_fraction([counts])
        clonal = is_clonal(
            cell_fraction(q, purity) or 0.0, cell_fraction(high, purity) or 0.0, clonal_min_fraction
        )
    tsd = None
    if paired and site.tsd_length is not None:
        tsd = str(genome[site.chrom][site.right.host_pos - 1 : site.left.host_pos]).upper()
    return {
        "vector": model.name,
        "chrom": site.chrom,
        "position": site.position,
        "orientation": site.orientation if site.orientation_known else ".",
        "left_junction": site.left.host_pos if site.left.split else None,
        "right_junction": site.right.host_pos if site.right.split else None,
        "tsd_length": site.tsd_length if paired else None,
        "host_deletion": site.host_deletion if paired else None,
        "tsd": tsd,
        "fragments": len(fragments),
        "split_fragments": len(split),
        "discordant_fragments": len(fragments - split),
        "spanning_fragments": span,
        "allele_fraction": q,
        "clonal_fraction": cell_fraction(q, purity),
        "clonal_fraction_low": cell_fraction(low, purity),
        "clonal_fraction_high": cell_fraction(high, purity),
        "precise": site.precise,
        "clip_fragments": len(clip_only),
        "clonal": clonal,
        "host_mapq": round(statistics.median(m for j in junctions for m in j.mapq)),
        "candidate_loci": _loci(site),
    }


def single_fragment(site: Site, min_mapq: int, min_host_bases: int, max_offset: int = 0) -> bool:
    """Is a site of one fragment placeable: a precise, uniquely placed site whose junction reads all end
    at most ``max_offset`` bases from a provirus terminus and have at least ``min_host_bases`` host
    bases placed with host MAPQ (or their mate's, :func:`placed_mapq`) at least ``min_mapq``, with no
    flag (homologous, backbone) and no duplicate?"""
    if not site.precise or site.multi_hit or site.copies or len(site.fragments()) != 1:
        return False
    rows = [r for j in (site.left, site.right) for r in j.rows]
    return bool(rows) and all(
        r["kind"] in {"split", "clip", "mate_clip"}
        and r["anchor_offset"] != "NA"
        and int(r["anchor_offset"]) <= max_offset
        and (mapq := placed_mapq(r)) is not None
        and mapq >= min_mapq
        and r["host_bases"] != "NA"
        # a mate_clip's host bases are matched beside its placed mate, not placed genome-wide
        and (r["kind"] == "mate_clip" or int(r["host_bases"]) >= min_host_bases)
        and r["flags"] in {"NA", "low_mapq"}  # low_mapq: judged on placed_mapq above
        and r["duplicate"] == "no"
        for r in rows
    )


def _site_flags(site: Site, paired: bool, modelled: bool) -> str | None:
    flags = []
    if not site.orientation_known:
        flags.append("orientation_unknown")
    if site.precise and not paired:
        flags.append("one_sided")
    if site.multi_hit:
        flags.append("multi_hit")
    if modelled:
        flags.append("spanning_modelled")
    return ",".join(flags) or None


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
    clonal_min_fraction: float = 0.5,
    discordant_window: int = 1000,
    max_host_deletion: int = 100,
    single_min_mapq: int = 20,
    single_min_host_bases: int = 20,
    single_max_offset: int = 2,
    qc_tsv: str | Path | None = None,
    evidence_qc_tsv: str | Path | None = None,
    coverage_tsv: str | Path | None = None,
    spanning_tsv: str | Path | None = None,
) -> list[dict[str, object]]:
    """Call one vector's integration sites in one sample; write them (SITES columns) and return the rows.

    ``evidence_qc_tsv`` (the evidence stage's QC table) adds the rejections made there to ``qc_tsv``.
    ``coverage_tsv`` (screened reads, aligned without their reference fragments): the spanning fragments of
    each site are modelled from the autosomal depth in it, the read length and the mean fragment length in
    the evidence QC table (:func:`covering_fragments`, window as for counted ones), and the site is flagged
    ``spanning_modelled``. The allele fraction is then junction fragments per junction / T.
    ``spanning_tsv``: spanning rows counted apart (:mod:`carvis.sites.site_reads`), added to the evidence.
    A site with fewer than ``min_fragments`` fragments is reported with ``support`` = single when
    :func:`single_fragment` holds (``single_min_mapq``, ``single_min_host_bases``,
    ``single_max_offset``); it gets no allele
    or clonal fraction, relative abundance or dominance. Reads that cannot tell the provirus ends apart
    are oriented by :func:`orient_shared_ends`; a site that nothing orients has orientation ``.``.
    A left-only and a right-only junction at most ``max_host_deletion`` host bases apart are one
    insertion (:func:`pair_host_deletions`, after the TSD pairing).
    Each precise, uniquely placed site gets the maximum-likelihood allele fraction of its counts
    (:class:`AlleleCounts`) with a 95% interval, scaled to cells; the sites flagged clonal are taken as
    one clone and share the pooled estimate over their counts (``clone_fraction``, with its interval).
    """
    evidence_qc = {} if evidence_qc_tsv is None else _evidence_qc(evidence_qc_tsv)
    window = spanning_window(1, model.tsd_length)
    covering = None
    if coverage_tsv is not None:
        covering = covering_fragments(coverage_tsv, evidence_qc, window[1] - window[0] + 1)
    rows = load_evidence(evidence_tsv, model.name)
    if spanning_tsv is not None:
        rows += load_evidence(spanning_tsv, model.name)
    confirm_by_mate(rows, discordant_window)
    reasons = [rejection(r, min_mapq) for r in rows]
    unoriented = orient_shared_ends(rows, reasons, model, discordant_window)
    usable = [r for r, why in zip(rows, reasons, strict=True) if why is None]
    weak = [r for r, why in zip(rows, reasons, strict=True) if why in WEAK and r["precise"] == "yes"]
    junctions = list(cluster_junctions(usable).values())
    sites = pair_junctions(junctions, model.tsd_length)
    unrescued = rescue(sites, weak, model.tsd_length)
    sites = pair_host_deletions(sites, max_host_deletion)
    rescued = {id(r) for r in weak} - {id(r) for r in unrescued}
    low = [r for r, why in zip(rows, reasons, strict=True) if why == "low_mapq" and id(r) not in rescued]
    discordant = [r for r in usable if r["kind"] == "discordant"]
    leftovers = attach_discordant(sites, discordant, discordant_window)
    sites += imprecise_sites(leftovers, discordant_window, min_fragments, model.tsd_length)
    spanning: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in usable:
        if r["kind"] == "spanning":
            spanning[(r["chrom"], int(r["host_pos"]))].add(r["fragment"])
    with pyfaidx.Fasta(str(genome_fasta)) as genome:
        multi = multi_hit_sites(low, sites, model.tsd_length, genome)
        rescue(multi, [r for r in unrescued if r["kind"] == "host_clip"], model.tsd_length)
        placed, multi = mate_placed_sites(low, multi, model.tsd_length, min_mapq, min_fragments)
        sites += multi + placed
        move_mates(placed, sites, discordant, discordant_window)
        found = len(sites)
        sites = absorb_shadows(sites)
        out = []
        single = [
            len(site.fragments()) < min_fragments
            and single_fragment(
                site, max(min_mapq, single_min_mapq), single_min_host_bases, single_max_offset
            )
            for site in sites
        ]
        counts = [
            None if one else site_counts(site, spanning, covering)
            for site, one in zip(sites, single, strict=True)
        ]
        for site, site_count, one in zip(sites, counts, single, strict=True):
            site.orientation_known = (site.chrom, site.position) not in unoriented
            row = {
                "sample": sample,
                **_site_row(site, model, genome, site_count, purity, clonal_min_fraction),
                "support": "single" if one else "multiple",
            }
            modelled = covering is not None and row["spanning_fragments"] is not None
            paired = row["tsd_length"] is not None or row["host_deletion"] is not None
            row["flags"] = _site_flags(site, paired, modelled)
            out.append(row)
    kept = [r for r in out if int(str(r["fragments"])) >= min_fragments or r["support"] == "single"]
    total = sum(int(str(r["fragments"])) for r in kept if r["support"] == "multiple")
    for kept_row in kept:
        abundance = int(str(kept_row["fragments"])) / total if kept_row["support"] == "multiple" else None
        kept_row["relative_abundance"] = abundance
        kept_row["dominant"] = None if abundance is None else abundance >= dominant_fraction
    reported = {id(r) for r in kept}
    clone = [c for r, c in zip(out, counts, strict=True) if r["clonal"] and c and id(r) in reported]
    if clone:
        pooled = {
            name: cell_fraction(x, purity)
            for name, x in zip(CLONE_COLUMNS, allele_fraction(clone), strict=True)
        }
        for kept_row in kept:
            if kept_row["clonal"]:
                kept_row.update(pooled)
    kept.sort(key=lambda r: (-int(str(r["fragments"])), str(r["chrom"]), int(str(r["position"]))))
    write_tsv(out_tsv, SITES, kept)
    if qc_tsv is not None:
        multi_reported = [
            s for s, r in zip(sites, out, strict=True) if s.multi_hit and any(r is k for k in kept)
        ]
        multi_hit = {f for s in multi_reported for f in s.fragments()}
        shown = {id(s) for s, r in zip(sites, out, strict=True) if r["support"] == "single"}
        mate_placed = {id(r) for s in placed if id(s) in shown for j in (s.left, s.right) for r in j.rows}
        taken = {i: "mate_placed_rows" for i in mate_placed} | {i: "rescued_rows" for i in rescued}
        qc = _qc(rows, reasons, multi_hit, taken, len(out) - len(kept), kept)
        qc["sites_absorbed_shadow"] = found - len(sites)
        if evidence_qc_tsv is not None:
            qc.update({ours: evidence_qc.get(theirs, 0) for theirs, ours in _EVIDENCE_QC.items()})
        write_tsv(qc_tsv, ("metric", "count", "description"), _qc_rows(qc))
    return kept


def _evidence_qc(path: str | Path) -> dict[str, int]:
    rows = read_tsv(path, ("metric", "count"), "give the evidence stage's QC table")
    return {r["metric"]: int(r["count"]) for r in rows}


def _qc(
    rows: list[dict[str, str]],
    reasons: list[str | None],
    multi_hit: set[str],
    taken: Mapping[int, str],
    dropped: int,
    kept: list[dict[str, object]],
) -> Counter[str]:
    """Counts of the :data:`QC_METRICS` (``taken``: row id to the metric of rows that joined a site
    late: ``rescued_rows`` by :func:`rescue`, ``mate_placed_rows`` in reported
    :func:`mate_placed_sites`)."""
    counts: Counter[str] = Counter(
        {m: 0 for m in QC_METRICS if "<" not in m and m not in _EVIDENCE_QC.values()}
    )
    for row, why in zip(rows, reasons, strict=True):
        counts[f"rows_{row['kind']}"] += 1
        if id(row) in taken:
            counts[taken[id(row)]] += 1
        elif why in WEAK and row["fragment"] in multi_hit:
            counts["multi_hit_rows"] += 1
        elif why is not None and row["kind"] != "spanning":
            counts[f"rejected_{why}"] += 1
    flags = [str(r["flags"] or "") for r in kept]
    counts["sites_dropped_few_fragments"] = dropped
    counts["sites_called"] = len(kept)
    counts["sites_multi_hit"] = sum("multi_hit" in f for f in flags)
    counts["sites_one_sided"] = sum("one_sided" in f for f in flags)
    counts["sites_imprecise"] = sum(not r["precise"] for r in kept)
    counts["sites_clonal"] = sum(bool(r["clonal"]) for r in kept)
    counts["sites_single_fragment"] = sum(r["support"] == "single" for r in kept)
    counts["sites_orientation_unknown"] = sum(r["orientation"] == "." for r in kept)
    return counts


def _qc_rows(counts: Counter[str]) -> list[dict[str, object]]:
    def describe(metric: str) -> str:
        if metric.startswith("rows_"):
            return QC_METRICS["rows_<kind>"]
        return QC_METRICS.get(metric, "junction rows rejected for this evidence flag")

    return [{"metric": m, "count": counts[m], "description": describe(m)} for m in sorted(counts)]
