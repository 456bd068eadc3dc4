"""The per-sample verdict rules, summary.tsv and the self-contained HTML report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carvis.errors import InputError
from carvis.io import read_tsv, write_tsv
from carvis.report import render_sample_report
from carvis.summary import decide, interpret, limitations, summarise_sample, write_summary
from carvis.tables import ANNOTATION, SITES, SUMMARY, TRANSGENE

EVIL = '<script>alert("x")</script>&co'


def _transgene(**values: str) -> dict[str, str]:
    row = dict.fromkeys(TRANSGENE, "NA")
    row.update(sample="s1", vector="car19", detected="yes", vcn="0.82", vcn_low="0.76", vcn_high="0.88")
    row.update(
        vcn_per_tumour_cell="1.025", plasmid_contamination="no", masked_bp="2100", reason="footprint covered"
    )
    row.update(values)
    return row


def _site(position: int, fraction: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys((*SITES, *ANNOTATION), "NA")
    row.update(sample="s1", vector="car19", chrom="chr11", position=str(position), orientation="+")
    row.update(clonal_fraction=fraction, fragments="12", precise="yes", dominant="no", gene="GENEX")
    row.update(values)
    return row


CLONAL = _site(
    33_880_100,
    "0.98",
    dominant="yes",
    gene="LMO2",
    region="intron",
    nearest_listed_gene="LMO2",
    distance_to_listed_gene="0",
    listed_gene_category="insertional_event,oncogene",
    proximity_tier="inside",
    tsd="ACGTA",
)
MINOR = _site(1_000_000, "0.012", chrom="chr2", gene="KANK1", flags="multi_hit,low_mapq", precise="no")


# --- verdict rules -----------------------------------------------------------------------------


def test_rule_transgene_not_detected() -> None:
    verdict = decide(_transgene(detected="no", vcn="0.001", vcn_per_tumour_cell="0.00125"), [], 0.8)
    assert verdict.kind == "not_detected"
    assert verdict.interpretation.startswith("Transgene not detected")
    assert "detected=no" in verdict.rule


def test_rule_car_derived_clonal_tumour() -> None:
    interpretation, rule = interpret(_transgene(), [MINOR, CLONAL], 0.8)
    assert interpretation.startswith("CAR-derived clonal tumour")
    assert "about 1 copy per tumour cell" in interpretation and "chr11:33880100(+) LMO2" in interpretation
    assert "clonal_fraction 0.98 >= 0.5" in rule and "near 1" in rule


def test_rule_car_derived_when_interval_holds_an_integer() -> None:
    row = _transgene(vcn="1.3", vcn_low="0.85", vcn_high="1.7", vcn_per_tumour_cell="1.3")
    assert decide(row, [CLONAL], 1.0).kind == "car_derived"


def test_rule_car_t_cells_present() -> None:
    row = _transgene(vcn="0.08", vcn_low="0.06", vcn_high="0.1", vcn_per_tumour_cell="0.1")
    verdict = decide(row, [MINOR, _site(5, "0.03")], 0.8)
    assert verdict.kind == "car_t_present"
    assert verdict.interpretation.startswith("CAR T cells present, tumour not shown to be CAR-derived")
    assert "no clonal site (2 site(s), the largest at 0.03)" in verdict.rule


@pytest.mark.parametrize(
    ("transgene", "sites", "why"),
    [
        (_transgene(detected="indeterminate", reason="too little depth"), [], "too little depth"),
        (_transgene(detected="no"), [CLONAL], "although the transgene was not detected"),
        (  # clonal site but 1.5 copies per tumour cell with a tight interval
            _transgene(vcn="1.2", vcn_low="1.15", vcn_high="1.25", vcn_per_tumour_cell="1.5"),
            [CLONAL],
            "not near a whole number",
        ),
        (_transgene(vcn_per_tumour_cell="1.0"), [MINOR], "no clonal integration site was found"),
        (
            _transgene(vcn_per_tumour_cell="0.1", plasmid_contamination="yes"),
            [MINOR],
            "plasmid contamination",
        ),
    ],
)
def test_rule_indeterminate_says_why(
    transgene: dict[str, str], sites: list[dict[str, str]], why: str
) -> None:
    verdict = decide(transgene, sites, 0.8)
    assert verdict.kind == "indeterminate"
    assert verdict.interpretation.startswith("Indeterminate")
    assert why in verdict.interpretation


def test_purity_unknown_uses_whole_sample_vcn_and_says_so() -> None:
    row = _transgene(vcn="0.97", vcn_low="0.9", vcn_high="1.05", vcn_per_tumour_cell="NA")
    verdict = decide(row, [CLONAL], None)
    assert verdict.kind == "car_derived"
    assert "purity unknown" in verdict.rule
    limits = limitations(row, [CLONAL, MINOR], None)
    assert any("purity was not given" in item for item in limits)
    assert any("masked (2100 bp)" in item for item in limits)
    assert any("1 site(s) rest on read pairs only" in item for item in limits)
    assert limits[-1].startswith("Integration-site results are read together with other assays")
    assert not any("purity was not given" in item for item in limitations(row, [], 0.8))


# --- summary.tsv -------------------------------------------------------------------------------


def _inputs(tmp_path: Path, sample: str = "s1") -> tuple[Path, Path]:
    transgene, sites = tmp_path / "transgene.tsv", tmp_path / "sites.tsv"
    other = _transgene(sample="other", detected="no")
    write_tsv(transgene, TRANSGENE, [other, _transgene(sample=sample)])
    write_tsv(
        sites,
        (*SITES, *ANNOTATION),
        [{**MINOR, "sample": sample}, {**CLONAL, "sample": sample}, {**CLONAL, "sample": "other"}],
    )
    return transgene, sites


def test_summarise_and_write_summary(tmp_path: Path) -> None:
    transgene, sites = _inputs(tmp_path)
    row = summarise_sample("s1", 0.8, transgene, sites)
    assert (row["sites"], row["clonal_sites"]) == (2, 1)
    assert (row["top_site"], row["top_site_gene"], row["top_site_clonal_fraction"]) == (
        "chr11:33880100(+)",
        "LMO2",
        "0.98",
    )
    assert row["interpretation"].startswith("CAR-derived clonal tumour")
    out = tmp_path / "summary.tsv"
    write_summary([row], out)
    header = out.read_text().splitlines()[0].split("\t")
    assert header == list(SUMMARY)
    written = read_tsv(out)[0]
    assert (written["purity"], written["vcn"], written["detected"]) == ("0.8", "0.82", "yes")
    with pytest.raises(InputError, match="no row for sample 'nobody'"):
        summarise_sample("nobody", None, transgene, sites)


# --- HTML report -------------------------------------------------------------------------------


def _render(tmp_path: Path, sample: str = EVIL) -> str:
    transgene, sites = _inputs(tmp_path, sample)
    out = tmp_path / "report.html"
    meta = {
        "purity": 0.8,
        "vector": "car19",
        "reference": {"genome": "/refs/<hg38>.fa", "annotation": "https://example.org/genes.gtf"},
        "tool versions": {"minimap2": "2.24", "samtools": "1.16"},
        "input checksums": {"reads_R1.fq.gz": "sha256:abc"},
        "thresholds": {"min_mapq": 20, "dominant_fraction": 0.2},
    }
    render_sample_report(sample, sites, transgene, out, meta)
    return out.read_text()


def test_report_content(tmp_path: Path) -> None:
    page = _render(tmp_path)
    assert "Verdict: CAR-derived clonal tumour" in page
    assert 'class="verdict v-car_derived"' in page
    assert "LMO2" in page and "KANK1" in page
    assert "multi_hit,low_mapq" in page and "insertional_event,oncogene" in page
    assert page.count('<tr class="clonal">') == 1
    assert page.count("<rect ") == 2  # one bar per site
    assert "TCR clonality" in page
    assert "minimap2" in page and "2.24" in page and "&lt;hg38&gt;" in page


def test_report_escapes_the_sample_name(tmp_path: Path) -> None:
    page = _render(tmp_path)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;co" in page


def test_report_is_self_contained(tmp_path: Path) -> None:
    page = _render(tmp_path, sample="s1")
    assert re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE) is None
    assert re.search(r"<link\b|<script\b|<img\b|@import|url\(", page, re.IGNORECASE) is None
    assert "<style>" in page and "<svg" in page


def test_report_without_sites(tmp_path: Path) -> None:
    transgene, sites = tmp_path / "t.tsv", tmp_path / "s.tsv"
    write_tsv(transgene, TRANSGENE, [_transgene(detected="no", vcn_per_tumour_cell="0")])
    write_tsv(sites, (*SITES, *ANNOTATION), [])
    out = tmp_path / "r.html"
    render_sample_report("s1", sites, transgene, out, {"purity": "NA"})
    page = out.read_text()
    assert "Verdict: Transgene not detected" in page and "No integration site was called." in page
    assert "<svg" not in page
