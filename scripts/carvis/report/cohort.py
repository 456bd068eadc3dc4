"""Cohort view: every sample's sites together, common integration sites (CIS) and recurrent genes.

Common integration sites follow the criteria of the gene-therapy literature (Bushman and
colleagues): a cluster of sites, pooled over all samples, is a CIS when it holds 2 sites within
30 kb, 3 within 50 kb or 4 within 100 kb (the span from the first to the last site). Windows of
consecutive sites that meet a criterion and share a site merge into one CIS. A recurrent gene is
a gene (hit, or nearest for intergenic sites: the ``gene`` column) with sites in at least two
samples. ``cohort_sites.tsv`` holds one row per site with its CIS and gene recurrence, and the
cohort page formats it with summary.tsv.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carvis.core.io import atomic_write, read_tsv, write_tsv
from carvis.core.tables import ANNOTATION, SITES, SUMMARY
from carvis.report.export import read_fai
from carvis.report.html import gene_lists
from carvis.report.page import esc, kv_table, page, text
from carvis.report.plots import CLONAL_COLOUR, OTHER_COLOUR, genome_map, is_clonal
from carvis.report.summary import Row

#: (sites, largest span in bp) criteria for a common integration site.
CIS_CRITERIA: tuple[tuple[int, int], ...] = ((2, 30_000), (3, 50_000), (4, 100_000))

#: Columns of cohort_sites.tsv: the site, its annotation, then its CIS and gene recurrence.
COHORT_SITES = (
    "sample",
    "vector",
    "chrom",
    "position",
    "orientation",
    "fragments",
    "clonal_fraction",
    "gene",
    "region",
    "distance_to_gene",
    "nearest_listed_gene",
    "distance_to_listed_gene",
    "listed_gene_category",
    "proximity_tier",
    "cis",  # chrom:start-end of the common integration site holding this site, or NA
    "cis_sites",
    "cis_samples",
    "cis_criteria",  # criteria met, e.g. '2 within 30 kb; 3 within 50 kb'
    "gene_samples",  # samples with a site in (or nearest to) this site's gene(s)
)


@dataclass(frozen=True)
class Cis:
    """A common integration site: its span and the indexes of its sites in the pooled list."""

    chrom: str
    start: int
    end: int
    members: tuple[int, ...]
    criteria: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.chrom}:{self.start}-{self.end}"


def _criterion_text(count: int, span: int) -> str:
    return f"{count} within {span // 1000} kb"


def common_integration_sites(sites: Sequence[tuple[str, int]]) -> list[Cis]:
    """CIS among pooled (chrom, position) sites, in input-contig then position order."""
    by_chrom: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for index, (chrom, position) in enumerate(sites):
        by_chrom[chrom].append((position, index))
    out = []
    for chrom, located in by_chrom.items():
        located.sort()
        windows: list[tuple[int, int, str]] = []  # first and last rank of a qualifying window
        for count, span in CIS_CRITERIA:
            for first in range(len(located) - count + 1):
                last = first + count - 1
                if located[last][0] - located[first][0] <= span:
                    windows.append((first, last, _criterion_text(count, span)))
        for first, last, criteria in _merge_windows(windows):
            members = tuple(located[r][1] for r in range(first, last + 1))
            out.append(Cis(chrom, located[first][0], located[last][0], members, criteria))
    return out


def _merge_windows(windows: list[tuple[int, int, str]]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Rank ranges that share a site merged, with the criteria met inside each."""
    merged: list[tuple[int, int, dict[str, None]]] = []
    for first, last, criterion in sorted(windows):
        if merged and first <= merged[-1][1]:
            start, end, met = merged[-1]
            met[criterion] = None
            merged[-1] = (start, max(end, last), met)
        else:
            merged.append((first, last, {criterion: None}))
    order = [_criterion_text(c, s) for c, s in CIS_CRITERIA]
    return [(a, b, tuple(sorted(met, key=order.index))) for a, b, met in merged]


def _genes(site: Row) -> list[str]:
    gene = site.get("gene")
    return [g for g in (gene or "").split(";") if g and g != "NA"]


def cohort_rows(sites: Sequence[Row]) -> tuple[list[dict[str, object]], list[Cis]]:
    """COHORT_SITES rows (sites sorted by chrom and position) and the CIS found."""
    located = [s for s in sites if str(s.get("position", "")).isdigit()]
    cis = common_integration_sites([(str(s["chrom"]), int(s["position"])) for s in located])
    membership = {i: c for c in cis for i in c.members}
    gene_samples: dict[str, set[str]] = defaultdict(set)
    for site in sites:
        for gene in _genes(site):
            gene_samples[gene].add(str(site.get("sample")))
    rows = []
    for index, site in enumerate(located):
        hit = membership.get(index)
        row: dict[str, object] = {c: site.get(c) for c in COHORT_SITES}
        if hit is not None:
            row["cis"] = hit.name
            row["cis_sites"] = len(hit.members)
            row["cis_samples"] = len({located[i].get("sample") for i in hit.members})
            row["cis_criteria"] = "; ".join(hit.criteria)
        genes = _genes(site)
        row["gene_samples"] = max((len(gene_samples[g]) for g in genes), default=None)
        rows.append(row)
    rows.sort(key=lambda r: (str(r["chrom"]), int(str(r["position"]))))
    return rows, cis


def recurrent_genes(sites: Sequence[Row]) -> list[dict[str, object]]:
    """Genes with sites in at least two samples, most samples first."""
    samples: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, list[Row]] = defaultdict(list)
    for site in sites:
        for gene in _genes(site):
            samples[gene].add(str(site.get("sample")))
            counts[gene].append(site)
    out: list[dict[str, Any]] = []
    for gene, hits in counts.items():
        if len(samples[gene]) < 2:
            continue
        inside = [s for s in hits if s.get("distance_to_gene") == "0"]
        categories = {c for s in hits if s.get("nearest_listed_gene") == gene for c in _categories(s)}
        out.append(
            {
                "gene": gene,
                "samples": sorted(samples[gene]),
                "sites": len(hits),
                "inside": len(inside),
                "clonal": sum(1 for s in hits if is_clonal(s)),
                "categories": ", ".join(sorted(categories)) or "not listed",
            }
        )
    return sorted(out, key=lambda g: (-len(g["samples"]), -int(g["sites"]), str(g["gene"])))


def _categories(site: Row) -> list[str]:
    value = site.get("listed_gene_category") or ""
    return [c for part in value.split(";") for c in part.split(",") if c and c != "NA"]


def load_sites(samples: Sequence[str], sites_tsvs: Sequence[str | Path]) -> list[dict[str, str]]:
    """Every sample's annotated sites, pooled (the sample column set from the sheet)."""
    pooled = []
    for sample, path in zip(samples, sites_tsvs, strict=True):
        for row in read_tsv(path, (*SITES, *ANNOTATION), "give the annotated integration_sites.tsv"):
            pooled.append({**row, "sample": sample})
    return pooled


# --- page --------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()) -> str:
    ths = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        f"<tr{f' class={chr(34)}{classes[i]}{chr(34)}' if i < len(classes) and classes[i] else ''}>"
        + "".join(f"<td>{cell}</td>" for cell in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f'<div class="figure"><table><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>'


def _verdict_title(interpretation: str) -> str:
    return interpretation.split(":", 1)[0] if interpretation else "unknown"


def _samples_section(summary: Sequence[Row]) -> str:
    rows = [
        [
            f'<a href="{esc(s.get("sample"))}/report.html"><b>{esc(s.get("sample"))}</b></a>',
            f"<b>{esc(_verdict_title(str(s.get('interpretation') or '')))}</b>",
            esc(s.get("detected")),
            esc(s.get("vcn_per_tumour_cell")),
            esc(s.get("vcn")),
            f"{esc(s.get('sites'))} ({esc(s.get('clonal_sites'))} clonal)",
            f"{esc(s.get('top_site'), 'none')} {esc(s.get('top_site_gene'), '')}",
            esc(s.get("top_site_clonal_fraction"), "none" if s.get("sites") == "0" else "not estimated"),
        ]
        for s in summary
    ]
    classes = ["clonal" if str(s.get("clonal_sites")) not in ("0", "NA", "") else "" for s in summary]
    header = (
        "sample (report)",
        "verdict",
        "vector detected",
        "VCN per tumour cell",
        "VCN per diploid genome",
        "sites",
        "largest site",
        "its clonal fraction",
    )
    return f"<section><h2>Samples</h2>{_table(header, rows, classes)}</section>"


def _cis_section(cis: Sequence[Cis], located: Sequence[Row]) -> str:
    criteria = "; ".join(_criterion_text(c, s) for c, s in CIS_CRITERIA)
    intro = f"<p>Sites of all samples pooled; a CIS holds {esc(criteria)} (span first to last site).</p>"
    if not cis:
        return (
            f"<section><h2>Common integration sites</h2>{intro}<p>No common integration site.</p></section>"
        )
    rows, classes = [], []
    for c in sorted(
        cis, key=lambda c: (-len({located[i].get("sample") for i in c.members}), c.chrom, c.start)
    ):
        members = [located[i] for i in c.members]
        samples = sorted({str(m.get("sample")) for m in members})
        genes = sorted({g for m in members for g in _genes(m)})
        rows.append(
            [
                f"<b>{esc(c.name)}</b>",
                esc(f"{(c.end - c.start) / 1000:.1f} kb"),
                esc(len(members)),
                esc(f"{len(samples)}: {', '.join(samples)}"),
                esc(", ".join(genes) or "no annotated gene"),
                esc(sum(1 for m in members if is_clonal(m))),
                esc("; ".join(c.criteria)),
            ]
        )
        classes.append("clonal" if len(samples) > 1 else "")
    header = ("CIS", "span", "sites", "samples", "genes", "clonal sites", "criteria met")
    return (
        f"<section><h2>Common integration sites ({len(cis)})</h2>{intro}{_table(header, rows, classes)}"
        "<p class='note'>Highlighted: CIS with sites from more than one sample.</p></section>"
    )


def _genes_section(genes: Sequence[Mapping[str, object]]) -> str:
    title = "<h2>Recurrent genes (sites in two or more samples)</h2>"
    if not genes:
        return f"<section>{title}<p>No gene has sites in more than one sample.</p></section>"
    rows = [
        [
            f"<b>{esc(g['gene'])}</b>",
            esc(f"{len(g['samples'])}: {', '.join(g['samples'])}"),  # type: ignore[arg-type]
            esc(g["sites"]),
            esc(g["inside"]),
            esc(g["clonal"]),
            esc(g["categories"]),
        ]
        for g in genes
    ]
    header = ("gene", "samples", "sites", "sites inside the gene", "clonal sites", "cancer-gene categories")
    return f"<section>{title}{_table(header, rows)}</section>"


def render_cohort(
    summary_tsv: str | Path,
    samples: Sequence[str],
    sites_tsvs: Sequence[str | Path],
    contigs_fai: str | Path,
    out_tsv: str | Path,
    out_html: str | Path,
) -> None:
    """Write cohort_sites.tsv and the self-contained cohort.html."""
    summary = read_tsv(summary_tsv, SUMMARY, "give the summary.tsv written by the report stage")
    pooled = load_sites(samples, sites_tsvs)
    rows, cis = cohort_rows(pooled)
    write_tsv(out_tsv, COHORT_SITES, rows)
    located = [s for s in pooled if str(s.get("position", "")).isdigit()]
    figure = genome_map(
        read_fai(contigs_fai),
        pooled,
        label=lambda s: f"{s.get('sample')} {text(s.get('gene'))}" if is_clonal(s) else None,
    )
    overview = kv_table(
        [
            ("samples", len(summary)),
            ("integration sites", len(pooled)),
            ("clonal sites", sum(1 for s in pooled if is_clonal(s))),
            ("common integration sites", len(cis)),
            ("cancer-gene lists", "; ".join(gene_lists(pooled)) or "none named in the sites tables"),
        ]
    )
    body = (
        "<h1>Vector integration report: cohort</h1>"
        f'<p class="sub">{len(summary)} sample(s); each sample has its own report (links below).</p>'
        f"{overview}{_samples_section(summary)}"
        "<section><h2>Integration sites of all samples along the genome</h2>"
        f'<div class="figure">{figure}</div><p class="legend small">'
        f'<span><i class="dot" style="background:{CLONAL_COLOUR}"></i>clonal site (as its sample\'s '
        "sites stage flagged it), labelled with sample and gene</span>"
        f'<span><i class="dot" style="background:{OTHER_COLOUR}"></i>other site</span></p></section>'
        f"{_cis_section(cis, located)}{_genes_section(recurrent_genes(pooled))}"
        f"<section><h2>Every site</h2><p>{len(rows)} site(s) in cohort_sites.tsv, one row each with "
        "its CIS and the number of samples sharing its gene.</p></section>"
    )
    with atomic_write(out_html) as out:
        out.write(page("carvis cohort report", body))
