"""Issue 18, evidence views: the evidence BAM, the IGV session, the MultiQC table (run through the real
MultiQC) and the report's per-site igv.js views drawn in headless Chromium with the network cut off.

One run of the bundled demo (no --configfile, as in the README) feeds every test here; its two clonal
sites (chr1:251233 and chr1:189280, resources/demo/truth.tsv) are the sites the views must show.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pysam
import pytest
import yaml
from helpers import snakemake

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import EVIDENCE
from carvis.report.evidence_bam import COLOURS, site_of, write_evidence_bam
from carvis.report.igv import select_sites, site_view
from carvis.report.igv_page import ViewSources, write_site_views
from carvis.sites.call import REASONS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
ARTIFACTS = ROOT / "tests" / "artifacts"
IGV_JS = ROOT / "resources" / "igvjs" / "node_modules" / "igv" / "dist" / "igv.min.js"
CLONAL = [f"{r['chrom']}:{r['position']}" for r in read_tsv(DEMO / "truth.tsv") if r["class"] == "clonal"]

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("minimap2", "samtools")),
    reason="minimap2 and samtools are needed (bash scripts/setup.sh installs them)",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's demo run; returns its results folder."""
    tmp = tmp_path_factory.mktemp("views")
    result = snakemake(tmp, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp / "results"


def _sites(run: Path) -> dict[str, dict[str, str]]:
    rows = read_tsv(run / "demo_tumour" / "integration_sites.tsv")
    return {f"{r['chrom']}:{r['position']}": r for r in rows}


def test_evidence_bam_holds_each_sites_reads_tagged(run: Path) -> None:
    bam_path = run / "demo_tumour" / "evidence.bam"
    assert bam_path.stat().st_size < 200_000 and Path(f"{bam_path}.bai").is_file()
    sites = _sites(run)
    fragments: dict[str, set[str]] = defaultdict(set)
    kinds: dict[str, set[str]] = defaultdict(set)
    with pysam.AlignmentFile(str(bam_path)) as bam:
        assert bam.header.to_dict()["HD"]["SO"] == "coordinate"
        assert bam.count(CLONAL[0].split(":")[0], int(CLONAL[0].split(":")[1]) - 10, 10**6) > 0  # indexed
        for read in bam.fetch():
            assert read.has_tag("ZK") and read.get_tag("YC") in COLOURS.values()
            if read.has_tag("ZQ"):  # rejected rows carry the sites stage's reason
                assert set(str(read.get_tag("ZQ")).split(",")) <= set(REASONS)
                assert read.get_tag("YC") == COLOURS["rejected"]
            for site in str(read.get_tag("ZS")).split(",") if read.has_tag("ZS") else []:
                fragments[site].add(str(read.query_name))
                kinds[site].update(str(read.get_tag("ZK")).split(","))
                if read.get_tag("ZK") == "split" and read.reference_name == sites[site]["chrom"]:
                    # the host part of a split read ends at the left junction or starts at the right one
                    ends = {str(read.reference_end), str(read.reference_start + 1)}
                    assert ends & {sites[site]["left_junction"], sites[site]["right_junction"]}, read
    for name, site in sites.items():  # every fragment the sites stage counted is there, and no other
        assert len(fragments[name]) == int(site["fragments"]), name
    for name in CLONAL:
        assert {"split", "discordant", "mate"} <= kinds[name], kinds[name]


def test_site_of_follows_the_sites_stage_rules() -> None:
    site = {"chrom": "chr1", "position": "100", "vector": "v", "orientation": "+"}
    site.update(left_junction="104", right_junction="100")
    row = {"chrom": "chr1", "vector": "v", "side": "left", "vector_end": "5p", "precise": "yes"}
    assert site_of({**row, "host_pos": "104"}, [site], 1000) == "chr1:100"
    assert site_of({**row, "host_pos": "103"}, [site], 1000) is None  # precise rows: the junction base only
    assert site_of({**row, "host_pos": "104", "vector_end": "3p"}, [site], 1000) is None  # wrong end
    discordant = {**row, "precise": "no", "side": "right", "vector_end": "3p"}
    assert site_of({**discordant, "host_pos": "900"}, [site], 1000) == "chr1:100"  # inward of the right end
    assert site_of({**discordant, "host_pos": "1500"}, [site], 1000) is None


def _read(
    header: pysam.AlignmentHeader, name: str, flag: int, place: tuple[str, int], cigar: str
) -> pysam.AlignedSegment:
    read = pysam.AlignedSegment(header)
    read.query_name, read.flag, read.cigarstring, read.mapping_quality = name, flag, cigar, 60
    read.reference_name, read.reference_start = place
    length = read.infer_query_length()
    read.query_sequence, read.query_qualities = "A" * length, pysam.qualitystring_to_array("I" * length)
    return read


def test_rejected_rows_carry_their_reason_and_unrelated_reads_stay_out(tmp_path: Path) -> None:
    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr1", "LN": 5000}, {"SN": "v__provirus", "LN": 600}]}
    )
    reads = [
        _read(header, "used", 65, ("chr1", 940), "60M40S"),  # split at the site's left junction (1000)
        _read(header, "used", 129, ("chr1", 700), "100M"),  # its mate
        _read(header, "dup", 65, ("chr1", 940), "60M40S"),  # the same junction, a duplicate
        _read(header, "weak", 65, ("chr1", 940), "60M40S"),  # low MAPQ at the junction: rescued
        _read(header, "far", 65, ("chr1", 3000), "60M40S"),  # low MAPQ away from any site
        _read(header, "other", 65, ("chr1", 950), "100M"),  # no evidence row
        _read(header, "used", 2113, ("v__provirus", 0), "60H40M"),  # the split read's vector part
    ]
    raw, bam = tmp_path / "raw.bam", tmp_path / "aligned.bam"
    with pysam.AlignmentFile(str(raw), "wb", header=header) as out:
        for read in reads:
            out.write(read)
    pysam.sort("-o", str(bam), str(raw))
    pysam.index(str(bam))
    row = dict.fromkeys(EVIDENCE, "NA")
    row.update(read="1", kind="split", chrom="chr1", host_pos="1000", side="left", vector="v", precise="yes")
    row.update(vector_end="5p", vector_pos="1", host_mapq="60", duplicate="no", flags="NA")
    evidence = [
        {**row, "fragment": "used"},
        {**row, "fragment": "dup", "duplicate": "yes"},
        {**row, "fragment": "weak", "host_mapq": "3"},
        {**row, "fragment": "far", "host_mapq": "3", "host_pos": "3060"},
    ]
    write_tsv(tmp_path / "evidence.tsv", EVIDENCE, evidence)
    site = {"sample": "s", "vector": "v", "chrom": "chr1", "position": "996", "orientation": "+"}
    site.update(left_junction="1000", right_junction="996")
    write_tsv(tmp_path / "sites.tsv", list(site), [site])
    out_bam = tmp_path / "evidence.bam"
    assert write_evidence_bam(bam, tmp_path / "evidence.tsv", tmp_path / "sites.tsv", out_bam) == 6
    with pysam.AlignmentFile(str(out_bam)) as result:
        tags = {(r.query_name, r.reference_name, r.is_read2): dict(r.get_tags()) for r in result.fetch()}
    assert ("other", "chr1", False) not in tags
    assert tags[("used", "chr1", False)] == {"ZS": "chr1:996", "ZK": "split", "YC": COLOURS["split"]}
    assert tags[("used", "chr1", True)]["ZK"] == "mate" and "ZQ" not in tags[("used", "chr1", True)]
    assert tags[("used", "v__provirus", False)]["ZS"] == "chr1:996"  # supplementary alignment too
    assert (
        tags[("dup", "chr1", False)]["ZQ"] == "duplicate" and tags[("dup", "chr1", False)]["ZS"] == "chr1:996"
    )
    assert tags[("dup", "chr1", False)]["YC"] == COLOURS["rejected"]
    assert "ZQ" not in tags[("weak", "chr1", False)]  # the sites stage rescues it at the junction base
    assert tags[("far", "chr1", False)]["ZQ"] == "low_mapq" and "ZS" not in tags[("far", "chr1", False)]


def test_each_view_shows_every_provirus_read_of_its_site(run: Path) -> None:
    """Reads of a site whose vector part the aligner put in the other, identical LTR copy are drawn too
    (the demo's chr1:536571 faces the 3' end; its clipped read lies in the 5' LTR)."""
    demo = run / "demo_tumour"
    fasta_path = next(run.glob("reference/*/combined.fa"))
    with pysam.AlignmentFile(str(demo / "evidence.bam")) as bam, pysam.FastaFile(str(fasta_path)) as fasta:
        both = 0
        for name, site in _sites(run).items():
            view = site_view(site, bam, fasta, None)
            loci = [str(x).replace(",", "") for x in view["loci"]][1:]  # type: ignore[attr-defined]
            both += len(loci) == 2
            spans = [(c, *map(int, r.split("-"))) for c, r in (x.split(":") for x in loci)]
            for read in bam.fetch("demo_car__provirus"):
                if read.has_tag("ZS") and name in str(read.get_tag("ZS")).split(","):
                    assert any(
                        c == read.reference_name and a <= read.reference_end and read.reference_start < b
                        for c, a, b in spans
                    ), (name, read.query_name, read.reference_start, loci)
        assert both >= 1


def test_igv_session_opens_genome_bam_vcf_and_bed(run: Path) -> None:
    session = run / "demo_tumour" / "igv_session.xml"
    root = ET.parse(session).getroot()
    top = next(iter(_sites(run).values()))
    assert root.get("locus") == f"{top['chrom']}:{int(top['position']) - 500}-{int(top['position']) + 500}"
    genome = (session.parent / root.attrib["genome"]).resolve()
    assert genome.name == "combined.fa" and Path(f"{genome}.fai").is_file()
    paths = [(session.parent / r.attrib["path"]).resolve() for r in root.iter("Resource")]
    assert all(p.is_file() for p in paths)
    assert {p.name for p in paths} >= {"evidence.bam", "integration_sites.vcf.gz", "integration_sites.bed"}
    names = [r.attrib["path"] for r in root.iter("Resource")]  # the output folder's own files: relative
    assert {"evidence.bam", "integration_sites.vcf.gz", "integration_sites.bed"} <= set(names)


@pytest.mark.skipif(
    importlib.util.find_spec("multiqc") is None, reason="MultiQC absent (bash scripts/setup.sh installs it)"
)
def test_multiqc_shows_the_carvis_table(run: Path, tmp_path: Path) -> None:
    lines = (run / "multiqc" / "carvis_mqc.tsv").read_text().splitlines()
    header = yaml.safe_load("\n".join(line[2:] for line in lines if line.startswith("# ")))
    assert header["id"] == "carvis" and header["plot_type"] == "table"
    body = [line.split("\t") for line in lines if not line.startswith("#")]
    table = [dict(zip(body[0], values, strict=True)) for values in body[1:]]
    summary = read_tsv(run / "summary.tsv")[0]
    assert [r["Sample"] for r in table] == ["demo_tumour"]
    row = table[0]
    assert (row["detected"], row["sites"], row["clonal_sites"]) == ("yes", summary["sites"], "2")
    assert row["top_gene"] == summary["top_site_gene"] and row["verdict"] == "CAR-derived clonal tumour"
    assert float(row["vcn_low"]) < float(row["vcn"]) < float(row["vcn_high"])
    assert int(row["reads_screened"]) > int(row["reads_kept"]) > 0
    out = tmp_path / "multiqc"
    command = [sys.executable, "-m", "multiqc", str(run), "-o", str(out), "--no-ansi", "-f"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = (out / "multiqc_report.html").read_text()
    assert "carvis: CAR vector integration" in report and "carvis_table" in report
    data = read_tsv(out / "multiqc_data" / "multiqc_carvis_table.txt")
    assert data[0]["Sample"] == "demo_tumour" and data[0]["verdict"] == "CAR-derived clonal tumour"


def test_views_for_clonal_and_listed_sites_when_there_are_many(run: Path, tmp_path: Path) -> None:
    sites = [
        {"chrom": "chr1", "position": str(i), "clonal": "yes" if i == 7 else "no", "proximity_tier": tier}
        for i, tier in enumerate(["none"] * 5 + ["10kb", "none", "none", "inside"] + ["none"] * 40)
    ]
    assert [s["position"] for s in select_sites(sites, 30)] == ["7", "8", "5"]
    assert len(select_sites(sites[:30], 30)) == 30  # few sites: all of them
    demo = run / "demo_tumour"
    fasta = next(run.glob("reference/*/combined.fa"))
    sources = ViewSources(demo / "evidence.bam", fasta, DEMO / "annotation.gtf", IGV_JS)
    out = tmp_path / "views.html"
    n = len(read_tsv(demo / "integration_sites.tsv"))
    if IGV_JS.is_file():
        assert write_site_views(demo / "integration_sites.tsv", sources, out, max_views=1) == 1
        assert out.read_text().count('class="site-view"') == 1
        assert f"{n - 1} other site(s)" in out.read_text() and 'href="evidence.bam"' in out.read_text()
    missing = ViewSources(demo / "evidence.bam", fasta, None, tmp_path / "no-igv.min.js")
    assert write_site_views(demo / "integration_sites.tsv", missing, out) == 0
    assert "igv.js was not installed" in out.read_text() and f"{n} other site(s)" in out.read_text()


@pytest.mark.skipif(
    shutil.which("chromium") is None or not IGV_JS.is_file(),
    reason="chromium (scripts/ci/install_chromium.sh) or igv.js (bash scripts/setup.sh) absent",
)
def test_report_views_draw_the_junction_reads_offline(run: Path, tmp_path: Path) -> None:
    report = run / "demo_tumour" / "report.html"
    assert report.stat().st_size < 10_000_000
    page = report.read_text()
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"http", page)  # nothing loaded from elsewhere
    views = json.loads(page.split('id="carvis-igv-data">')[1].split("</script>")[0])
    assert {v["site"] for v in views[:2]} == set(CLONAL)  # the sites table puts the clonal sites first
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "report_views.png"
    png.unlink(missing_ok=True)
    netlog = tmp_path / "net.json"
    offline = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=20000", f"--log-net-log={netlog}",
    ]  # fmt: skip
    dom = subprocess.run(
        [*offline, f"--user-data-dir={tmp_path / 'a'}", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    ).stdout  # fmt: skip
    assert 'data-igv-views="done"' in dom
    for site in CLONAL:
        block = dom[dom.index(f'id="view-{site.replace(":", "-")}"') :]
        block = block[: block.index('<p class="note">')]
        assert 'data-igv="ready"' in block, site
        assert int(re.search(r'data-canvases="(\d+)"', block)[1]) > 3, site  # type: ignore[index]
        drawn = int(re.search(r'data-drawn="(\d+)"', block)[1])  # type: ignore[index]
        junction = int(re.search(r'data-junction="(\d+)"', block)[1])  # type: ignore[index]
        assert drawn > 5000 and junction > 500, (site, drawn, junction)  # reads, split/clipped in red
    requests = json.loads(netlog.read_text())["events"]
    initiators = {e["params"].get("initiator") for e in requests if "initiator" in e.get("params", {})}
    assert initiators <= {"not an origin"}, initiators  # the page itself asked the network for nothing
    subprocess.run(
        [*offline, f"--user-data-dir={tmp_path / 'b'}", f"--screenshot={png}", "--window-size=1280,6500",
         report.as_uri()],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    assert png.is_file()
