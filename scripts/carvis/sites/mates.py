"""Low-MAPQ junction reads placed by their mate: a short host part that the aligner placed with a low
MAPQ is placed by its fragment's uniquely aligned other read (single-fragment sites only)."""

from __future__ import annotations

from collections import defaultdict

from carvis.core.tables import EvidenceRow
from carvis.reference.vectors import VectorModel
from carvis.sites.junctions import Junction, Site, accepts, cluster_junctions, pair_junctions

#: id of a precise evidence row -> host MAPQ of its fragment's mate that confirms its placement.
MateMapq = dict[int, int]


def placed_mapq(row: EvidenceRow, mates: MateMapq) -> int | None:
    """Host MAPQ of a row, or of its fragment's host mate when that confirms the placement (see
    :func:`confirm_by_mate`)."""
    mate = mates.get(id(row))
    return row.host_mapq if mate is None else max(row.host_mapq or 0, mate)


def confirm_by_mate(rows: list[EvidenceRow], window: int) -> MateMapq:
    """The MAPQ of the mate of each precise row whose fragment's other read is placed on the host, on
    the host side of its junction (a discordant row of the same fragment, side and vector end, at most
    ``window`` inward): a short host part that the aligner placed with a low MAPQ is then placed by its
    uniquely aligned mate (used only for single-fragment sites, see :func:`mate_placed_sites`)."""
    mates: dict[str, list[EvidenceRow]] = defaultdict(list)
    for row in rows:
        if row.kind == "discordant" and row.host_mapq is not None:
            mates[row.fragment].append(row)
    out: MateMapq = {}
    for row in rows:
        if not row.precise or row.kind == "host_clip" or row.fragment not in mates:
            continue
        junction = Junction(row.chrom, str(row.side), row.host_pos, str(row.vector_end))
        fits = [
            int(m.host_mapq or 0) for m in mates[row.fragment] if accepts(junction, m, window) is not None
        ]
        if fits:
            out[id(row)] = max(fits)
    return out


def mate_placed_sites(
    low: list[EvidenceRow],
    multi: list[Site],
    model: VectorModel,
    mates: MateMapq,
    min_mapq: int,
    min_fragments: int,
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
        if mates.get(id(r), -1) >= min_mapq and r.fragment not in kept and r.kind != "host_clip"
    ]
    junctions = list(cluster_junctions(placed).values())
    sites = [s for s in pair_junctions(junctions, model) if len(s.fragments()) == 1]
    taken = {f for s in sites for f in s.fragments()}
    return sites, [s for s in multi if len(s.fragments()) >= min_fragments or not s.fragments() & taken]


def move_mates(placed: list[Site], sites: list[Site], discordant: list[EvidenceRow], window: int) -> None:
    """Move the discordant row of each mate-placed site's fragment from the junction it was attached to
    (its own read had no site then) to that site."""
    own = {f: site for site in placed for f in site.fragments()}
    for row in discordant:
        site = own.get(row.fragment)
        if site is None:
            continue
        junction = next(j for j in (site.left, site.right) if j.split)
        if accepts(junction, row, window) is None:
            continue
        for other in (j for s in sites if s is not site for j in (s.left, s.right)):
            if row.fragment in other.discordant:
                other.discordant.discard(row.fragment)
                if row.host_mapq is not None and row.host_mapq in other.mapq:
                    other.mapq.remove(row.host_mapq)
        junction.add(row)
