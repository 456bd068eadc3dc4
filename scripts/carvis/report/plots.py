"""Inline SVG figures for the reports: a genome-wide site map and clonal-fraction bars.

Each function returns an ``<svg>`` string (empty when there is nothing to draw); colours, sizes
and fonts are inline so the HTML stays self-contained. Hovering a mark shows its details.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

from carvis.reference.vectors import contig_owner
from carvis.report.summary import Row, clonal_fraction, is_clonal, known

#: Sites drawn in the bar plot (the table lists every site).
MAX_BARS = 40
#: Contigs shorter than this fraction of the longest are drawn only when they hold a site.
MIN_CONTIG_FRACTION = 0.02
CLONAL_COLOUR = "#b71c1c"
OTHER_COLOUR = "#3d6fa8"


#: Natural width (px) of every figure: the report's text column, so that fonts keep their size.
FIGURE_WIDTH = 1140


def _t(value: object) -> str:
    return str(value) if known(value) else "unknown"


def _e(value: object) -> str:
    return html.escape(_t(value), quote=True)


def svg_tag(css_class: str, label: str, width: int, height: int) -> str:
    """An opening ``<svg>`` that fills the width of its container and scales its height with it."""
    return (
        f'<svg class="{css_class}" role="img" aria-label="{html.escape(label, quote=True)}" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'style="width:100%;height:auto;min-width:{width * 4 // 5}px">'
    )


def gene_context(site: Row) -> str:
    """Where the site lies in words: 'intron of SSU72', 'intergenic, 20 kb from LMO2'."""
    gene, region = site.get("gene"), site.get("region")
    if region == "no_annotation":
        return "no annotation for this contig"
    if not known(gene):
        return "no annotated gene on this contig" if known(region) else "position unknown"
    distance = site.get("distance_to_gene")
    if region == "intergenic" or (known(distance) and distance != "0"):
        return f"intergenic, {format_distance(distance)} from {gene}"
    return f"{region} of {gene}" if known(region) else str(gene)


def format_distance(value: object) -> str:
    """A distance in bp as '0 bp', '850 bp', '20.0 kb', '1.25 Mb' ('unknown distance' when missing)."""
    try:
        bp = int(str(value))
    except ValueError:
        return "unknown distance"
    if bp < 1000:
        return f"{bp} bp"
    if bp < 1_000_000:
        return f"{bp / 1000:.1f} kb"
    return f"{bp / 1e6:.2f} Mb"


def site_name(site: Row) -> str:
    """``chrom:position`` with thousands separators."""
    position = site.get("position")
    try:
        return f"{site.get('chrom')}:{int(str(position)):,}"
    except ValueError:
        return f"{site.get('chrom')}:{position}"


def _tooltip(site: Row) -> str:
    return (
        f"{site_name(site)} ({_t(site.get('orientation'))}) {gene_context(site)}; "
        f"clonal fraction {_t(site.get('clonal_fraction'))}; fragments {_t(site.get('fragments'))}"
    )


def drawn_contigs(contigs: Mapping[str, int], sites: Sequence[Row]) -> dict[str, int]:
    """Host contigs to draw: no vector contigs; short ones (unplaced, chrM) only when they hold a site."""
    host = {c: n for c, n in contigs.items() if contig_owner(c) is None and n > 0}
    if not host:
        return {}
    longest = max(host.values())
    with_sites = {s.get("chrom") for s in sites}
    return {c: n for c, n in host.items() if n >= MIN_CONTIG_FRACTION * longest or c in with_sites}


def genome_map(
    contigs: Mapping[str, int],
    sites: Sequence[Row],
    colour: Callable[[Row], str] | None = None,
    label: Callable[[Row], str | None] | None = None,
) -> str:
    """One bar per chromosome (to scale) with a mark per site; clonal sites red, taller and labelled.

    ``colour`` and ``label`` override the mark colour and the text beside it (cohort view).
    """
    drawn = drawn_contigs(contigs, sites)
    if not drawn:
        return ""
    colour = colour or (lambda s: CLONAL_COLOUR if is_clonal(s) else OTHER_COLOUR)
    label = label or (lambda s: _gene_label(s) if is_clonal(s) else None)
    name_w, row_h, top, width = 70, 44, 8, FIGURE_WIDTH
    plot_w = width - name_w - 20
    longest = max(drawn.values())
    height = top + row_h * len(drawn) + 22
    parts = [svg_tag("genome-map", "integration sites along the genome", width, height)]
    by_chrom: dict[str, list[Row]] = {}
    for site in sites:
        by_chrom.setdefault(str(site.get("chrom")), []).append(site)
    for i, (chrom, length) in enumerate(drawn.items()):
        y = top + i * row_h + 18
        bar_w = max(plot_w * length / longest, 2.0)
        parts.append(
            f'<text x="{name_w - 8}" y="{y + 4}" text-anchor="end" class="chrom">{_e(chrom)}</text>'
            f'<rect x="{name_w}" y="{y - 3}" width="{bar_w:.1f}" height="7" rx="3.5" fill="#e3e6ea" '
            f'stroke="#c5cad1"><title>{_e(chrom)}: {length:,} bp</title></rect>'
        )
        placed = sorted(by_chrom.get(chrom, []), key=lambda s: (is_clonal(s), _pos(s)))  # clonal on top
        label_end = [0.0, 0.0]
        for site in placed:
            if (pos := _pos(site)) < 0:
                continue
            x = name_w + plot_w * min(pos, length) / longest
            tall = is_clonal(site)
            y0 = y - (14 if tall else 8)
            parts.append(
                f'<g><title>{_e(_tooltip(site))}</title><line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" '
                f'y2="{y + 6}" stroke="{colour(site)}" stroke-width="{3 if tall else 1.5}"/>'
                f'<circle cx="{x:.1f}" cy="{y0}" r="{4 if tall else 2.5}" fill="{colour(site)}"/></g>'
            )
            if (text := label(site)) is not None:
                # above the bar, else below it when the previous label above would overlap
                below = x < label_end[0]
                ty = y + 20 if below else y0 + 1
                label_end[1 if below else 0] = x + 6 + 7.2 * len(text)
                parts.append(
                    f'<text x="{x + 6:.1f}" y="{ty}" class="mark" fill="{colour(site)}">{_e(text)}</text>'
                )
    axis_y = top + row_h * len(drawn) + 12
    parts.append(
        f'<text x="{name_w}" y="{axis_y}" class="axis">0</text>'
        f'<text x="{name_w + plot_w}" y="{axis_y}" text-anchor="end" class="axis">'
        f"{_e(format_distance(longest))}</text></svg>"
    )
    return "".join(parts)


def _pos(site: Row) -> int:
    """The site's position, or -1 when unknown."""
    position = str(site.get("position"))
    return int(position) if position.isdigit() else -1


def _gene_label(site: Row) -> str:
    gene = site.get("gene")
    return str(gene) if known(gene) else site_name(site)


def _bar_label(site: Row) -> str:
    gene = site.get("gene")
    return f"{site_name(site)} {gene}" if known(gene) else site_name(site)


def shorten(label: str, chars: int) -> str:
    """``label`` cut to ``chars`` characters with an ellipsis (SVG text does not wrap)."""
    return label if len(label) <= chars else label[: chars - 1] + "…"


def clonal_bars(sites: Sequence[Row]) -> str:
    """One horizontal bar per site's clonal fraction (largest first), clonal sites (as the sites stage
    flagged them) in red; labels longer than the label column are shortened (the tooltip has them)."""
    plotted = [s for s in sites if clonal_fraction(s) is not None][:MAX_BARS]
    if not plotted:
        return ""
    label_w, bar_h, top, width = 340, 18, 26, FIGURE_WIDTH
    plot_w = width - label_w - 60
    height = top + len(plotted) * (bar_h + 6) + 10
    parts = [svg_tag("bars", "clonal fraction per integration site", width, height)]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + tick * plot_w
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 6}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle" class="axis">{tick:g}</text>'
        )
    for i, site in enumerate(plotted):
        fraction = min(max(clonal_fraction(site) or 0.0, 0.0), 1.0)
        y = top + i * (bar_h + 6)
        fill = CLONAL_COLOUR if is_clonal(site) else OTHER_COLOUR
        parts.append(
            f"<g><title>{_e(_tooltip(site))}</title>"
            f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end">'
            f"{_e(shorten(_bar_label(site), (label_w - 12) // 7))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{max(fraction * plot_w, 1.0):.1f}" height="{bar_h}" '
            f'rx="2" fill="{fill}"/>'
            f'<text x="{label_w + fraction * plot_w + 5:.1f}" y="{y + bar_h - 5}">'
            f"{fraction:.2f}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
