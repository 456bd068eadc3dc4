"""Column contracts of the files that stages hand to each other.

Each stage writes exactly these columns (more may be appended at the end by a later issue,
never removed or renamed). Missing values are written as ``NA``.
"""

from __future__ import annotations

#: One row per read (split/clip) or fragment (discordant) that joins vector and genome,
#: plus ``spanning`` rows: reference-allele fragments that cross a candidate junction.
EVIDENCE = (
    "fragment",  # query name (one fragment = one read pair)
    "read",  # 1, 2 or 0 (single-end / whole fragment)
    "kind",  # split | clip | host_clip | mate_clip | discordant | spanning
    "chrom",  # host contig
    "host_pos",  # split/clip: the host base next to the vector (1-based); discordant: host mate's inner end
    "side",  # left (host on the lower-coordinate side of the vector) | right
    "vector",  # vector name from the config
    "vector_end",  # 5p | 3p (provirus end at the junction) | NA
    "vector_pos",  # 1-based provirus position next to the host (after anchoring), or vector mate position
    "anchor_offset",  # bases between the aligned vector boundary and the terminus (0 = exactly at it)
    "host_mapq",
    "vector_mapq",
    "precise",  # yes for split/clip, no for discordant
    "duplicate",  # yes when samtools markdup flagged the read
    "flags",  # comma-separated reasons to distrust the row (homologous, internal, backbone, ...) or NA
    "vector_bases",  # how far the read's (discordant: the mate's) vector part reaches in from the terminus
    "host_bases",  # host bases aligned to the genome (split, clip) or clipped (host_clip), else NA
)

#: The sites stage output (before annotation) and the first columns of integration_sites.tsv.
SITES = (
    "sample",
    "vector",
    "chrom",
    "position",  # 1-based first base of the target site (first TSD base)
    "orientation",  # + when the vector's 5' end faces the lower coordinate
    "left_junction",  # last host base before the vector, or NA
    "right_junction",  # first host base after the vector, or NA
    "tsd_length",
    "tsd",
    "fragments",  # unique junction fragments (split + discordant)
    "clonal_fraction",  # cells carrying the site / all cells (/ purity when known)
    "split_fragments",
    "discordant_fragments",
    "spanning_fragments",  # reference-allele fragments; modelled (fractional) for screened FASTQs
    "allele_fraction",
    "relative_abundance",
    "precise",
    "dominant",
    "flags",  # one_sided, multi_hit, spanning_modelled, orientation_unknown (comma-separated) or NA
    "clip_fragments",  # of split_fragments: seen only through a soft clip matched to a provirus terminus
    "clonal",  # yes when the cell fraction is consistent with every (tumour) cell carrying the site
    "host_mapq",  # median host-side MAPQ of the junction rows (< min_mapq for multi_hit sites)
    "candidate_loci",  # multi_hit sites: every locus with junctions (chrom:position+orientation), else NA
    "clonal_fraction_low",  # 95% likelihood-ratio interval of clonal_fraction
    "clonal_fraction_high",
    "clone_fraction",  # sites flagged clonal: cell fraction pooled over all of them (one clone), else NA
    "clone_fraction_low",  # its 95% interval
    "clone_fraction_high",
    "support",  # multiple (>= min_fragments fragments) | single (one placeable fragment; never clonal)
    "host_deletion",  # junctions paired across a host deletion: host bases lost (< 0: kept on both sides)
)

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
    "sites_estimated",  # distinct sites in the sample (Chao1)
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
)

#: The simulator's truth: SITES' first eleven columns plus what was simulated.
#: ``readable_fragments``: fragments with a read crossing a junction with 12 or more bases on each side.
TRUTH = (*SITES[:11], "cell_fraction", "class", "readable_fragments")

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
