"""Junctions and sites built from evidence rows: TSD pairing, host deletions, rescue, discordant support,
multi-hit groups, mate-placed single fragments and shadows (the geometry of :mod:`carvis.sites.call`).

Evidence rows are :class:`carvis.core.tables.EvidenceRow`; the TSD arithmetic is the vector model's
(:meth:`~carvis.reference.vectors.VectorModel.tsd_partner`,
:meth:`~carvis.reference.vectors.VectorModel.site_start`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pyfaidx

from carvis.core.tables import EvidenceRow
from carvis.evidence.clips import outward_flank
from carvis.reference.vectors import VectorModel

#: Bases a discordant host mate may reach past its junction (microhomology: it aligns into the vector).
DISCORDANT_OVERHANG = 5
#: Junctions this close (bp) are equally likely sources of a discordant pair (see attach_discordant).
DISCORDANT_TIE = 50
#: Host bases next to a junction that must be identical for low-MAPQ junctions to be one multi-hit site.
MULTI_HIT_FLANK = 50
#: A weak one-sided or multi-hit site this close (bp) to a paired site of the same orientation, with at
#: most SHADOW_RATIO of its fragments, is that site's reads misplaced inside a repeat (another tandem
#: unit, a nearby copy): its fragments are merged into the paired site.
SHADOW_WINDOW = 500
SHADOW_RATIO = 0.25
#: Most host bases the two junctions of one insertion may both keep (microhomology, or a short
#: duplication that is not the vector's TSD) when :func:`pair_host_deletions` joins them.
MAX_HOST_OVERLAP = 10

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
    rows: list[EvidenceRow] = field(default_factory=list)  # the precise rows

    @property
    def orientation(self) -> str:
        return _ORIENTATION[(self.side, self.vector_end)]

    @property
    def fragments(self) -> set[str]:
        return self.split | self.discordant

    def add(self, row: EvidenceRow) -> None:
        (self.split if row.precise else self.discordant).add(row.fragment)
        if row.precise:
            self.rows.append(row)
        if row.kind == "split":
            self.aligned.add(row.fragment)
        if row.host_mapq is not None:
            self.mapq.append(row.host_mapq)

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


def _site_start(row: EvidenceRow, model: VectorModel) -> int:
    """First TSD base of the site a precise row's junction belongs to (whatever its orientation)."""
    return model.site_start(str(row.side), row.host_pos)


def orient_shared_ends(
    rows: list[EvidenceRow],
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
        if r.precise
        and r.vector_end in {"5p", "3p"}
        and r.vector_bases is not None
        and r.vector_bases <= shared
    ]
    if not ambiguous:
        return set()
    keys = {(r.chrom, _site_start(r, model)) for r in ambiguous}
    votes: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    taken = {id(r) for r in ambiguous}
    for row, why in zip(rows, reasons, strict=True):
        if why is not None or id(row) in taken or row.kind == "spanning":
            continue
        side, end = str(row.side), str(row.vector_end)
        orientation = _ORIENTATION[(side, end)]
        if row.precise:
            votes[(row.chrom, _site_start(row, model))][orientation] += 1
            continue
        for chrom, a in keys:
            x = a if side == "right" else model.tsd_partner("right", a)[1]
            junction = Junction(chrom, side, x, end)
            if chrom == row.chrom and accepts(junction, row, window) is not None:
                votes[(chrom, a)][orientation] += 1
    unknown = set()
    for row in ambiguous:
        key = (row.chrom, _site_start(row, model))
        ranked = votes[key].most_common()
        if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            orientation = ranked[0][0]
        else:
            orientation = "+"
            unknown.add(key)
        row.vector_end = _END[(str(row.side), orientation)]
    return unknown


def cluster_junctions(rows: list[EvidenceRow]) -> dict[tuple[str, str, int, str], Junction]:
    """Precise rows grouped by exact (chrom, side, host_pos, vector_end); host clips form none."""
    out: dict[tuple[str, str, int, str], Junction] = {}
    for row in rows:
        if not row.precise or row.kind == "host_clip":
            continue
        key = (row.chrom, str(row.side), row.host_pos, str(row.vector_end))
        out.setdefault(key, Junction(*key)).add(row)
    return out


def pair_junctions(junctions: list[Junction], model: VectorModel) -> list[Site]:
    """Join left and right junctions of one orientation whose overlap is the TSD; keep the rest one-sided."""
    tsd_length = model.tsd_length
    rights = {(j.chrom, j.orientation, j.host_pos): j for j in junctions if j.side == "right"}
    used: set[int] = set()
    sites = []
    for left in sorted((j for j in junctions if j.side == "left"), key=lambda j: -len(j.split)):
        _, a = model.tsd_partner("left", left.host_pos)
        right = rights.get((left.chrom, left.orientation, a))
        if right is not None and id(right) not in used:
            used.add(id(right))
            sites.append(Site(left.chrom, left.orientation, right.host_pos, left, right, tsd_length))
        else:
            right = Junction(left.chrom, "right", a, _END[("right", left.orientation)])
            sites.append(Site(left.chrom, left.orientation, a, left, right, None))
    for right in rights.values():
        if id(right) not in used:
            _, x = model.tsd_partner("right", right.host_pos)
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


def rescue(sites: list[Site], rows: list[EvidenceRow], tsd_length: int) -> list[EvidenceRow]:
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
        hit = index.get((row.chrom, str(row.side), row.host_pos, str(row.vector_end)))
        if hit is None:
            leftovers.append(row)
            continue
        site, junction = hit
        junction.add(row)
        if site.tsd_length is None and site.left.split and site.right.split:
            site.tsd_length = tsd_length
    return leftovers


def accepts(junction: Junction, row: EvidenceRow, window: int) -> int | None:
    """Distance from a discordant host mate to the junction, or None when it cannot belong to it."""
    if (junction.chrom, junction.side, junction.vector_end) != (row.chrom, row.side, row.vector_end):
        return None
    inward = row.host_pos - junction.host_pos
    if junction.side == "left":
        inward = -inward
    if -DISCORDANT_OVERHANG <= inward <= window:
        return abs(inward)
    return None


def attach_discordant(sites: list[Site], rows: list[EvidenceRow], window: int) -> list[EvidenceRow]:
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
            if (dist := accepts(junction, row, window)) is not None
        ]
        if not compatible:
            leftovers.append(row)
            continue
        nearest = min(d for d, _, _ in compatible)
        close = [(d, s, j) for d, s, j in compatible if d <= nearest + DISCORDANT_TIE]
        _, _, junction = min(close, key=lambda x: (-strength[id(x[1])], x[0]))
        junction.add(row)
    return leftovers


def _discordant_clusters(rows: list[EvidenceRow], window: int, min_fragments: int) -> list[Junction]:
    """Leftover discordant fragments clustered by chrom, side and end (spanning <= window).

    Each cluster becomes an imprecise junction at its innermost host mate end.
    """
    groups: dict[tuple[str, str, str], list[EvidenceRow]] = defaultdict(list)
    for row in rows:
        groups[(row.chrom, str(row.side), str(row.vector_end))].append(row)
    out = []
    for (chrom, side, end), group in groups.items():
        group.sort(key=lambda r: r.host_pos)
        clusters: list[list[EvidenceRow]] = []
        for row in group:
            if clusters and row.host_pos - clusters[-1][0].host_pos <= window:
                clusters[-1].append(row)
            else:
                clusters.append([row])
        for cluster in clusters:
            if len({r.fragment for r in cluster}) >= min_fragments:
                positions = [r.host_pos for r in cluster]
                inner = max(positions) if side == "left" else min(positions)
                junction = Junction(chrom, side, inner, end)
                for row in cluster:
                    junction.add(row)
                out.append(junction)
    return out


def imprecise_sites(rows: list[EvidenceRow], window: int, min_fragments: int, tsd_length: int) -> list[Site]:
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
    rows: list[EvidenceRow], unique: list[Site], model: VectorModel, genome: pyfaidx.Fasta
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
    for site in pair_junctions(junctions, model):
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
