"""The provirus structure figure of long-read reports: per site, the host flanks, the provirus with its
LTRs, and the provirus parts of each read that crosses both junctions (gaps: internal deletions; a
read whose provirus starts again: a tandem)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape

from carvis.reference.vectors import VectorModel
from carvis.report.plots import FIGURE_WIDTH, svg_tag

#: Sites drawn (most reads first) and reads drawn per site.
MAX_SITES = 6
MAX_READS = 8
_SITE_COLUMNS = ("chrom", "position", "orientation", "structure", "structure_counts")
_NO_SITE = {"partial", "vector_only", "two_ltr_circle"}


def _parts(text: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in (p.split("-") for p in text.split(",") if p)]


def structure_svg(
    sites: Sequence[Mapping[str, str]], reads: Sequence[Mapping[str, str]], model: VectorModel
) -> str | None:
    """An inline SVG of the structure of each site (rows of the site structure table) drawn from its
    reads (rows of the read structure table); None without a site."""
    if not sites:
        return None
    by_site: dict[tuple[str, str], list[Mapping[str, str]]] = defaultdict(list)
    for r in reads:
        if r["structure"] not in _NO_SITE and r["chrom"] != "NA":
            key = r["right_junction"] if r["right_junction"] != "NA" else r["left_junction"]
            by_site[(r["chrom"], key)].append(r)
    shown = sorted(sites, key=lambda s: -int(s["reads"]))[:MAX_SITES]
    width, left, flank, row = FIGURE_WIDTH, 40, 50, 9
    n = len(model.provirus)
    scale = (width - 2 * left - 2 * flank) / n
    x0 = left + flank
    y, body = 8, []
    for site in shown:
        mine = [r for (c, p), rs in by_site.items() for r in rs if c == site["chrom"] and _near(p, site)]
        label = (
            f"{site['chrom']}:{site['position']} ({site['orientation']}) "
            f"{site['structure'] if site['structure'] != 'NA' else 'structure not seen'}"
            f"{' - ' + site['structure_counts'] if site['structure_counts'] != 'NA' else ''}"
        )
        body.append(f'<text x="{left}" y="{y + 10}" font-size="11">{escape(label)}</text>')
        y += 16
        body.append(f'<line x1="{left}" y1="{y + 5}" x2="{x0}" y2="{y + 5}" stroke="#555" stroke-width="3"/>')
        body.append(
            f'<line x1="{x0 + n * scale}" y1="{y + 5}" x2="{x0 + n * scale + flank}" y2="{y + 5}" '
            'stroke="#555" stroke-width="3"/>'
        )
        body.append(f'<rect x="{x0}" y="{y}" width="{n * scale:.1f}" height="10" fill="#9ecae1"/>')
        for start, end in model.ltr_ranges():
            body.append(
                f'<rect x="{x0 + (start - 1) * scale:.1f}" y="{y}" width="{(end - start + 1) * scale:.1f}" '
                'height="10" fill="#e6d3a3"><title>LTR</title></rect>'
            )
        y += 14
        for r in mine[:MAX_READS]:
            parts = _parts(r["vector_parts"])
            for i, (start, end) in enumerate(parts):
                colour = "#de2d26" if i and start < parts[i - 1][1] else "#3182bd"  # red: starts again
                x, w = x0 + (start - 1) * scale, (end - start + 1) * scale
                tip = f"{escape(r['read'])}: {escape(r['structure'])} {start}-{end}"
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 3}" fill="{colour}">'
                    f"<title>{tip}</title></rect>"
                )
            y += row
        y += 8
    head = svg_tag("structure", f"provirus structure per site from long reads ({model.name})", width, y)
    return head + "".join(body) + "</svg>"


def _near(position: str, site: Mapping[str, str], window: int = 50) -> bool:
    return position != "NA" and abs(int(position) - int(site["position"])) <= window
