"""The per-sample verdict rules, summary.tsv and the self-contained HTML report."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from carvis.core.errors import InputError
from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import ANNOTATION, SITES, SUMMARY, TRANSGENE
from carvis.report.export import write_bed
from carvis.report.html import ReportInputs, render_sample_report
from carvis.report.plots import CLONAL_COLOUR, OTHER_COLOUR, clonal_bars
from carvis.report.provenance import INPUTS, READ_COUNTS, report_settings
from carvis.report.summary import decide, interpret, limitations, summarise_sample, write_summary

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
    clonal="yes",
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
    assert "clonal site(s) chr11:33880100(+) LMO2 (clonal fraction 0.98)" in rule and "near 1" in rule


def test_rule_car_derived_when_interval_holds_an_integer() -> None:
    row = _transgene(vcn="1.3", vcn_per_tumour_cell="1.3")
    row.update(vcn_low_per_tumour_cell="0.85", vcn_high_per_tumour_cell="1.7")
    assert decide(row, [CLONAL], 1.0).kind == "car_derived"


def test_rule_car_t_cells_present() -> None:
    row = _transgene(vcn="0.08", vcn_low="0.06", vcn_high="0.1", vcn_per_tumour_cell="0.1")
    verdict = decide(row, [MINOR, _site(5, "0.03")], 0.8)
    assert verdict.kind == "car_t_present"
    assert verdict.interpretation.startswith("CAR T cells present, tumour not shown to be CAR-derived")
    assert (
        "no clonal site (2 site(s) with two or more fragments and 0 with one; the largest at 0.03)"
        in verdict.rule
    )


def _single(position: int, **values: str) -> dict[str, str]:
    return _site(position, "NA", fragments="1", support="single", chrom="chr3", **values)


def test_single_fragment_sites_never_enter_the_verdict() -> None:
    """Single sites are counted apart; one wrongly marked clonal changes nothing."""
    row = _transgene(vcn="0.08", vcn_low="0.06", vcn_high="0.1", vcn_per_tumour_cell="0.1")
    singles = [_single(100 + i) for i in range(3)]
    verdict = decide(row, [_site(5, "0.03"), *singles], 0.8)
    assert verdict.kind == "car_t_present"
    assert "no clonal site (1 site(s) with two or more fragments and 3 with one; the largest" in verdict.rule
    clonal_row = _transgene(vcn_per_tumour_cell="1.0")
    assert decide(clonal_row, [_single(7, clonal="yes", clonal_fraction="1.0")], 0.8).kind == "indeterminate"
    assert decide(clonal_row, [CLONAL, _single(7)], 0.8).kind == "car_derived"


def test_report_counts_single_sites_in_words_and_names_unknown_orientation(tmp_path: Path) -> None:
    unknown = _site(2_000, "0.4", chrom="chr4", orientation=".", flags="orientation_unknown")
    singles = [_single(100 + i) for i in range(38)]
    transgene, sites = tmp_path / "t.tsv", tmp_path / "s.tsv"
    write_tsv(transgene, TRANSGENE, [_transgene(vcn_per_tumour_cell="0.1")])
    write_tsv(sites, (*SITES, *ANNOTATION), [MINOR, unknown, *singles])
    out = tmp_path / "r.html"
    render_sample_report("s1", ReportInputs(sites, transgene), out, {}, purity=0.8)
    page = out.read_text()
    assert (
        "38 further sites with one fragment each: insertions carried by few cells, as in a polyclonal "
        in page
    )
    assert "0 of 2 site(s) with two or more fragments are clonal" in page
    assert "0 clonal; 38 with one fragment" in page
    assert page.count("not estimated <div class='small'>(one fragment)</div>") == 38
    cell = "<td>orientation unknown (the vector part lies in the stretch both ends share)</td>"
    assert page.count(cell) == 1


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
    assert any("2,100 bp of the provirus matched the genome" in item for item in limits)
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
    render_sample_report(sample, ReportInputs(sites, transgene), out, meta, purity=0.8)
    return out.read_text()


def test_report_content(tmp_path: Path) -> None:
    page = _render(tmp_path)
    assert "Verdict: CAR-derived clonal tumour" in page
    assert 'class="verdict v-car_derived"' in page
    assert "LMO2" in page and "KANK1" in page
    assert "host side maps equally well to several places; low host mapping quality" in page
    assert "insertional event, oncogene" in page
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
    render_sample_report("s1", ReportInputs(sites, transgene), out, {})
    page = out.read_text()
    assert "Verdict: Transgene not detected" in page and "No integration site was called." in page
    assert "<svg" not in page


# --- one owner per verdict fact ------------------------------------------------------------------


def test_clonal_column_decides_verdict_bed_and_plot(tmp_path: Path) -> None:
    """The sites stage's ``clonal`` column is the only clonal threshold (a config of
    clonal_min_fraction: 0.3 flags a site at 0.35; a site at 0.6 below its interval test is not)."""
    low_but_clonal = _site(500, "0.35", clonal="yes", gene="LMO2", chrom="chr1", left_junction="504")
    high_not_clonal = _site(1200, "0.6", clonal="no", gene="KANK1", chrom="chr1", left_junction="1204")
    row = _transgene(vcn_per_tumour_cell="1.0")
    assert decide(row, [low_but_clonal], 0.8).kind == "car_derived"
    assert decide(row, [high_not_clonal], 0.8).kind == "indeterminate"
    sites = tmp_path / "sites.tsv"
    write_tsv(sites, (*SITES, *ANNOTATION), [low_but_clonal, high_not_clonal])
    bed = tmp_path / "sites.bed"
    write_bed("s1", sites, bed)
    colours = {f[1]: f[8] for f in (line.split("\t") for line in bed.read_text().splitlines()[1:])}
    assert colours == {"499": "183,28,28", "1199": "74,127,181"}
    bars = clonal_bars([low_but_clonal, high_not_clonal])
    assert re.search(rf'chr1:500 LMO2</text><rect [^>]*fill="{CLONAL_COLOUR}"', bars)
    assert re.search(rf'chr1:1,200 KANK1</text><rect [^>]*fill="{OTHER_COLOUR}"', bars)
    transgene = tmp_path / "transgene.tsv"
    write_tsv(transgene, TRANSGENE, [row])
    assert summarise_sample("s1", 0.8, transgene, sites)["clonal_sites"] == 1


def test_purity_is_not_applied_twice() -> None:
    """The transgene stage's VCN per tumour cell and its interval are used as written."""
    row = _transgene(vcn="1.04", vcn_low="1.0", vcn_high="1.08", vcn_per_tumour_cell="1.3")
    row.update(vcn_low_per_tumour_cell="0.9", vcn_high_per_tumour_cell="1.7")
    verdict = decide(row, [CLONAL], 0.8)
    assert verdict.kind == "car_derived" and "VCN per tumour cell 1.3 near 1" in verdict.rule


# --- rendered report: words, never NA --------------------------------------------------------------


def visible_text(page: str) -> str:
    """What a reader sees (tooltips included): the page without style, tags and entities."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _render_case(
    tmp_path: Path,
    sites: list[dict[str, str]],
    transgene: dict[str, str] | None = None,
    purity: float | None = 0.8,
    **options: object,
) -> str:
    transgene_tsv, sites_tsv, out = tmp_path / "t.tsv", tmp_path / "s.tsv", tmp_path / "r.html"
    write_tsv(transgene_tsv, TRANSGENE, [transgene or _transgene()])
    write_tsv(sites_tsv, (*SITES, *ANNOTATION), sites)
    inputs = ReportInputs(sites_tsv, transgene_tsv, **options)  # type: ignore[arg-type]
    render_sample_report("s1", inputs, out, {"sample": "s1"}, purity=purity)
    return out.read_text()


SECOND = _site(
    2_000_000, "0.93", clonal="yes", chrom="chr3", gene="GENEY", region="exon", distance_to_gene="0"
)
THIRD = _site(
    5_000, "0.9", clonal="yes", chrom="chr7", gene="GENEZ", region="intergenic", distance_to_gene="800"
)
CASES = {
    "demo_like": ([CLONAL, MINOR], {}, ["chr11:33,880,100"]),
    "one_sided": (
        [{**CLONAL, "right_junction": "NA", "left_junction": "33880104", "tsd": "NA", "flags": "one_sided"}],
        {},
        ["one junction seen, so no TSD"],
    ),
    "multi_hit": (
        [CLONAL, {**MINOR, "clonal_fraction": "NA", "candidate_loci": "chr2:1000000+,chr9:5000+"}],
        {},
        ["not estimated", "several candidate places", "candidate loci: chr2:1000000+, chr9:5000+"],
    ),
    "no_listed_gene_nearby": (
        [{**CLONAL, "nearest_listed_gene": "NA", "distance_to_listed_gene": "NA", "proximity_tier": "none"}],
        {},
        ["no listed cancer gene on this contig"],
    ),
    "no_annotation": (
        [{**CLONAL, **dict.fromkeys(("gene", "nearest_listed_gene", "listed_gene_category"), "NA"),
          "region": "no_annotation", "proximity_tier": "unknown", "distance_to_listed_gene": "NA"}],
        {},
        ["no annotation for this contig"],
    ),
    "two_gene_lists": (
        [{**CLONAL, "gene_list": "carvis-cancer-genes 2026.11;lab-list v3"}],
        {},
        ["cancer-gene lists carvis-cancer-genes 2026.11; lab-list v3"],
    ),
    "nothing_masked": (
        [CLONAL],
        {"masking": (0, 0, [])},
        ["no part of the vector matched the genome: the genome may be partial, or the vector carries no"],
    ),
    "screened_modelled": (
        [{**CLONAL, "spanning_fragments": "13.56", "flags": "spanning_modelled", "fragments": "10",
          "split_fragments": "9", "discordant_fragments": "1"}],
        {},
        ["about 14 reference fragments expected from the genome-wide depth: modelled, not counted (screened "
         "reads without the second pass, or a long-read BAM lacking the contig)",
         "reference fragments modelled"],
    ),
    "purity_unknown": ([CLONAL], {"purity": None}, ["not computed: tumour purity unknown"]),
    "three_clonal_sites": ([CLONAL, SECOND, THIRD, MINOR], {}, ["3 integration sites"]),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_rendered_report_says_what_is_missing_in_words(tmp_path: Path, case: str) -> None:
    sites, options, expected = CASES[case]
    purity = options.get("purity", 0.8)
    transgene = _transgene(vcn_per_tumour_cell="NA") if purity is None else _transgene()
    extra = {k: v for k, v in options.items() if k != "purity"}
    page = _render_case(tmp_path, sites, transgene, purity, **extra)
    seen = " ".join(visible_text(page).split())
    for words in expected:
        assert words in seen, words
    assert re.search(r"\bNA\b", seen) is None, re.findall(r".{60}\bNA\b.{30}", seen)
    assert "spanning_modelled" not in seen and "one_sided" not in seen and "multi_hit" not in seen
    interpretation = seen[seen.index("Interpretation") : seen.index("Limitations")]
    for site in sites:
        if site.get("clonal") == "yes":
            assert f"{site['chrom']}:{site['position']}({site['orientation']})" in interpretation
    cells = re.findall(r'<td class="num frag">(.*?)</td>', page)
    assert cells and all(re.search(r"\d\.\d", c) is None for c in cells)  # whole-number counts


def test_three_clonal_sites_are_all_named(tmp_path: Path) -> None:
    interpretation, rule = interpret(_transgene(), [CLONAL, SECOND, THIRD, MINOR], 0.8)
    for label in ("chr11:33880100(+) LMO2", "chr3:2000000(+) GENEY", "chr7:5000(+) near GENEZ"):
        assert label in interpretation and label in rule
    assert "chr2" not in interpretation


# --- specimen and method ---------------------------------------------------------------------------


def test_method_section_lists_inputs_checksums_and_read_counts(tmp_path: Path) -> None:
    inputs, counts = tmp_path / "inputs.tsv", tmp_path / "read_counts.tsv"
    digest = "ab" * 32
    write_tsv(
        inputs, INPUTS, [{"sample": "s1", "file": "/data/s1_R1.fq.gz", "bytes": 123456, "sha256": digest}]
    )
    steps = [("input", "/data/s1_R1.fq.gz", 10_033_466), ("input", "/data/s1_R2.fq.gz", 5_000_000)]
    steps += [("screened", "NA", 15_033_466), ("kept", "NA", 2_210), ("primary_alignments", "NA", 4_400)]
    write_tsv(counts, READ_COUNTS, [{"sample": "s1", "step": s, "file": f, "reads": n} for s, f, n in steps])
    page = _render_case(tmp_path, [CLONAL], checksums=inputs, read_counts=counts)
    seen = " ".join(visible_text(page).split())
    assert f"/data/s1_R1.fq.gz 123,456 {digest}" in seen and "SHA-256" in seen
    assert "reads in s1_R1.fq.gz 10,033,466; reads in s1_R2.fq.gz 5,000,000; screened 15,033,466" in seen
    assert "reads the screen kept: they share k-mers with the vector" in seen
    assert "Warning: the input files hold different numbers of reads" in seen
    absent = _render_case(tmp_path, [CLONAL], checksums=tmp_path / "none.tsv")
    assert "this run recorded no input checksums" in absent and "this run recorded no read counts" in absent


def test_report_settings_leave_threads_out_and_digest_the_config() -> None:
    config = {
        "reference": {"genome": "g.fa", "annotation": "a.gtf"},
        "vectors": {"car": {"sequence": "v.gb", "kind": "lentiviral"}},
        "gene_lists": ["l.tsv"],
        "aligner": "minimap2",
        "screen": {"enabled": True},
        "sites": {"clonal_min_fraction": 0.5},
        "transgene": {"min_vcn": 0.02},
        "threads": {"align": 4},
        "mem_mb": {"align": 8000},
    }
    settings = report_settings(config, "car")
    assert "threads" not in repr(settings) and "mem_mb" not in repr(settings)
    faster = {**config, "threads": {"align": 32}, "mem_mb": {"align": 64000}}
    assert report_settings(faster, "car") == settings
    stricter = {**config, "sites": {"clonal_min_fraction": 0.3}}
    assert report_settings(stricter, "car")["config digest"] != settings["config digest"]
    assert len(settings["config digest"]) == 64
