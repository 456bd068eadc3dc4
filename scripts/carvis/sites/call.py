"""Integration sites from the evidence table: junctions, TSD pairing, discordant support, clonality.

:func:`call_sites` runs five named steps on one vector's evidence rows
(:class:`~carvis.core.tables.EvidenceRow`) with one parameters object (:class:`SitesParams`):
:func:`load_step` (the rows, spanning rows counted apart, modelled reference fragments),
:func:`judge_step` (each row used or rejected for one reason, see :data:`QC_METRICS`, the rows of the
``sites_qc`` table), :func:`place_step` (the sites, built in :mod:`carvis.sites.junctions`),
:func:`row_step` (one :class:`~carvis.core.tables.SiteRow` per site, clonality from
:mod:`carvis.sites.clonality`) and :func:`rank_step` (the sites reported, abundance, dominance, the
pooled clone fraction).

Precise junctions whose host side has a low MAPQ are not dropped: they form ``multi_hit`` sites, one per
group of junctions whose host flanks are identical (copies of a repeat between which the aligner placed
the reads at random), with every copy listed in ``candidate_loci``. Reads that end inside the stretch
both provirus ends share (transposon ITRs) take the orientation the other evidence at their site gives
(:func:`~carvis.sites.junctions.orient_shared_ends`). Sites of one placeable fragment are reported as
``support`` single (:func:`single_fragment`; a low-MAPQ read placed by its mate,
:func:`~carvis.sites.mates.mate_placed_sites`) and never used for clonality. A left-only and a
right-only junction of one orientation a host deletion apart are one insertion
(:func:`~carvis.sites.junctions.pair_host_deletions`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyfaidx

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import EVIDENCE, PLACING_KINDS, SITES, EvidenceRow, SiteRow
from carvis.evidence.spanning import spanning_window
from carvis.reference.vectors import VectorModel
from carvis.sites.clonality import AlleleCounts, allele_fraction, cell_fraction, covering_fragments, is_clonal
from carvis.sites.junctions import (
    Site,
    absorb_shadows,
    attach_discordant,
    cluster_junctions,
    imprecise_sites,
    multi_hit_sites,
    orient_shared_ends,
    pair_host_deletions,
    pair_junctions,
    rescue,
)
from carvis.sites.mates import MateMapq, confirm_by_mate, mate_placed_sites, move_mates, placed_mapq

#: ``sites`` config keys that the evidence stage uses (not parameters of this one).
EVIDENCE_SETTINGS = ("anchor_slop", "min_clip", "place_clips")

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


def load_evidence(path: str | Path, vector: str) -> list[EvidenceRow]:
    """Rows of one vector from an evidence table, checking its header."""
    rows = read_tsv(path, EVIDENCE, "give the file written by carvis.evidence.extract.extract_evidence")
    return [EvidenceRow.from_cells(r) for r in rows if r["vector"] == vector]


def rejection(row: EvidenceRow, min_mapq: int) -> str | None:
    """The first reason (:data:`REASONS`, then any other flag) not to use a row, or None."""
    flags = set(row.flags)
    if row.duplicate:
        flags.add("duplicate")
    flags.discard("low_mapq")  # judged with this stage's min_mapq
    if row.kind == "host_clip":
        flags.add("unanchored")  # no host placement of its own: used only by :func:`rescue`
    elif row.kind != "spanning" and (row.host_mapq is None or row.host_mapq < min_mapq):
        flags.add("low_mapq")
    return next((r for r in REASONS if r in flags), min(flags, default=None))


def _loci(site: Site) -> str | None:
    if not site.copies:
        return None
    return ",".join(f"{s.chrom}:{s.position}{s.orientation}" for s in (site, *site.copies))


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


@dataclass(frozen=True)
class SitesParams:
    """The sites stage's settings: the config's ``sites`` section (less :data:`EVIDENCE_SETTINGS`) and the
    sample's purity.

    A site with fewer than ``min_fragments`` fragments is reported with ``support`` single when
    :func:`single_fragment` holds (``single_min_mapq``, ``single_min_host_bases``, ``single_max_offset``).
    A left-only and a right-only junction at most ``max_host_deletion`` host bases apart are one insertion.
    ``discordant_window``: how far inward a discordant host mate may end from its junction.
    """

    purity: float | None = None
    min_mapq: int = 20
    min_fragments: int = 2
    dominant_fraction: float = 0.2
    clonal_min_fraction: float = 0.5
    discordant_window: int = 1000
    max_host_deletion: int = 100
    single_min_mapq: int = 20
    single_min_host_bases: int = 20
    single_max_offset: int = 2

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], purity: float | None) -> SitesParams:
        """From the config's ``sites`` section (an unknown key is an error, as it is in the schema)."""
        return cls(purity=purity, **{k: v for k, v in settings.items() if k not in EVIDENCE_SETTINGS})


@dataclass(frozen=True)
class SiteFiles:
    """The files of one sample's sites step.

    ``evidence_qc`` (the evidence stage's QC table) adds the rejections made there to ``qc``.
    ``coverage`` (screened reads, aligned without their reference fragments): the spanning fragments of
    each site are modelled from the autosomal depth in it, the read length and the mean fragment length in
    the evidence QC table (:func:`~carvis.sites.clonality.covering_fragments`, window as for counted ones),
    and the site is flagged ``spanning_modelled``. ``spanning``: spanning rows counted apart
    (:mod:`carvis.sites.site_reads`), added to the evidence.
    """

    evidence: str | Path
    genome: str | Path
    out: str | Path
    qc: str | Path | None = None
    evidence_qc: str | Path | None = None
    coverage: str | Path | None = None
    spanning: str | Path | None = None


@dataclass
class Evidence:
    """One vector's evidence rows (:func:`load_step`) and what is judged of them (:func:`judge_step`)."""

    rows: list[EvidenceRow]
    qc: dict[str, int]  # the evidence stage's QC counts
    covering: float | None  # modelled fragments of both alleles across a site (screened reads), else None
    reasons: list[str | None] = field(default_factory=list)  # per row: why it is not used, or None
    mates: MateMapq = field(default_factory=dict)
    unoriented: set[tuple[str, int]] = field(default_factory=set)  # (chrom, start) no evidence orients

    def where(self, *why: str | None) -> list[EvidenceRow]:
        return [r for r, reason in zip(self.rows, self.reasons, strict=True) if reason in why]


@dataclass
class Placement:
    """The sites of :func:`place_step` and what the QC table counts of their making."""

    sites: list[Site]
    placed: list[Site]  # mate-placed single-fragment sites
    rescued: set[int]  # ids of the weak rows :func:`~carvis.sites.junctions.rescue` added to sites
    absorbed: int  # sites merged into a nearby stronger one
    spanning: dict[tuple[str, int], set[str]]  # (chrom, site start) -> reference-allele fragments


@dataclass
class Tabled:
    """The site rows of :func:`row_step`, one per placed site, with the counts behind their fractions."""

    rows: list[SiteRow]
    counts: list[AlleleCounts | None]


def call_sites(
    files: SiteFiles, model: VectorModel, sample: str, params: SitesParams = SitesParams()
) -> list[SiteRow]:
    """Call one vector's integration sites in one sample; write them (SITES columns) and return the rows.

    Each precise, uniquely placed site gets the maximum-likelihood allele fraction of its counts
    (:class:`~carvis.sites.clonality.AlleleCounts`) with a 95% interval, scaled to cells; the sites flagged
    clonal are taken as one clone and share the pooled estimate over their counts (``clone_fraction``,
    with its interval). With modelled spanning fragments the allele fraction is junction fragments per
    junction / T. A site of one fragment gets no allele or clonal fraction, relative abundance or
    dominance; a site that nothing orients has orientation ``.``.
    """
    evidence = judge_step(load_step(files, model), model, params)
    with pyfaidx.Fasta(str(files.genome)) as genome:
        placement = place_step(evidence, model, params, genome)
        tabled = row_step(placement, evidence, sample, model, params, genome)
    kept = rank_step(tabled, params)
    write_tsv(files.out, SITES, (row.cells() for row in kept))
    if files.qc is not None:
        write_qc(files, evidence, placement, tabled, kept)
    return kept


def load_step(files: SiteFiles, model: VectorModel) -> Evidence:
    """The vector's evidence rows (with the spanning rows counted apart) and, for screened reads, the
    modelled fragments across a site."""
    evidence_qc = {} if files.evidence_qc is None else _evidence_qc(files.evidence_qc)
    window = spanning_window(1, model.tsd_length)
    covering = None
    if files.coverage is not None:
        covering = covering_fragments(files.coverage, evidence_qc, window[1] - window[0] + 1)
    rows = load_evidence(files.evidence, model.name)
    if files.spanning is not None:
        rows += load_evidence(files.spanning, model.name)
    return Evidence(rows, evidence_qc, covering)


def judge_step(evidence: Evidence, model: VectorModel, params: SitesParams) -> Evidence:
    """Mates that place low-MAPQ reads, the reason not to use each row, and the orientation of reads
    inside the provirus ends' shared stretch (rows changed in place)."""
    evidence.mates = confirm_by_mate(evidence.rows, params.discordant_window)
    evidence.reasons = [rejection(r, params.min_mapq) for r in evidence.rows]
    evidence.unoriented = orient_shared_ends(evidence.rows, evidence.reasons, model, params.discordant_window)
    return evidence


def place_step(
    evidence: Evidence, model: VectorModel, params: SitesParams, genome: pyfaidx.Fasta
) -> Placement:
    """The sites: TSD-paired junctions, weak rows rescued at their junctions, host deletions, discordant
    support, discordant-only sites, multi-hit and mate-placed sites, shadows merged."""
    window = params.discordant_window
    usable = evidence.where(None)
    weak = [r for r in evidence.where(*WEAK) if r.precise]
    sites = pair_junctions(list(cluster_junctions(usable).values()), model)
    unrescued = rescue(sites, weak, model.tsd_length)
    sites = pair_host_deletions(sites, params.max_host_deletion)
    rescued = {id(r) for r in weak} - {id(r) for r in unrescued}
    low = [r for r in evidence.where("low_mapq") if id(r) not in rescued]
    discordant = [r for r in usable if r.kind == "discordant"]
    leftovers = attach_discordant(sites, discordant, window)
    sites += imprecise_sites(leftovers, window, params.min_fragments, model.tsd_length)
    spanning: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in usable:
        if r.kind == "spanning":
            spanning[(r.chrom, r.host_pos)].add(r.fragment)
    multi = multi_hit_sites(low, sites, model, genome)
    rescue(multi, [r for r in unrescued if r.kind == "host_clip"], model.tsd_length)
    placed, multi = mate_placed_sites(
        low, multi, model, evidence.mates, params.min_mapq, params.min_fragments
    )
    sites += multi + placed
    move_mates(placed, sites, discordant, window)
    found = len(sites)
    sites = absorb_shadows(sites)
    return Placement(sites, placed, rescued, found - len(sites), spanning)


def row_step(
    placement: Placement,
    evidence: Evidence,
    sample: str,
    model: VectorModel,
    params: SitesParams,
    genome: pyfaidx.Fasta,
) -> Tabled:
    """One row per site: single-fragment sites told apart, allele counts and clonality of the others."""
    tabled = Tabled([], [])
    for site in placement.sites:
        one = len(site.fragments()) < params.min_fragments and single_fragment(site, params, evidence.mates)
        counts = None if one else site_counts(site, placement.spanning, evidence.covering)
        site.orientation_known = (site.chrom, site.position) not in evidence.unoriented
        row = site_row(site, counts, genome, params)
        row.sample, row.vector, row.support = sample, model.name, "single" if one else "multiple"
        modelled = evidence.covering is not None and row.spanning_fragments is not None
        paired = row.tsd_length is not None or row.host_deletion is not None
        row.flags = _site_flags(site, paired, modelled)
        tabled.rows.append(row)
        tabled.counts.append(counts)
    return tabled


def rank_step(tabled: Tabled, params: SitesParams) -> list[SiteRow]:
    """The sites reported (``min_fragments`` or single), their relative abundance and dominance, and the
    pooled fraction of the clonal ones; most fragments first."""
    kept = [r for r in tabled.rows if r.fragments >= params.min_fragments or r.support == "single"]
    total = sum(r.fragments for r in kept if r.support == "multiple")
    for row in kept:
        abundance = row.fragments / total if row.support == "multiple" else None
        row.relative_abundance = abundance
        row.dominant = None if abundance is None else abundance >= params.dominant_fraction
    reported = {id(r) for r in kept}
    clone = [
        c for r, c in zip(tabled.rows, tabled.counts, strict=True) if r.clonal and c and id(r) in reported
    ]
    if clone:
        pooled = [cell_fraction(x, params.purity) for x in allele_fraction(clone)]
        for row in kept:
            if row.clonal:
                row.clone_fraction, row.clone_fraction_low, row.clone_fraction_high = pooled
    kept.sort(key=lambda r: (-r.fragments, r.chrom, r.position))
    return kept


def site_row(site: Site, counts: AlleleCounts | None, genome: pyfaidx.Fasta, params: SitesParams) -> SiteRow:
    """Row of one site (sample, vector, support and flags are the caller's); modelled spanning fragments
    (``counts.covering`` = T) are T - junction fragments per junction."""
    fragments = site.fragments()
    junctions = site.junctions()
    split = set().union(*(j.split for j in junctions))
    clip_only = split - set().union(*(j.aligned for j in junctions))
    paired = site.paired and site.left.split and site.right.split
    q = low = high = None
    clonal = None
    span: float | None = None
    purity = params.purity
    if counts is not None:
        span = counts.spanning
        if counts.covering is not None:
            span = round(max(0.0, counts.covering - counts.junction / counts.junctions), 2)
        q, low, high = allele_fraction([counts])
        clonal = is_clonal(
            cell_fraction(q, purity) or 0.0, cell_fraction(high, purity) or 0.0, params.clonal_min_fraction
        )
    tsd = None
    if paired and site.tsd_length is not None:
        tsd = str(genome[site.chrom][site.right.host_pos - 1 : site.left.host_pos]).upper()
    return SiteRow(
        sample="",
        vector="",
        chrom=site.chrom,
        position=site.position,
        orientation=site.orientation if site.orientation_known else ".",
        left_junction=site.left.host_pos if site.left.split else None,
        right_junction=site.right.host_pos if site.right.split else None,
        tsd_length=site.tsd_length if paired else None,
        host_deletion=site.host_deletion if paired else None,
        tsd=tsd,
        fragments=len(fragments),
        split_fragments=len(split),
        discordant_fragments=len(fragments - split),
        spanning_fragments=span,
        allele_fraction=q,
        clonal_fraction=cell_fraction(q, purity),
        clonal_fraction_low=cell_fraction(low, purity),
        clonal_fraction_high=cell_fraction(high, purity),
        precise=site.precise,
        clip_fragments=len(clip_only),
        clonal=clonal,
        host_mapq=round(statistics.median(m for j in junctions for m in j.mapq)),
        candidate_loci=_loci(site),
    )


def single_fragment(site: Site, params: SitesParams, mates: MateMapq) -> bool:
    """Is a site of one fragment placeable: a precise, uniquely placed site whose junction reads all end
    at most ``single_max_offset`` bases from a provirus terminus and have at least
    ``single_min_host_bases`` host bases (a ``mate_clip`` any) placed with host MAPQ (or their mate's,
    :func:`~carvis.sites.mates.placed_mapq`) at least ``min_mapq`` and ``single_min_mapq``, with no
    flag (homologous, backbone) and no duplicate? A ``host_clip`` row (the fragment's other read, matched
    at the junction these reads place) is not judged: it places nothing."""
    if not site.precise or site.multi_hit or site.copies or len(site.fragments()) != 1:
        return False
    min_mapq = max(params.min_mapq, params.single_min_mapq)
    rows = [r for j in (site.left, site.right) for r in j.rows if r.kind != "host_clip"]
    return bool(rows) and all(
        r.kind in PLACING_KINDS
        and r.anchor_offset is not None
        and r.anchor_offset <= params.single_max_offset
        and (mapq := placed_mapq(r, mates)) is not None
        and mapq >= min_mapq
        and r.host_bases is not None
        # a mate_clip's host bases are matched beside its placed mate, not placed genome-wide
        and (r.kind == "mate_clip" or r.host_bases >= params.single_min_host_bases)
        and r.flags in ((), ("low_mapq",))  # low_mapq: judged on placed_mapq above
        and not r.duplicate
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


def _evidence_qc(path: str | Path) -> dict[str, int]:
    rows = read_tsv(path, ("metric", "count"), "give the evidence stage's QC table")
    return {r["metric"]: int(r["count"]) for r in rows}


def write_qc(
    files: SiteFiles, evidence: Evidence, placement: Placement, tabled: Tabled, kept: list[SiteRow]
) -> None:
    """The sites QC table: counts of the :data:`QC_METRICS`."""
    reported = {id(r) for r in kept}
    sites = placement.sites
    multi_hit = {
        f
        for s, r in zip(sites, tabled.rows, strict=True)
        if s.multi_hit and id(r) in reported
        for f in s.fragments()
    }
    shown = {id(s) for s, r in zip(sites, tabled.rows, strict=True) if r.support == "single"}
    mate_placed = {
        id(r) for s in placement.placed if id(s) in shown for j in (s.left, s.right) for r in j.rows
    }
    counts: Counter[str] = Counter(
        {m: 0 for m in QC_METRICS if "<" not in m and m not in _EVIDENCE_QC.values()}
    )
    for row, why in zip(evidence.rows, evidence.reasons, strict=True):
        counts[f"rows_{row.kind}"] += 1
        if id(row) in placement.rescued:
            counts["rescued_rows"] += 1
        elif id(row) in mate_placed:
            counts["mate_placed_rows"] += 1
        elif why in WEAK and row.fragment in multi_hit:
            counts["multi_hit_rows"] += 1
        elif why is not None and row.kind != "spanning":
            counts[f"rejected_{why}"] += 1
    flags = [r.flags or "" for r in kept]
    counts["sites_dropped_few_fragments"] = len(tabled.rows) - len(kept)
    counts["sites_called"] = len(kept)
    counts["sites_multi_hit"] = sum("multi_hit" in f for f in flags)
    counts["sites_one_sided"] = sum("one_sided" in f for f in flags)
    counts["sites_imprecise"] = sum(not r.precise for r in kept)
    counts["sites_clonal"] = sum(bool(r.clonal) for r in kept)
    counts["sites_single_fragment"] = sum(r.support == "single" for r in kept)
    counts["sites_orientation_unknown"] = sum(r.orientation == "." for r in kept)
    counts["sites_absorbed_shadow"] = placement.absorbed
    if files.evidence_qc is not None:
        counts.update({ours: evidence.qc.get(theirs, 0) for theirs, ours in _EVIDENCE_QC.items()})
    if files.qc is not None:
        write_tsv(files.qc, ("metric", "count", "description"), _qc_rows(counts))


def _qc_rows(counts: Counter[str]) -> list[dict[str, object]]:
    def describe(metric: str) -> str:
        if metric.startswith("rows_"):
            return QC_METRICS["rows_<kind>"]
        return QC_METRICS.get(metric, "junction rows rejected for this evidence flag")

    return [{"metric": m, "count": counts[m], "description": describe(m)} for m in sorted(counts)]
