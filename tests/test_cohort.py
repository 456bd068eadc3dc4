"""Common integration sites (2 in 30 kb, 3 in 50 kb, 4 in 100 kb), recurrent genes, cohort page."""

from __future__ import annotations

import re
from pathlib import Path

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import ANNOTATION, SITES, SUMMARY
from carvis.report.cohort import COHORT_SITES, common_integration_sites, recurrent_genes, render_cohort


def _cis(*positions: int, chrom: str = "chr1") -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
    found = common_integration_sites([(chrom, p) for p in positions])
    return [(tuple(positions[i] for i in c.members), c.criteria) for c in found]


def test_two_sites_within_30_kb_inclusive() -> None:
    assert _cis(1000, 31_000) == [((1000, 31_000), ("2 within 30 kb",))]
    assert _cis(1000, 31_001) == []


def test_four_within_100_kb_without_any_closer_pair_or_triple() -> None:
    evenly = (0, 32_000, 64_000, 96_000)
    assert _cis(*evenly) == [(evenly, ("4 within 100 kb",))]
    assert _cis(0, 32_000, 64_000) == []  # span 64 kb > 50 kb and no pair within 30 kb
    assert _cis(0, 32_000, 64_000, 100_001) == []


def test_windows_sharing_a_site_merge_and_contigs_stay_apart() -> None:
    assert _cis(40_000, 0, 20_000, 500_000) == [((0, 20_000, 40_000), ("2 within 30 kb", "3 within 50 kb"))]
    found = common_integration_sites([("chr1", 100), ("chr2", 200)])
    assert found == []


def _site(sample: str, chrom: str, position: int, gene: str, fraction: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys((*SITES, *ANNOTATION), "NA")
    row.update(sample=sample, vector="car", chrom=chrom, position=str(position), orientation="+")
    row.update(gene=gene, clonal_fraction=fraction, fragments="5", distance_to_gene="0", region="intron")
    row.update(gene_list="carvis-cancer-genes 2026.11")
    row.update(values)
    return row


def _summary(sample: str, clonal: int) -> dict[str, str]:
    row = dict.fromkeys(SUMMARY, "NA")
    row.update(sample=sample, detected="yes", sites="2", clonal_sites=str(clonal))
    row.update(interpretation="CAR-derived clonal tumour: text" if clonal else "Indeterminate: text")
    return row


def test_cohort_table_and_page(tmp_path: Path) -> None:
    lmo2 = {"nearest_listed_gene": "LMO2", "listed_gene_category": "insertional_event,oncogene"}
    tables = {
        "pt1": [
            _site("pt1", "chr11", 33_880_000, "LMO2", "0.95", clonal="yes", **lmo2),
            _site("pt1", "chr2", 10, "KANK1", "0.01"),
        ],
        "pt<2>": [
            _site("pt<2>", "chr11", 33_900_000, "LMO2", "0.02", **lmo2),
            _site("pt<2>", "chr5", 999, "ZZZ3", "0.03"),
        ],
    }
    paths = [tmp_path / f"{i}.tsv" for i in range(len(tables))]
    for path, rows in zip(paths, tables.values(), strict=True):
        write_tsv(path, (*SITES, *ANNOTATION), rows)
    summary = tmp_path / "summary.tsv"
    write_tsv(summary, SUMMARY, [_summary("pt1", 1), _summary("pt<2>", 0)])
    fai = tmp_path / "genome.fa.fai"
    fai.write_text("chr2\t200000000\t0\t60\t61\nchr5\t180000000\t0\t60\t61\nchr11\t135000000\t0\t60\t61\n")
    out_tsv, out_html = tmp_path / "cohort_sites.tsv", tmp_path / "cohort.html"
    render_cohort(summary, list(tables), paths, fai, out_tsv, out_html)

    rows = read_tsv(out_tsv)
    assert list(rows[0]) == list(COHORT_SITES) and len(rows) == 4
    by_gene = {r["gene"]: r for r in rows}
    assert by_gene["LMO2"]["cis"] == "chr11:33880000-33900000"
    assert (by_gene["LMO2"]["cis_sites"], by_gene["LMO2"]["cis_samples"]) == ("2", "2")
    assert by_gene["LMO2"]["cis_criteria"] == "2 within 30 kb" and by_gene["LMO2"]["gene_samples"] == "2"
    assert by_gene["KANK1"]["cis"] == "NA" and by_gene["KANK1"]["gene_samples"] == "1"

    genes = recurrent_genes([r for t in tables.values() for r in t])
    assert [(g["gene"], g["samples"], g["clonal"]) for g in genes] == [("LMO2", ["pt1", "pt<2>"], 1)]
    assert genes[0]["categories"] == "insertional_event, oncogene"

    page = out_html.read_text()
    assert 'href="pt1/report.html"' in page and 'href="pt&lt;2&gt;/report.html"' in page
    assert "<b>CAR-derived clonal tumour</b>" in page and "<b>Indeterminate</b>" in page
    assert "chr11:33880000-33900000" in page and "pt1 LMO2" in page  # CIS row; clonal site label on the map
    assert "<script" not in page and re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", page) is None
