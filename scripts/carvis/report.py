"""A self-contained HTML report per sample: verdict, interpretation, plots, sites, transgene, method.

The report only formats: every number comes from the transgene and annotated sites tables, and
the verdict from :func:`carvis.summary.decide`, so the HTML and summary.tsv never disagree.
Everything is inline (CSS, SVG); nothing is loaded from elsewhere, so it reads offline.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from carvis import __version__
from carvis.export import read_fai
from carvis.io import atomic_write
from carvis.plots import (
    CLONAL_COLOUR,
    OTHER_COLOUR,
    clonal_bars,
    format_distance,
    gene_context,
    genome_map,
    is_clonal,
    site_name,
)
from carvis.summary import (
    CLONAL_FRACTION,
    Row,
    as_float,
    decide,
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

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:1.5em auto;
max-width:1180px;color:#1d1f23;line-height:1.45;padding:0 1.2em;font-size:15px}
h1{font-size:1.55em;margin:0 0 .15em 0}
h2{font-size:1.12em;margin:1.6em 0 .5em 0;padding-bottom:.2em;border-bottom:2px solid #e3e6ea}
.sub{color:#555;margin:0 0 1em 0}
.verdict{border-radius:8px;padding:1em 1.3em;margin:1em 0;border-left:10px solid}
.verdict .title{font-size:1.45em;font-weight:700;margin:0 0 .6em 0}
.v-car_derived{background:#fdecea;border-color:#b71c1c}.v-car_derived .title{color:#8e1515}
.v-car_t_present{background:#fff4e0;border-color:#e08a00}.v-car_t_present .title{color:#8a5200}
.v-not_detected{background:#e8f1fb;border-color:#1f5fa8}.v-not_detected .title{color:#174a85}
.v-indeterminate{background:#efefef;border-color:#666}.v-indeterminate .title{color:#333}
.tiles{display:flex;flex-wrap:wrap;gap:.7em}
.tile{background:#fff;border-radius:6px;padding:.5em .8em;min-width:12em;flex:1;border:1px solid #0001}
.tile .k{font-size:.78em;color:#555;text-transform:uppercase;letter-spacing:.03em}
.tile .v{font-size:1.25em;font-weight:700}
.tile .d{font-size:.85em;color:#444}
.grid2{display:grid;grid-template-columns:3fr 2fr;gap:1.5em}
.grid2>div>h2{margin-top:.6em}
.rule{font-size:.88em;color:#333;background:#f6f7f9;border:1px solid #e3e6ea;border-radius:4px;
padding:.45em .6em;font-family:ui-monospace,Menlo,Consolas,monospace}
ul.limits{padding-left:1.2em;margin:.3em 0;font-size:.92em}ul.limits li{margin-bottom:.35em}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0;width:100%}
th,td{border-bottom:1px solid #e3e6ea;padding:.35em .5em;text-align:left;vertical-align:top}
thead th{background:#f3f4f6;border-bottom:2px solid #c5cad1;font-size:.92em}
table.kv th{width:17em;background:#f8f9fa;font-weight:600}
tr.clonal td{background:#fdf1f0}
tr.clonal td:first-child{border-left:4px solid #b71c1c}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.nowrap{white-space:nowrap}
table.sites{font-size:.84em}
table.sites td:nth-child(7){min-width:13em}table.sites td:nth-child(8){min-width:11em}
.small{font-size:.85em;color:#555}
.note{color:#555;font-size:.88em}
.legend span{display:inline-block;margin-right:1.2em}
.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.3em;vertical-align:-.05em}
.figure{overflow-x:auto}
svg text{font-family:inherit;font-size:12px;fill:#1d1f23}
svg text.axis{font-size:11px;fill:#666}svg text.chrom{font-weight:600}svg text.mark{font-weight:700}
.tier-inside{color:#b71c1c;font-weight:700}.tier-10kb{color:#c2410c;font-weight:700}
.tier-50kb{color:#a16207;font-weight:600}
footer{margin-top:2em;color:#666;font-size:.82em;border-top:1px solid #e3e6ea;padding-top:.6em}
@media print{body{max-width:none}
.verdict,tr.clonal td{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
@media (max-width:800px){.grid2{grid-template-columns:1fr}}
"""


def esc(value: object) -> str:
    """HTML-escape a cell; missing values read NA."""
    return html.escape(text(value), quote=True)


def text(value: object) -> str:
    """A raw cell as text; missing values read NA (escape later)."""
    return "NA" if value is None or value == "" else str(value)


def _known_text(value: object) -> str:
    """The cell's text, or '' when missing."""
    return "" if value in (None, "", "NA") else str(value)


def kv_table(pairs: Sequence[tuple[str, object]]) -> str:
    """A two-column key/value table; nested mappings and lists render as nested tables and lists."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{_render_value(v)}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


def page(title: str, body: str) -> str:
    """A complete self-contained HTML document."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}"
        f"<footer>carvis {esc(__version__)}. This page only formats the pipeline's tables "
        "(integration_sites.tsv, transgene.tsv, summary.tsv); every figure can be traced to a row there. "
        "It loads nothing from the network.</footer></body></html>\n"
    )


def _render_value(value: object) -> str:
    if isinstance(value, Mapping):
        return kv_table(list(value.items())) if value else "NA"
    if isinstance(value, list | tuple):
        return "<ul>" + "".join(f"<li>{_render_value(v)}</li>" for v in value) + "</ul>" if value else "NA"
    return esc(value)


def _tile(key: str, value: object, detail: str = "") -> str:
    extra = f'<div class="d">{esc(detail)}</div>' if detail else ""
    return f'<div class="tile"><div class="k">{esc(key)}</div><div class="v">{esc(value)}</div>{extra}</div>'


def listed_text(site: Row) -> str:
    """'LMO2, 20.0 kb' for the nearest listed gene, or 'none on this contig'."""
    gene = site.get("nearest_listed_gene")
    if not gene or gene == "NA":
        return "none on this contig"
    return f"{gene}, {format_distance(site.get('distance_to_listed_gene'))}"


def _tiles(transgene: Row, sites: Sequence[Row]) -> str:
    clonal = [s for s in sites if is_clonal(s)]
    tiles = [
        _tile("CAR vector DNA", text(transgene.get("detected")), _known_text(transgene.get("reason"))),
        _tile(
            "VCN per tumour cell",
            text(transgene.get("vcn_per_tumour_cell")),
            f"per diploid genome {text(transgene.get('vcn'))}",
        ),
        _tile("Integration sites", len(sites), f"{len(clonal)} clonal (fraction ≥ {CLONAL_FRACTION:g})"),
    ]
    if sites:
        top = sites[0]
        tiles.append(
            _tile(
                "Largest site",
                site_name(top),
                f"{gene_context(top)}; clonal fraction {text(top.get('clonal_fraction'))}",
            )
        )
        tiles.append(
            _tile(
                "Nearest listed cancer gene",
                top.get("nearest_listed_gene"),
                f"{format_distance(top.get('distance_to_listed_gene'))} from the largest site; "
                f"tier {text(top.get('proximity_tier'))}",
            )
        )
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _header(sample: str, vector: object, purity: float | None, gene_list: object) -> str:
    purity_text = "unknown" if purity is None else f"{purity:g}"
    return (
        f"<h1>Vector integration report: {esc(sample)}</h1>"
        f'<p class="sub">CAR vector <b>{esc(vector)}</b> · tumour purity <b>{esc(purity_text)}</b> · '
        f"cancer-gene list {esc(gene_list)} · carvis {esc(__version__)}</p>"
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
        f'<span><i class="dot" style="background:{CLONAL_COLOUR}"></i>clonal site '
        f"(clonal fraction ≥ {CLONAL_FRACTION:g} or dominant), labelled with its gene</span>"
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
            "site (divided by purity when known). A tumour grown from one CAR T cell shows its sites "
            "near 1; infiltrating polyclonal CAR T cells give many sites near 0.</p></section>"
        )
    if coverage_svg:
        parts.append(
            "<section><h2>Vector coverage</h2>"
            f'<div class="figure">{coverage_svg}</div><p class="note">Read depth along the provirus; '
            "masked parts (copied from human genes) do not count for detection or VCN.</p></section>"
        )
    return "".join(parts)


def _transgene_section(row: Row, purity: float | None) -> str:
    pairs: list[tuple[str, object]] = [
        ("CAR vector DNA detected", row.get("detected")),
        ("reason", row.get("reason")),
        (
            "VCN, copies per diploid genome (interval)",
            f"{text(row.get('vcn'))} ({text(row.get('vcn_low'))} to {text(row.get('vcn_high'))})",
        ),
        ("VCN per tumour cell", row.get("vcn_per_tumour_cell")),
        ("tumour purity used", "unknown" if purity is None else purity),
        ("vector-unique footprint covered (fraction)", row.get("footprint_covered")),
        (
            "vector-unique footprint / masked (bp)",
            f"{text(row.get('footprint_bp'))} / {text(row.get('masked_bp'))}",
        ),
        (
            "mean depth: vector / autosomes",
            f"{text(row.get('vector_depth'))} / {text(row.get('autosomal_depth'))}",
        ),
        ("plasmid backbone depth", row.get("backbone_depth")),
        ("plasmid contamination", row.get("plasmid_contamination")),
    ]
    return f"<section><h2>Transgene panel (CAR vector DNA in the tumour)</h2>{kv_table(pairs)}</section>"


def _gene_orientation(site: Row) -> str:
    value = site.get("gene_orientation")
    return f"; {value} strand as the gene" if value in {"same", "opposite"} else ""


def _site_row(site: Row) -> str:
    tier = text(site.get("proximity_tier"))
    category = site.get("listed_gene_category")
    category_text = f'<div class="small">{esc(category)}</div>' if category and category != "NA" else ""
    cells = [
        f'<td class="nowrap"><b>{esc(site_name(site))}</b></td>',
        f"<td>{esc(site.get('orientation'))}</td>",
        f'<td class="nowrap">{esc(site.get("left_junction"))} / {esc(site.get("right_junction"))}</td>',
        f'<td class="nowrap">{esc(site.get("tsd"))} <span class="small">({esc(site.get("tsd_length"))} bp)'
        "</span></td>",
        f'<td class="num"><b>{esc(site.get("fragments"))}</b> <span class="small">'
        f"({esc(site.get('split_fragments'))} / {esc(site.get('discordant_fragments'))} / "
        f"{esc(site.get('spanning_fragments'))})</span></td>",
        f'<td class="num"><b>{esc(site.get("clonal_fraction"))}</b>{_interval(site, "clonal_fraction")}'
        f"{_clone(site)}</td>",
        f"<td>{esc(gene_context(site) + _gene_orientation(site))}</td>",
        f'<td>{esc(listed_text(site))} <span class="tier-{esc(tier)}">{esc(tier)}</span>{category_text}</td>',
        f"<td>{esc(site.get('flags') if site.get('flags') not in (None, '', 'NA') else 'none')}</td>",
    ]
    css = ' class="clonal"' if is_clonal(site) else ""
    return f"<tr{css}>{''.join(cells)}</tr>"


def _interval(site: Row, column: str) -> str:
    """' (low-high)' of a column's 95% interval, or '' when unknown."""
    low, high = site.get(f"{column}_low"), site.get(f"{column}_high")
    if low in (None, "", "NA") or high in (None, "", "NA"):
        return ""
    return f' <span class="small nowrap">({esc(low)}–{esc(high)})</span>'


def _clone(site: Row) -> str:
    """The pooled clone-level fraction of a clonal site, as a small second line."""
    if site.get("clone_fraction") in (None, "", "NA"):
        return ""
    fraction = esc(site.get("clone_fraction"))
    return f'<div class="small">clone {fraction}{_interval(site, "clone_fraction")}</div>'


def _sites_section(sites: Sequence[Row], gene_list: object) -> str:
    if not sites:
        return "<section><h2>Integration sites</h2><p>No integration site was called.</p></section>"
    header = (
        "site",
        "orientation",
        "junctions left / right",
        "TSD",
        "fragments (split / disc. / spanning)",
        "clonal fraction (95% interval; clone: pooled over the clonal sites)",
        "location",
        "nearest listed gene, tier",
        "flags",
    )
    clonal = sum(1 for s in sites if is_clonal(s))
    ths = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(_site_row(s) for s in sites)
    return (
        f"<section><h2>Integration sites (all {len(sites)}, largest first)</h2>"
        f"<p>{clonal} of {len(sites)} site(s) are clonal (clonal fraction ≥ {CLONAL_FRACTION:g} or "
        "dominant) and highlighted.</p>"
        f'<div class="figure"><table class="sites"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
        "<p class='note'>Site: chromosome and the first base of the target-site duplication (TSD). "
        "Orientation +: the vector's 5' end faces the lower coordinate. Junctions: last host base before "
        "the vector / first host base after it (NA when unseen). Location: the gene hit and its part, or "
        "the nearest gene and its distance for intergenic sites. Tier: distance from the site to the "
        "nearest gene body of the cancer-gene list (inside, ≤ 10 kb, ≤ 50 kb, ≤ 100 kb, none); list "
        f"used: {esc(gene_list)}.</p></section>"
    )


def render_sample_report(
    sample: str,
    sites_tsv: str | Path,
    transgene_tsv: str | Path,
    out_html: str | Path,
    meta: Mapping[str, object],
    *,
    contigs_fai: str | Path | None = None,
    coverage_svg: str | None = None,
) -> None:
    """Write the sample's self-contained HTML report.

    ``meta`` holds what the specimen and method section shows (purity, vector, reference, tool
    versions, input checksums, thresholds); ``meta['purity']`` (a number, or None/NA when unknown)
    also feeds the verdict. ``contigs_fai`` (the reference's .fai) draws the genome-wide site map;
    ``coverage_svg`` is an inline SVG of the vector coverage, shown when given.
    """
    transgene, site_rows = load_sample(sample, transgene_tsv, sites_tsv)
    purity = as_float(meta.get("purity"))
    verdict = decide(transgene, site_rows, purity)
    sites = ranked_sites(site_rows)
    vector = meta.get("vector") or transgene.get("vector")
    gene_list = next((s.get("gene_list") for s in sites if s.get("gene_list") not in (None, "NA")), None)
    contigs = read_fai(contigs_fai) if contigs_fai else None
    body = (
        _header(sample, vector, purity, gene_list)
        + _verdict(verdict.kind, transgene, sites)
        + _interpretation(verdict.interpretation, verdict.rule, limitations(transgene, site_rows, purity))
        + _figures(sites, contigs, coverage_svg)
        + _sites_section(sites, gene_list)
        + _transgene_section(transgene, purity)
        + f"<section><h2>Specimen and method</h2>{kv_table(list(meta.items()))}</section>"
    )
    with atomic_write(out_html) as out:
        out.write(page(f"carvis report: {sample}", body))
