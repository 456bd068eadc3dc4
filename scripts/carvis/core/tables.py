"""Column contracts of the files that stages hand to each other.

Each stage writes exactly these columns (more may be appended at the end by a later issue,
never removed or renamed). Missing values are written as ``NA``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


#: One row per read (split/clip) or fragment (discordant) that joins vector and genome,
#: plus ``spanning`` rows: reference-allele fragments that cross a candidate junction.
@dataclass(kw_only=True)
class EvidenceRow:
    """One row of the evidence table; the fields, in order, are its columns (:data:`EVIDENCE`).

    Every evidence source (split, clip, host-clip and discordant rows of the evidence stage, spanning
    rows of the evidence and sites stages, and any later aligner or assay) builds this one type.
    """

    fragment: str  # query name (one fragment = one read pair)
    read: int = 0  # 1, 2 or 0 (single-end / whole fragment)
    kind: str  # split | clip | host_clip | mate_clip | aligned_clip | discordant | spanning
    chrom: str  # host contig
    host_pos: int  # split/clip: the host base next to the vector (1-based); discordant: host mate's inner end
    side: str | None = None  # left (host on the lower-coordinate side of the vector) | right
    vector: str  # vector name from the config
    vector_end: str | None = None  # 5p | 3p (provirus end at the junction) | NA
    vector_pos: int | None = None  # 1-based provirus position next to the host (after anchoring), or mate's
    anchor_offset: int | None = None  # bases between the aligned vector boundary and the terminus (0: at it)
    host_mapq: int | None = None
    vector_mapq: int | None = None
    precise: bool | None = None  # yes for split/clip, no for discordant
    duplicate: bool = False  # yes when samtools markdup flagged the read
    flags: tuple[str, ...] = ()  # reasons to distrust the row (homologous, internal, backbone, ...) or NA
    vector_bases: int | None = None  # how far the read's (discordant: the mate's) vector part reaches in
    host_bases: int | None = None  # host bases aligned to the genome (split, clip) or clipped (*_clip)

    def cells(self) -> dict[str, object]:
        """Column -> value as :func:`carvis.core.io.write_tsv` writes it (flags comma-separated or NA)."""
        return {**{c: getattr(self, c) for c in EVIDENCE}, "flags": ",".join(self.flags) or None}

    @classmethod
    def from_cells(cls, cells: Mapping[str, str]) -> EvidenceRow:
        """The row of one line of an evidence table (as :func:`carvis.core.io.read_tsv` reads it)."""

        def text(column: str) -> str | None:
            value = cells.get(column, "NA")
            return None if value in ("NA", "") else value

        def number(column: str) -> int | None:
            value = text(column)
            return None if value is None else int(value)

        precise = text("precise")
        return cls(
            fragment=cells["fragment"],
            read=number("read") or 0,
            kind=cells["kind"],
            chrom=cells["chrom"],
            host_pos=int(cells["host_pos"]),
            side=text("side"),
            vector=cells["vector"],
            vector_end=text("vector_end"),
            vector_pos=number("vector_pos"),
            anchor_offset=number("anchor_offset"),
            host_mapq=number("host_mapq"),
            vector_mapq=number("vector_mapq"),
            precise=None if precise is None else precise == "yes",
            duplicate=cells["duplicate"] == "yes",
            flags=tuple(flags.split(",")) if (flags := text("flags")) else (),
            vector_bases=number("vector_bases"),
            host_bases=number("host_bases"),
        )


#: The evidence table's columns: the fields of :class:`EvidenceRow`.
EVIDENCE = tuple(f.name for f in fields(EvidenceRow))
#: Evidence kinds whose row places its junction on the host by itself (a host_clip only joins one).
PLACING_KINDS = frozenset({"split", "clip", "mate_clip", "aligned_clip"})


@dataclass(kw_only=True)
class SiteRow:
    """One row of the sites stage's table; the fields, in order, are its columns (:data:`SITES`)."""

    sample: str
    vector: str
    chrom: str
    position: int  # 1-based first base of the target site (first TSD base)
    orientation: str  # + when the vector's 5' end faces the lower coordinate
    left_junction: int | None = None  # last host base before the vector, or NA
    right_junction: int | None = None  # first host base after the vector, or NA
    tsd_length: int | None = None
    tsd: str | None = None
    fragments: int  # unique junction fragments (split + discordant; long reads: junction reads, all split)
    clonal_fraction: float | None = None  # cells carrying the site / all cells (/ purity when known)
    split_fragments: int = 0
    discordant_fragments: int = 0
    spanning_fragments: float | None = None  # reference-allele fragments (long reads: reads), or modelled
    # (fractional, flag spanning_modelled) when screened reads had no second pass
    allele_fraction: float | None = None
    relative_abundance: float | None = None
    precise: bool = True
    dominant: bool | None = None
    flags: str | None = None  # one_sided, multi_hit, spanning_modelled, orientation_unknown (comma-separated)
    clip_fragments: int = 0  # of split_fragments: seen only through a soft clip matched to a terminus
    clonal: bool | None = None  # yes when the cell fraction is consistent with every (tumour) cell
    host_mapq: int | None = None  # median host-side MAPQ of the junction rows (< min_mapq: multi_hit)
    candidate_loci: str | None = None  # multi_hit sites: every locus (chrom:position+orientation), else NA
    clonal_fraction_low: float | None = None  # 95% likelihood-ratio interval of clonal_fraction
    clonal_fraction_high: float | None = None
    clone_fraction: float | None = None  # sites flagged clonal: cell fraction pooled over them, else NA
    clone_fraction_low: float | None = None  # its 95% interval
    clone_fraction_high: float | None = None
    support: str = "multiple"  # multiple (>= min_fragments fragments) | single (one placeable fragment)
    host_deletion: int | None = None  # junctions paired across a host deletion: host bases lost (< 0: kept)

    def cells(self) -> dict[str, object]:
        """Column -> value as :func:`carvis.core.io.write_tsv` writes it."""
        return {c: getattr(self, c) for c in SITES}


#: The sites stage output (before annotation) and the first columns of integration_sites.tsv: the fields
#: of :class:`SiteRow`.
SITES = tuple(f.name for f in fields(SiteRow))

#: Annotation columns appended to SITES in integration_sites.tsv.
ANNOTATION = (
    "gene",
    "gene_strand",
    "region",  # exon | intron | utr | intergenic | no_annotation
    "gene_orientation",  # same | opposite | NA (provirus vs gene strand)
    "distance_to_gene",  # 0 inside a gene body
    "nearest_tss_gene",
    "distance_to_tss",
    "nearest_listed_gene",
    "distance_to_listed_gene",
    "listed_gene_category",
    "proximity_tier",  # inside | 10kb | 50kb | 100kb | none | unknown
    "gene_list",  # name and version of the cancer-gene table
)

TRANSGENE = (
    "sample",
    "vector",
    "detected",  # yes | no | indeterminate
    "vcn",  # copies per diploid genome
    "vcn_low",
    "vcn_high",
    "vcn_per_tumour_cell",  # NA without purity
    "vector_depth",  # mean depth over the vector-unique footprint
    "autosomal_depth",
    "footprint_bp",
    "masked_bp",
    "footprint_covered",  # fraction of the footprint with depth > 0
    "backbone_depth",
    "plasmid_contamination",  # yes | no
    "reason",
    "fragments",  # read pairs with >= 20 aligned bases in the footprint (duplicates excluded)
    "distinct_positions",  # distinct fragment start positions among them
    "p_background",  # P(fragments >= observed | background rate [+ plasmid share])
    "vcn_dispersion",  # quasi-Poisson dispersion (>= 1) across footprint windows; widens the interval
    "vcn_low_per_tumour_cell",
    "vcn_high_per_tumour_cell",
    "backbone_fragments",  # read pairs in the backbone footprint (plasmid contamination evidence)
    "identity",  # best | also_present | uncertain | absent (construct identity across configured vectors)
)

SUMMARY = (
    "sample",
    "vector",
    "purity",
    "detected",
    "vcn",
    "vcn_per_tumour_cell",
    "sites",
    "clonal_sites",
    "top_site",
    "top_site_gene",
    "top_site_clonal_fraction",
    "plasmid_contamination",
    "interpretation",
    "rule",  # the rule that produced the interpretation
)

#: The clone census of one sample (calls/<sample>.census.tsv; :mod:`carvis.report.census`).
CENSUS = (
    "sample",
    "vector",
    "sites_observed",  # sites in the sites table
    "sites_one_fragment",  # f1
    "sites_two_fragments",  # f2
    "sites_estimated",  # distinct sites in the sample (Chao1, singletons corrected for q)
    "sites_estimated_low",  # its 95% interval (log-normal)
    "sites_estimated_high",
    "estimator",
    "vcn",  # copies per diploid genome (transgene table)
    "clonal_sites",
    "clonal_copies",  # copies per diploid genome the clonal sites explain: sum(clonal_fraction) x purity
    "unexplained_copies",  # vcn - clonal_copies (>= 0)
    "unexplained_share",  # unexplained_copies / vcn
    "unexplained_share_low",  # the same at vcn_low and vcn_high
    "unexplained_share_high",
    # q: share of fragments holding a junction read (sites with 2+ fragments); a one-fragment site is seen
    # only with one, so f1 / q one-fragment sites are estimated (carvis.report.census)
    "singleton_detection",
)

#: The simulator's truth: SITES' first eleven columns plus what was simulated.
#: ``readable_fragments``: fragments with a read crossing a junction with 12 or more bases on each side;
#: ``placeable_fragments``: those of them a human genome could place (the read holds 20 or more host bases,
#: or its mate lies wholly on the host: carvis.sim.fragments.PLACEABLE_HOST).
TRUTH = (*SITES[:11], "cell_fraction", "class", "readable_fragments", "placeable_fragments")

#: LM-PCR abundance per site (calls/<sample>.abundance.tsv; :mod:`carvis.sites.lmpcr`), one row per
#: row of the sites table, in the same order.
ABUNDANCE = (
    "sample",
    "specimen",
    "chrom",
    "position",
    "orientation",
    "ltr_ends",  # the LTR ends (3p, 5p) whose runs saw the site, comma-separated
    "reads",
    "shear_points",  # distinct fragment lengths (host bases from the LTR end to the shear point)
    "umis",  # distinct UMIs, or NA without UMIs
    "estimator",  # umi | shear_points
    "estimated_cells",
    "estimated_cells_low",  # 95% interval; inf: the shear points are saturated
    "estimated_cells_high",
    "relative_abundance",
    "not_measured",  # the SITES fields this assay cannot measure, and why
)
