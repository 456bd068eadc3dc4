"""The report of a demo-like sample: content a reader relies on, and its rendering in headless Chromium.

The sites are the bundled demo's truth, annotated with the demo GTF and the bundled cancer-gene table,
so the expected genes (SSU72 hit at chr1:251233, LMO2 20 kb from chr1:189280) come from the data.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pysam
import pytest

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import SITES, TRANSGENE
from carvis.report.html import ReportInputs, render_sample_report
from carvis.sites.annotate import annotate_sites

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
ARTIFACTS = ROOT / "tests" / "artifacts"
GENES = ROOT / "resources" / "cancer_genes" / "cancer_genes.tsv"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    sites = []
    for row in read_tsv(DEMO / "truth.tsv"):
        clonal = row["class"] == "clonal"
        sites.append(
            {
                **{c: row.get(c, "NA") for c in SITES},
                "fragments": "20" if clonal else "2",
                "split_fragments": "14" if clonal else "2",
                "discordant_fragments": "6" if clonal else "0",
                "clonal_fraction": "0.9" if clonal else row["clonal_fraction"],
                "dominant": "yes" if clonal else "no",
                "clonal": "yes" if clonal else "no",
                "precise": "yes",
            }
        )
    write_tsv(tmp / "sites.tsv", SITES, sites)
    annotate_sites(tmp / "sites.tsv", DEMO / "annotation.gtf", GENES, tmp / "integration_sites.tsv")
    transgene = dict.fromkeys(TRANSGENE, "NA")
    transgene.update(sample="demo_tumour", vector="demo_car", detected="yes", vcn="1.66", vcn_low="1.5")
    transgene.update(
        vcn_high="1.83", vcn_per_tumour_cell="2.08", plasmid_contamination="no", masked_bp="2709"
    )
    write_tsv(tmp / "transgene.tsv", TRANSGENE, [transgene])
    genome = tmp / "combined.fa"
    genome.write_text((DEMO / "genome.fa").read_text() + ">demo_car__provirus\n" + "ACGT" * 100 + "\n")
    pysam.faidx(str(genome))
    out = tmp / "report.html"
    meta = {"purity": 0.8, "vector": "demo_car", "reference genome": str(DEMO / "genome.fa")}
    coverage = '<svg id="vector-coverage" width="10" height="10"></svg>'
    inputs = ReportInputs(
        tmp / "integration_sites.tsv",
        tmp / "transgene.tsv",
        contigs_fai=f"{genome}.fai",
        coverage_svg=coverage,
    )
    render_sample_report("demo_tumour", inputs, out, meta, purity=0.8)
    return out


def _row(page: str, site: str) -> str:
    start = page.index(f"<b>{site}</b>")
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def test_report_names_the_expected_genes_tiers_and_verdict(report: Path) -> None:
    page = report.read_text()
    assert "Verdict: CAR-derived clonal tumour" in page
    assert "about 2 copies per tumour cell" in page and "VCN per tumour cell 2.08 near 2" in page
    ssu72 = _row(page, "chr1:251,233")
    assert "intron of SSU72" in ssu72 and "SSU72, 0 bp" in ssu72 and ">inside<" in ssu72
    assert 'class="clonal"' in ssu72
    lmo2 = _row(page, "chr1:189,280")
    assert "intergenic, 20.0 kb from LMO2" in lmo2 and "LMO2, 20.0 kb" in lmo2 and ">50kb<" in lmo2
    assert "insertional event" in lmo2
    assert "carvis-cancer-genes 2026.11" in page  # the list and its version
    assert "Limitations" in page and "TCR clonality" in page
    assert page.count('class="clonal"') == 2  # the two clonal sites; bystanders are not highlighted


def test_genome_map_draws_host_chromosomes_only_and_the_coverage_slot(report: Path) -> None:
    page = report.read_text()
    figure = page[page.index('<svg class="genome-map"') :]
    figure = figure[: figure.index("</svg>")]
    for chrom in ("chr1", "chr2", "chrX"):
        assert f'class="chrom">{chrom}</text>' in figure
    assert "demo_car__provirus" not in figure
    assert figure.count('stroke-width="3"') == 2  # the two clonal marks
    assert '<svg id="vector-coverage"' in page and "Vector coverage" in page


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="chromium absent (scripts/ci/install_chromium.sh)"
)
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "report_demo.png"
    png.unlink(missing_ok=True)
    command = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1280,2000",
        report.resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert png.is_file(), "chromium wrote no screenshot"
    width, height, pixels = _png_pixels(png.read_bytes())
    assert (width, height) == (1280, 2000)
    assert len(set(pixels[::997])) > 20  # many distinct byte values: text, colours and plots, not blank
