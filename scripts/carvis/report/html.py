"""A self-contained HTML report per sample: verdict, interpretation, plots, sites, transgene, method.

The report only formats: every number comes from the transgene and annotated sites tables, and
the verdict from :func:`carvis.report.summary.decide`, so the HTML and summary.tsv never disagree.
Everything is inline (CSS from carvis.report.page, SVG); nothing is loaded from elsewhere, so it reads
offline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from carvis import __version__
from carvis.core.io import atomic_write, read_tsv
from carvis.core.tables import CENSUS
from carvis.report.census import census_text
from carvis.report.export import read_fai
from carvis.report.page import (
    count,
    esc,
    flags_text,
    has_flag,
    kv_table,
    page,
    text,
    tile,
)
from carvis.report.plots import (
    CLONAL_COLOUR,
    OTHER_COLOUR,
    clonal_bars,
    format_distance,
    gene_context,
    genome_map,
    site_name,
)
from carvis.report.provenance import INPUTS, READ_COUNTS, STEPS, read_qc
from carvis.report.summary import (
    Row,
    decide,
    is_clonal,
    is_single,
    known,
    limitations,
    load_sample,
    ranked_sites,
)

VERDICT_TITLES = {
    "car_derived": "CAR-derived clonal tumour",
    "car_t_present": "CAR T cells present, tumour not shown to be CAR-derived",
    "not_detected": "Transgene not detected",
    "indeterminate": "Indeterminate",
}

#: Orientation ``.`` in words.
ORIENTATION_UNKNOWN = "orientation unknown (the vector part lies in the stretch both ends share)"


def listed_text(site: Row) -> str:
    """'LMO2, 20.0 kb' for the nearest listed gene, or why there is none."""
    if site.get("region") == "no_annotation":
        return "no annotation for this contig"
    gene = site.get("nearest_listed_gene")
    if not known(gene):
        return "no listed cancer gene on this contig"
    return f"{gene}, {format_distance(site.get('distance_to_listed_gene'))}"


def gene_lists(sites: Sequence[Row]) -> list[str]:
    """Every cancer-gene list (name and version) named in the sites' ``gene_list`` cells."""
    names = (n.strip() for s in sites for n in str(s.get("gene_list") or "").split(";"))
    return list(dict.fromkeys(n for n in names if known(n)))


def _vcn_tile(transgene: Row) -> str:
    per_cell = transgene.get("vcn_per_tumour_cell")
    whole = f"per diploid genome {text(transgene.get('vcn'), 'not computed')}"
    if known(per_cell):
        return tile("VCN per tumour cell", per_cell, whole)
    return tile("VCN per tumour cell", "not computed", f"tumour purity unknown; {whole}")


def _tiles(transgene: Row, sites: Sequence[Row]) -> str:
    clonal = [s for s in sites if is_clonal(s)]
    tiles = [
        tile("CAR vector DNA", text(transgene.get("detected")), text(transgene.get("reason"), "")),
        _vcn_tile(transgene),
        tile(
            "Integration sites", len(sites), f"{len(clonal)} clonal; {_single_count(sites)} with one fragment"
        ),
    ]
    if sites:
        top = sites[0]
        fraction = text(top.get("clonal_fraction"), "not estimated")
        tiles.append(tile("Largest site", site_name(top), f"{gene_context(top)}; clonal fraction {fraction}"))
        if known(top.get("nearest_listed_gene")):
            tiles.append(
                tile(
                    "Nearest listed cancer gene",
                    top.get("nearest_listed_gene"),
                    f"{format_distance(top.get('distance_to_listed_gene'))} from the largest site; "
                    f"tier {text(top.get('proximity_tier'))}",
                )
            )
        else:
            tiles.append(tile("Nearest listed cancer gene", "none", f"{listed_text(top)} (largest site)"))
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _header(sample: str, vector: object, purity: float | None, lists: Sequence[str]) -> str:
    purity_text = "unknown" if purity is None else f"{purity:g}"
    listed = f" · cancer-gene list{'s' if len(lists) > 1 else ''} {esc('; '.join(lists))}" if lists else ""
    return (
        f"<h1>Vector integration report: {esc(sample)}</h1>"
        f'<p class="sub">CAR vector <b>{esc(vector)}</b> · tumour purity <b>{esc(purity_text)}</b>'
        f"{listed} · carvis {esc(__version__)}</p>"
    )


def _verdict(kind: str, transgene: Row, sites: Sequence[Row]) -> str:
    return (
        f'<section class="verdict v-{esc(kind)}">'
        f'<div class="title">Verdict: {esc(VERDICT_TITLES[kind])}</div>'
        f"{_tiles(transgene, sites)}</section>"
    )


def _interpretation(interpretation: str, rule: str, limits: Sequence[str]) -> str:
    items = "".join(f"<li>{esc(item)}</li>" for item in limits)
    return (
        '<section class="grid2"><div><h2>Interpretation</h2>'
        f"<p>{esc(interpretation)}</p><p class='small'>Rule that produced it:</p>"
        f'<p class="rule">{esc(rule)}</p></div>'
        f'<div><h2>Limitations</h2><ul class="limits">{items}</ul></div></section>'
    )


def _legend() -> str:
    return (
        '<p class="legend small">'
        f'<span><i class="dot" style="background:{CLONAL_COLOUR}"></i>clonal site (as the sites stage '
        "flagged it), labelled with its gene</span>"
        f'<span><i class="dot" style="background:{OTHER_COLOUR}"></i>other site</span>'
        "<span>hover a mark for details</span></p>"
    )


def _figures(sites: Sequence[Row], contigs: Mapping[str, int] | None, coverage_svg: str | None) -> str:
    parts = []
    if contigs:
        parts.append(
            "<section><h2>Integration sites along the genome</h2>"
            f'<div class="figure">{genome_map(contigs, sites)}</div>{_legend()}</section>'
        )
    bars = clonal_bars(sites)
    if bars:
        parts.append(
            "<section><h2>Clonal fraction per site</h2>"
            f'<div class="figure">{bars}</div><p class="note">Fraction of tumour cells carrying each '
            "site (divided by purity when known); red: flagged clonal. A tumour grown from one CAR T "
            "cell shows its sites near 1; infiltrating polyclonal CAR T cells give many sites near 0. "
            "Sites without a clonal fraction (several candidate places, no junction base) are not "
            "drawn.</p></section>"
        )
    if coverage_svg:
        parts.append(
            "<section><h2>Vector coverage</h2>"
            f'<div class="figure">{coverage_svg}</div><p class="note">Read depth along the provirus; '
            "masked parts (grey: they match the genome) and the LTRs (beige) do not count for detection "
            "or VCN. Below: the vector's features.</p></section>"
        )
    return "".join(parts)


def _interval_text(row: Row, low: str, high: str) -> str:
    """'(0.76 to 0.88)', or '' when the interval is unknown."""
    if not (known(row.get(low)) and known(row.get(high))):
        return ""
    return f" ({row.get(low)} to {row.get(high)})"


def _measured(row: Row, column: str) -> str:
    return text(row.get(column), "not measured")


def _transgene_section(row: Row, purity: float | None) -> str:
    per_cell = text(row.get("vcn_per_tumour_cell"), "not computed: tumour purity unknown")
    pairs: list[tuple[str, object]] = [
        ("CAR vector DNA detected", text(row.get("detected"))),
        ("reason", text(row.get("reason"), "none given")),
        (
            "VCN, copies per diploid genome (95% interval)",
            text(row.get("vcn"), "not computed") + _interval_text(row, "vcn_low", "vcn_high"),
        ),
        (
            "VCN per tumour cell (95% interval)",
            per_cell + _interval_text(row, "vcn_low_per_tumour_cell", "vcn_high_per_tumour_cell"),
        ),
        ("tumour purity used", "unknown" if purity is None else purity),
        ("vector-unique footprint covered (fraction)", _measured(row, "footprint_covered")),
        (
            "vector-unique footprint / masked (bp)",
            f"{count(row.get('footprint_bp'), 'not measured')} / "
            f"{count(row.get('masked_bp'), 'not measured')}",
        ),
        (
            "mean depth: vector / autosomes",
            f"{_measured(row, 'vector_depth')} / {_measured(row, 'autosomal_depth')}",
        ),
        ("plasmid backbone depth", _measured(row, "backbone_depth")),
        ("plasmid contamination", text(row.get("plasmid_contamination"), "not assessed")),
    ]
    return f"<section><h2>Transgene panel (CAR vector DNA in the tumour)</h2>{kv_table(pairs)}</section>"


def _gene_orientation(site: Row) -> str:
    value = site.get("gene_orientation")
    return f"; {value} strand as the gene" if value in {"same", "opposite"} else ""


def tsd_text(site: Row) -> str:
    """The target-site duplication, or why there is none."""
    if known(site.get("tsd")):
        return f"{site.get('tsd')} ({count(site.get('tsd_length'))} bp)"
    seen = sum(known(site.get(c)) for c in ("left_junction", "right_junction"))
    if seen == 1 or has_flag(site, "one_sided"):
        return "one junction seen, so no TSD"
    if seen == 0:
        return "no junction base seen (read pairs only), so no TSD"
    return "junctions do not overlap, so no TSD"


def fragments_html(site: Row) -> str:
    """Junction fragments (split / read pairs) and the reference fragments, counted or modelled."""
    split, pairs = count(site.get("split_fragments")), count(site.get("discordant_fragments"))
    junction = (
        f"<b>{count(site.get('fragments'))}</b>"
        f"<div class='small nowrap'>{split} split, {pairs} read pair(s)</div>"
    )
    spanning = site.get("spanning_fragments")
    if not known(spanning):
        return junction + "<div class='small'>reference fragments not counted</div>"
    if has_flag(site, "spanning_modelled"):
        return junction + (
            f"<div class='small'>about {count(spanning)} reference fragments expected from the "
            "genome-wide depth: modelled, not counted (screened reads without the second pass, or a "
            "long-read BAM lacking the contig)</div>"
        )
    return junction + f"<div class='small'>{count(spanning)} reference fragments counted</div>"


def _single_count(sites: Sequence[Row]) -> int:
    return sum(1 for s in sites if is_single(s))


def single_text(sites: Sequence[Row]) -> str:
    """The single-fragment sites in words, or '' when there are none."""
    single = _single_count(sites)
    if not single:
        return ""
    each = " each" if single > 1 else ""
    return (
        f"{single} further site{'s' if single > 1 else ''} with one fragment{each}: insertions carried "
        "by few cells, as in a polyclonal CAR T-cell population. One fragment gives no clonal fraction, "
        "so these sites never count for clonality or the verdict."
    )


def orientation_text(site: Row) -> str:
    """The orientation cell: + or -, or why it is unknown."""
    return ORIENTATION_UNKNOWN if site.get("orientation") == "." else text(site.get("orientation"))


def _fraction_html(site: Row) -> str:
    if is_single(site):
        return "not estimated <div class='small'>(one fragment)</div>"
    if not known(site.get("clonal_fraction")):
        why = "several candidate places" if has_flag(site, "multi_hit") else "no junction base seen"
        return f"not estimated <div class='small'>({why})</div>"
    return (
        f"<b>{esc(site.get('clonal_fraction'))}</b>{_interval(site, 'clonal_fraction')}"
        f"{' <b>clonal</b>' if is_clonal(site) else ''}{_clone(site)}"
    )


def _listed_html(site: Row) -> str:
    tier = text(site.get("proximity_tier"))
    category = site.get("listed_gene_category")
    words = str(category).replace(",", ", ").replace(";", "; ").replace("_", " ")
    category_text = f'<div class="small">{esc(words)}</div>' if known(category) else ""
    tier_text = (
        f' <span class="tier-{esc(tier)}">{esc(tier)}</span>'
        if known(site.get("nearest_listed_gene"))
        else ""
    )
    return f"{esc(listed_text(site))}{tier_text}{category_text}"


def _flags_html(site: Row) -> str:
    words = flags_text(site)
    if known(site.get("candidate_loci")):
        words.append(f"candidate loci: {str(site.get('candidate_loci')).replace(',', ', ')}")
    return esc("; ".join(words) or "none")


def _site_row(site: Row) -> str:
    cells = [
        f'<td class="nowrap"><b>{esc(site_name(site))}</b></td>',
        f"<td>{esc(orientation_text(site))}</td>",
        f'<td class="nowrap">{esc(site.get("left_junction"), "not seen")} / '
        f"{esc(site.get('right_junction'), 'not seen')}</td>",
        f"<td>{esc(tsd_text(site))}</td>",
        f'<td class="num frag">{fragments_html(site)}</td>',
        f'<td class="num">{_fraction_html(site)}</td>',
        f"<td>{esc(gene_context(site) + _gene_orientation(site))}</td>",
        f"<td>{_listed_html(site)}</td>",
        f"<td>{_flags_html(site)}</td>",
    ]
    css = ' class="clonal"' if is_clonal(site) else ""
    return f"<tr{css}>{''.join(cells)}</tr>"


def _interval(site: Row, column: str) -> str:
    """' (low-high)' of a column's 95% interval, or '' when unknown."""
    low, high = site.get(f"{column}_low"), site.get(f"{column}_high")
    if not (known(low) and known(high)):
        return ""
    return f' <span class="small nowrap">({esc(low)}–{esc(high)})</span>'


def _clone(site: Row) -> str:
    """The pooled clone-level fraction of a clonal site, as a small second line."""
    if not known(site.get("clone_fraction")):
        return ""
    fraction = esc(site.get("clone_fraction"))
    return f'<div class="small">clone {fraction}{_interval(site, "clone_fraction")}</div>'


def _sites_section(sites: Sequence[Row], lists: Sequence[str]) -> str:
    if not sites:
        return "<section><h2>Integration sites</h2><p>No integration site was called.</p></section>"
    header = (
        "site",
        "orientation",
        "junctions left / right",
        "TSD",
        "junction fragments",
        "clonal fraction (95% interval)",
        "location",
        "nearest listed cancer gene, tier",
        "flags",
    )
    clonal = sum(1 for s in sites if is_clonal(s))
    multiple = len(sites) - _single_count(sites)
    ths = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(_site_row(s) for s in sites)
    used = "; ".join(lists) or "none named in the sites table"
    return (
        f"<section><h2>Integration sites (all {len(sites)}, largest first)</h2>"
        f"<p>{clonal} of {multiple} site(s) with two or more fragments are clonal and highlighted: the "
        "sites stage flags a site clonal when its cell fraction reaches the configured minimum (sites: "
        "clonal_min_fraction) and its 95% interval is consistent with every tumour cell carrying it. "
        f"{esc(single_text(sites))}</p>"
        f'<div class="figure"><table class="sites"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
        "<p class='note'>Site: chromosome and the first base of the target-site duplication (TSD). "
        "Orientation +: the vector's 5' end faces the lower coordinate. Junctions: last host base before "
        "the vector / first host base after it. Junction fragments: read pairs joining host and vector "
        "(split: a read crosses the junction; read pair: one mate in each); reference fragments cross "
        "the site without the vector and give the clonal fraction. Clone: the fraction pooled over all "
        "clonal sites (one clone). Location: the gene hit and its part, "
        "or the nearest gene and its distance for intergenic sites. Tier: distance from the site to the "
        "nearest gene body of the cancer-gene list (inside, ≤ 10 kb, ≤ 50 kb, ≤ 100 kb, none); "
        f"list{'s' if len(lists) > 1 else ''} used: {esc(used)}.</p></section>"
    )


def _census_section(census_tsv: str | Path | None) -> str:
    if census_tsv is None:
        return ""
    rows = read_tsv(census_tsv, CENSUS, "give the census table written by carvis.report.census")
    return f"<section><h2>Clone census</h2><p>{esc(census_text(rows[0]))}</p></section>" if rows else ""


def _qc_tables(inputs: list[dict[str, str]] | None, counts: list[dict[str, str]] | None) -> str:
    """The input files with size and SHA-256, and the reads counted at each step, or why they are absent."""
    parts = []
    if inputs is None:
        parts.append("<p>Input files: this run recorded no input checksums.</p>")
    else:
        rows = "".join(
            f"<tr><td>{esc(r['file'])}</td><td class='num'>{count(r['bytes'])}</td>"
            f"<td class='hash'>{esc(r['sha256'])}</td></tr>"
            for r in inputs
        )
        parts.append(
            "<h3>Input files</h3><div class='figure'><table><thead><tr><th>file</th><th>bytes</th>"
            f"<th>SHA-256</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
    if counts is None:
        parts.append("<p>Read counts: this run recorded no read counts.</p>")
        return "".join(parts)
    rows = "".join(
        f"<tr><td>{esc(_step_name(r))}</td><td class='num'>{count(r['reads'])}</td>"
        f"<td>{esc(STEPS.get(r['step'], r['step'].replace('_', ' ')))}</td></tr>"
        for r in counts
    )
    line = "; ".join(f"{_step_name(r)} {count(r['reads'])}" for r in counts)
    parts.append(
        f"<h3>Reads</h3><p>{esc(line)}</p><div class='figure'><table><thead><tr><th>step</th>"
        f"<th>reads</th><th>what it counts</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
    inputs_reads = {count(r["reads"]) for r in counts if r["step"] == "input"}
    if len(inputs_reads) > 1:
        parts.append(
            "<p><b>Warning: the input files hold different numbers of reads; for paired FASTQs this means "
            "a file is truncated or the files do not belong together.</b></p>"
        )
    return "".join(parts)


def _step_name(row: Row) -> str:
    if row.get("step") == "input":
        return f"reads in {Path(str(row.get('file'))).name}"
    return str(row.get("step")).replace("_", " ")


@dataclass(frozen=True)
class ReportInputs:
    """What one sample's report shows besides the run's settings.

    ``sites`` and ``transgene`` are the sample's tables; ``contigs_fai`` (the reference's .fai) draws the
    genome-wide site map; ``coverage_svg`` is an inline SVG of the vector coverage; ``masking`` is
    :func:`carvis.transgene.vector_coverage.homology_masking`; ``checksums`` and ``read_counts`` are the qc
    tables (INPUTS, READ_COUNTS), when written; ``census`` is the clone census (:mod:`carvis.sites.census`),
    shown in words under the sites; ``views_html`` is the per-site views section
    (:mod:`carvis.report.igv_page`), placed after it.
    """

    sites: str | Path
    transgene: str | Path
    contigs_fai: str | Path | None = None
    coverage_svg: str | None = None
    masking: tuple[int, int, Sequence[str]] | None = None
    checksums: str | Path | None = None
    read_counts: str | Path | None = None
    census: str | Path | None = None
    views_html: str | None = None


def render_sample_report(
    sample: str,
    inputs: ReportInputs,
    out_html: str | Path,
    meta: Mapping[str, object],
    purity: float | None = None,
) -> None:
    """Write the sample's self-contained HTML report.

    ``meta`` holds what the specimen and method section shows (:func:`carvis.report.provenance.run_metadata`);
    ``purity`` is the sample sheet's (None when unknown); it changes only the wording, the tables
    already carry the purity-corrected values.
    """
    transgene, site_rows = load_sample(sample, inputs.transgene, inputs.sites)
    verdict = decide(transgene, site_rows, purity)
    sites = ranked_sites(site_rows)
    vector = transgene.get("vector") or meta.get("vector")
    lists = gene_lists(sites)
    contigs = read_fai(inputs.contigs_fai) if inputs.contigs_fai else None
    qc = _qc_tables(read_qc(inputs.checksums, INPUTS), read_qc(inputs.read_counts, READ_COUNTS))
    body = (
        _header(sample, vector, purity, lists)
        + _verdict(verdict.kind, transgene, sites)
        + _interpretation(
            verdict.interpretation, verdict.rule, limitations(transgene, site_rows, purity, inputs.masking)
        )
        + _figures(sites, contigs, inputs.coverage_svg)
        + _sites_section(sites, lists)
        + _census_section(inputs.census)
        + (inputs.views_html or "")
        + _transgene_section(transgene, purity)
        + f"<section><h2>Specimen and method</h2>{kv_table(list(meta.items()))}{qc}</section>"
    )
    with atomic_write(out_html) as out:
        out.write(page(f"carvis report: {sample}", body))
