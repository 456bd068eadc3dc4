"""A self-contained HTML report per sample: verdict, transgene, integration sites, method, limits.

The report only formats: every number comes from the transgene and annotated sites tables, and
the verdict from :func:`carvis.summary.decide`, so the HTML and summary.tsv never disagree.
Everything is inline (CSS, SVG); nothing is loaded from elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from carvis import __version__
from carvis.io import atomic_write
from carvis.summary import (
    CLONAL_FRACTION,
    Row,
    as_float,
    clonal_fraction,
    decide,
    limitations,
    load_sample,
    ranked_sites,
)

#: Sites drawn in the bar plot (the table lists every site).
MAX_PLOTTED = 40

_VERDICT_TITLES = {
    "car_derived": "CAR-derived clonal tumour",
    "car_t_present": "CAR T cells present, tumour not shown to be CAR-derived",
    "not_detected": "Transgene not detected",
    "indeterminate": "Indeterminate",
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em}
.sub{color:#555;margin-top:0}
.verdict{border-radius:6px;padding:1em 1.2em;margin:1em 0;border-left:8px solid}
.verdict h2{border:none;margin:0 0 .3em 0;font-size:1.3em}
.verdict .rule{font-size:.9em;color:#333;margin-bottom:0}
.v-car_derived{background:#fdecea;border-color:#b71c1c}
.v-car_t_present{background:#fff4e0;border-color:#e08a00}
.v-not_detected{background:#e8f1fb;border-color:#1f5fa8}
.v-indeterminate{background:#eeeeee;border-color:#666}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
table.kv th{width:16em}
tr.clonal td{background:#fdecea;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:.9em}
svg text{font-family:inherit;font-size:11px}
@media print{.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _e(value: object) -> str:
    """HTML-escape a cell; missing values read NA."""
    return html.escape("NA" if value is None or value == "" else str(value), quote=True)


def _is_clonal(site: Row) -> bool:
    return (clonal_fraction(site) or 0.0) >= CLONAL_FRACTION or str(site.get("dominant", "")).lower() == "yes"


def _kv_table(pairs: Sequence[tuple[str, object]]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


def _verdict_section(kind: str, interpretation: str, rule: str) -> str:
    return (
        f'<section class="verdict v-{_e(kind)}"><h2>Verdict: {_e(_VERDICT_TITLES[kind])}</h2>'
        f"<p>{_e(interpretation)}</p><p class='rule'>Rule applied: {_e(rule)}</p></section>"
    )


def _v(value: object) -> str:
    """A raw cell as text; missing values read NA (escape later)."""
    return "NA" if value is None or value == "" else str(value)


def _transgene_section(row: Row, purity: object) -> str:
    pairs: list[tuple[str, object]] = [
        ("CAR vector DNA detected", row.get("detected")),
        (
            "VCN, copies per diploid genome (interval)",
            f"{_v(row.get('vcn'))} ({_v(row.get('vcn_low'))} to {_v(row.get('vcn_high'))})",
        ),
        ("VCN per tumour cell", row.get("vcn_per_tumour_cell")),
        ("tumour purity used", purity),
        ("vector-unique footprint covered (fraction)", row.get("footprint_covered")),
        (
            "vector-unique footprint / masked (bp)",
            f"{_v(row.get('footprint_bp'))} / {_v(row.get('masked_bp'))}",
        ),
        (
            "mean depth: vector / autosomes",
            f"{_v(row.get('vector_depth'))} / {_v(row.get('autosomal_depth'))}",
        ),
        ("plasmid backbone depth", row.get("backbone_depth")),
        ("plasmid contamination", row.get("plasmid_contamination")),
        ("reason", row.get("reason")),
    ]
    return f"<section><h2>Transgene (CAR vector DNA in the tumour)</h2>{_kv_table(pairs)}</section>"


def _listed(site: Row) -> str:
    gene = site.get("nearest_listed_gene")
    if not gene or gene == "NA":
        return "NA"
    return f"{gene} ({_v(site.get('distance_to_listed_gene'))} bp; {_v(site.get('listed_gene_category'))})"


def _site_row(site: Row) -> str:
    cells = [
        site.get("chrom"),
        site.get("position"),
        site.get("orientation"),
        f"{_v(site.get('left_junction'))} / {_v(site.get('right_junction'))}",
        f"{_v(site.get('tsd'))} ({_v(site.get('tsd_length'))} bp)",
        f"{_v(site.get('fragments'))} ({_v(site.get('split_fragments'))} / "
        f"{_v(site.get('discordant_fragments'))} / {_v(site.get('spanning_fragments'))})",
        site.get("clonal_fraction"),
        site.get("dominant"),
        site.get("gene"),
        site.get("region"),
        _listed(site),
        site.get("proximity_tier"),
        site.get("flags"),
    ]
    numeric = {1, 6}
    tds = "".join(
        f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>" for i, c in enumerate(cells)
    )
    css = ' class="clonal"' if _is_clonal(site) else ""
    return f"<tr{css}>{tds}</tr>"


def _bar_plot(sites: Sequence[Row]) -> str:
    """Inline SVG: one horizontal bar per site's clonal fraction, the clonal threshold dashed."""
    plotted = [s for s in sites if clonal_fraction(s) is not None][:MAX_PLOTTED]
    if not plotted:
        return ""
    label_w, plot_w, bar_h, top = 260, 420, 16, 24
    height = top + len(plotted) * (bar_h + 4) + 10
    parts = [
        f'<svg role="img" aria-label="clonal fraction per integration site" width="{label_w + plot_w + 60}" '
        f'height="{height}" viewBox="0 0 {label_w + plot_w + 60} {height}">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + tick * plot_w
        dash = ' stroke-dasharray="4 3" stroke="#b71c1c"' if tick == CLONAL_FRACTION else ' stroke="#ddd"'
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 6}"{dash}/>')
        parts.append(f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle">{tick:g}</text>')
    for i, site in enumerate(plotted):
        fraction = min(max(clonal_fraction(site) or 0.0, 0.0), 1.0)
        y = top + i * (bar_h + 4)
        colour = "#b71c1c" if _is_clonal(site) else "#4a7fb5"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 4}" text-anchor="end">{_e(_plot_label(site))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{fraction * plot_w:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<text x="{label_w + fraction * plot_w + 4:.1f}" y="{y + bar_h - 4}">'
            f"{_e(site.get('clonal_fraction'))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _plot_label(site: Row) -> str:
    gene = site.get("gene")
    label = f"{_v(site.get('chrom'))}:{_v(site.get('position'))}"
    return f"{label} {gene}" if gene and gene != "NA" else label


def _sites_section(sites: Sequence[Row]) -> str:
    if not sites:
        return "<section><h2>Integration sites</h2><p>No integration site was called.</p></section>"
    header = (
        "chromosome",
        "position",
        "orientation",
        "junctions left / right",
        "TSD",
        "fragments (split / discordant / spanning)",
        "clonal fraction",
        "dominant",
        "gene",
        "region",
        "nearest listed gene (distance; category)",
        "proximity tier",
        "flags",
    )
    clonal = sum(1 for s in sites if _is_clonal(s))
    ths = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(_site_row(s) for s in sites)
    return (
        f"<section><h2>Integration sites</h2><p>{len(sites)} site(s); {clonal} highlighted as clonal "
        f"(clonal fraction &ge; {CLONAL_FRACTION:g}) or dominant.</p>"
        f"{_bar_plot(sites)}<table><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>"
        "<p class='note'>Clonal fraction: fraction of tumour cells carrying the site (divided by purity "
        "when known). Gene: the gene hit, or the nearest gene for intergenic sites. Proximity tier: "
        "distance from the site to the nearest gene of the cancer-gene list.</p></section>"
    )


def _render_value(value: object) -> str:
    if isinstance(value, Mapping):
        if not value:
            return "NA"
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_render_value(v)}</td></tr>" for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, list | tuple):
        return "<ul>" + "".join(f"<li>{_render_value(v)}</li>" for v in value) + "</ul>" if value else "NA"
    return _e(value)


def _method_section(meta: Mapping[str, object]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_render_value(v)}</td></tr>" for k, v in meta.items())
    return f'<section><h2>Method</h2><table class="kv">{rows}</table></section>'


def render_sample_report(
    sample: str,
    sites_tsv: str | Path,
    transgene_tsv: str | Path,
    out_html: str | Path,
    meta: Mapping[str, object],
) -> None:
    """Write the sample's self-contained HTML report.

    ``meta`` holds what the method section shows, e.g. purity, vector, reference paths, tool
    versions, input checksums and config thresholds; ``meta['purity']`` (a number, or None/NA when
    unknown) also feeds the verdict.
    """
    transgene, site_rows = load_sample(sample, transgene_tsv, sites_tsv)
    purity = as_float(meta.get("purity"))
    verdict = decide(transgene, site_rows, purity)
    sites = ranked_sites(site_rows)
    vector = meta.get("vector") or transgene.get("vector")
    limits = "".join(f"<li>{_e(item)}</li>" for item in limitations(transgene, site_rows, purity))
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>carvis report: {_e(sample)}</title><style>{_CSS}</style></head><body>"
        f"<h1>carvis report: sample {_e(sample)}</h1>"
        f'<p class="sub">CAR vector {_e(vector)}; tumour purity {_e(purity)}; carvis {_e(__version__)}</p>'
        f"{_verdict_section(verdict.kind, verdict.interpretation, verdict.rule)}"
        f"{_transgene_section(transgene, purity)}"
        f"{_sites_section(sites)}"
        f"<section><h2>Limitations</h2><ul>{limits}</ul></section>"
        f"{_method_section(meta)}"
        "</body></html>\n"
    )
    with atomic_write(out_html) as out:
        out.write(document)
