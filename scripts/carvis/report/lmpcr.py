"""The report of an LM-PCR sample: abundance per site in place of VCN and clonal fraction (issue 16).

It formats the annotated sites table, the abundance table (:data:`carvis.core.tables.ABUNDANCE`), the
transgene row (whose ``reason`` says why VCN is not measured) and the read accounting; it decides
only which site is the most abundant and whether it reaches the dominance threshold the sites stage
already flagged (``dominant``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from carvis.core.io import atomic_write, read_tsv
from carvis.core.tables import ABUNDANCE
from carvis.report.export import read_fai
from carvis.report.page import count, esc, flags_text, kv_table, page
from carvis.report.plots import CLONAL_COLOUR, OTHER_COLOUR, genome_map
from carvis.report.summary import as_float, site_label


def _number(value: object, digits: int = 3) -> str:
    number = as_float(value)
    if number is None:
        return "not estimated"
    if number == float("inf"):
        return "unbounded (shear points saturated)"
    return f"{number:.{digits}g}"


def _percent(value: object) -> str:
    number = as_float(value)
    return "not estimated" if number is None else f"{100 * number:.1f}%"


def _verdict(
    sites: list[dict[str, str]], abundance: list[dict[str, str]], transgene: Mapping[str, str]
) -> str:
    if not sites:
        return (
            '<div class="verdict v-not_detected"><div class="title">No integration site amplified</div>'
            f"<p>{esc(transgene.get('reason'))}</p></div>"
        )
    top = max(range(len(sites)), key=lambda i: as_float(abundance[i]["relative_abundance"]) or 0.0)
    site, row = sites[top], abundance[top]
    dominant = site.get("dominant") == "yes"
    title = "One dominant integration site" if dominant else "Polyclonal integration-site profile"
    kind = "v-car_derived" if dominant else "v-car_t_present"
    text = (
        f"{len(sites)} integration sites. The most abundant, {esc(site_label(site))}, holds "
        f"<b>{_percent(row['relative_abundance'])}</b> of the sampled vector copies (estimated cells "
        f"{_number(row['estimated_cells'])}, 95% interval {_number(row['estimated_cells_low'])}"
        f"–{_number(row['estimated_cells_high'])}; estimator: {esc(row['estimator'])})."
    )
    return (
        f'<div class="verdict {kind}"><div class="title">{title}</div><p>{text}</p>'
        f"<p>Not measured by LM-PCR: {esc(row['not_measured'])}. {esc(transgene.get('reason'))}.</p></div>"
    )


def _sites_table(sites: list[dict[str, str]], abundance: list[dict[str, str]]) -> str:
    head = (
        "<tr><th>site</th><th>gene, region</th><th>cancer-gene proximity</th><th>LTR ends</th>"
        "<th>TSD</th><th>reads</th><th>shear points</th><th>UMIs</th><th>estimated cells (95% interval)</th>"
        "<th>relative abundance</th><th>flags</th></tr>"
    )
    order = sorted(range(len(sites)), key=lambda i: -(as_float(abundance[i]["relative_abundance"]) or 0.0))
    rows = []
    for i in order:
        s, a = sites[i], abundance[i]
        flags = [f for f in flags_text(s) if f != "lmpcr"]
        rows.append(
            f"<tr><td>{esc(s['chrom'])}:{esc(s['position'])} ({esc(s['orientation'])})</td>"
            f"<td>{esc(s.get('gene'), 'intergenic')}, {esc(s.get('region'))}</td>"
            f"<td>{esc(s.get('proximity_tier'))} {esc(s.get('nearest_listed_gene'), '')}</td>"
            f"<td>{esc(a['ltr_ends'])}</td><td>{esc(s.get('tsd'), 'one junction seen')}</td>"
            f"<td>{count(a['reads'])}</td><td>{count(a['shear_points'])}</td>"
            f"<td>{count(a['umis'], 'no UMI')}</td>"
            f"<td>{_number(a['estimated_cells'])} ({_number(a['estimated_cells_low'])}–"
            f"{_number(a['estimated_cells_high'])})</td><td>{_percent(a['relative_abundance'])}</td>"
            f"<td>{esc(', '.join(flags) or 'none')}</td></tr>"
        )
    return f"<section><h2>Integration sites by abundance</h2><table>{head}{''.join(rows)}</table></section>"


def _lists(sites: list[dict[str, str]]) -> str:
    return ", ".join(sorted({str(x.get("gene_list")) for x in sites})) or "none (no site)"


def _map(sites: list[dict[str, str]], fai: str | Path | None) -> str:
    if not fai or not sites:
        return ""
    svg = genome_map(
        read_fai(fai),
        sites,
        colour=lambda s: CLONAL_COLOUR if s.get("dominant") == "yes" else OTHER_COLOUR,
        label=lambda s: site_label(s) if s.get("dominant") == "yes" else None,
    )
    return f"<section><h2>Sites along the genome (dominant site red)</h2>{svg}</section>"


def render_lmpcr_report(
    sample: str,
    tables: Mapping[str, str | Path],
    out_html: str | Path,
    meta: Mapping[str, object],
) -> None:
    """Write the LM-PCR report. ``tables``: sites (annotated), abundance, transgene, read_counts, and
    optionally fai (the reference's index: a genome map of the sites, the dominant one red)."""
    sites = read_tsv(tables["sites"])
    by_site = {
        (a["chrom"], a["position"], a["orientation"]): a for a in read_tsv(tables["abundance"], ABUNDANCE)
    }
    abundance = [by_site[(s["chrom"], s["position"], s["orientation"])] for s in sites]
    transgene = read_tsv(tables["transgene"])[0]
    counts = read_tsv(tables["read_counts"])
    accounting = "".join(f"<tr><th>{esc(r['step'])}</th><td>{count(r['reads'])}</td></tr>" for r in counts)
    body = (
        f"<h1>carvis report: {esc(sample)}</h1><p class='sub'>vector {esc(transgene.get('vector'))}; "
        "assay LM-PCR (LTR-primed PCR of the vector-host junctions)</p>"
        + _verdict(sites, abundance, transgene)
        + _map(sites, tables.get("fai"))
        + _sites_table(sites, abundance)
        + f"<p>Cancer-gene lists: {esc(_lists(sites))}</p>"
        + "<section><h2>How abundance is counted</h2><p>PCR copies each ligated molecule many times, so "
        "reads do not count cells. Each molecule is told apart by its UMI (when the linker carries one) or "
        "by its shear point; distinct shear points saturate in large clones and are corrected for it "
        "(sonicLength-style). Relative abundance is among the vector copies the assay sampled, not among "
        "all cells of the specimen.</p></section>"
        + f"<section><h2>Reads</h2><table class='kv'>{accounting}</table></section>"
        + f"<section><h2>Specimen and method</h2>{kv_table(list(meta.items()))}</section>"
    )
    with atomic_write(out_html) as out:
        out.write(page(f"carvis report: {sample}", body))
