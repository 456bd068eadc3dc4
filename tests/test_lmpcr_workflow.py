"""LM-PCR through the workflow (issue 16): a specimen's 5' and 3' LTR runs on the demo genome."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from carvis.core.io import read_tsv
from carvis.reads.lmpcr import PRESETS
from carvis.reference.vectors import build_vector
from carvis.sim.insertions import read_genome
from carvis.sim.lmpcr import Clone, RunModel, simulate_run
from tests.helpers import snakemake

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
CLONES = [Clone("chr1", 251233, "+", 400), Clone("chr1", 189280, "-", 80), Clone("chr2", 186016, "-", 20)]

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("minimap2", "samtools")), reason="minimap2 and samtools are needed"
)


@pytest.fixture(scope="module")
def lmpcr_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("lmpcr_wf")
    genome = read_genome(DEMO / "genome.fa")
    vector = build_vector("demo_car", DEMO / "vector.gb", "lentiviral")
    for end, seed in (("3p", 3), ("5p", 5)):
        simulate_run(
            genome, vector, PRESETS["inspiired"], CLONES, tmp / f"P1_{end}", RunModel(ltr_end=end, seed=seed)
        )
    sheet = tmp / "samples.tsv"
    rows = ["sample\tfastq_1\tfastq_2\tvector\tassay\tspecimen\tltr_end"]
    rows += [
        f"P1_{e}\tP1_{e}_R1.fastq.gz\tP1_{e}_R2.fastq.gz\tdemo_car\tlmpcr\tP1\t{e}" for e in ("3p", "5p")
    ]
    sheet.write_text("\n".join(rows) + "\n")
    config = {
        "samples": str(sheet),
        "outdir": "out",
        "reference": {"genome": str(DEMO / "genome.fa"), "annotation": str(DEMO / "annotation.gtf")},
        "vectors": {"demo_car": {"sequence": str(DEMO / "vector.gb"), "kind": "lentiviral"}},
        "threads": {"align": 2},
        "lmpcr": {"preset": "inspiired"},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp, "--cores", "2", "--configfile", str(tmp / "config.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp


def test_specimen_sites_are_paired_and_ranked_by_abundance(lmpcr_run: Path) -> None:
    sites = read_tsv(lmpcr_run / "out" / "P1_3p" / "integration_sites.tsv")
    called = {(s["chrom"], int(s["position"]), s["orientation"]) for s in sites}
    assert called == {(c.chrom, c.position, c.orientation) for c in CLONES}
    by_position = {int(s["position"]): s for s in sites}
    assert by_position[251233]["tsd"] == "CATAT" and by_position[189280]["tsd"] == "ATAAG"  # demo truth
    assert by_position[251233]["gene"] == "SSU72" and by_position[251233]["dominant"] == "yes"
    assert all(s["clonal_fraction"] == "NA" and s["left_junction"] != "NA" for s in sites)
    fractions = [float(by_position[c.position]["relative_abundance"]) for c in CLONES]
    assert fractions == sorted(fractions, reverse=True) and abs(fractions[0] - 400 / 500) < 0.08
    same = read_tsv(lmpcr_run / "out" / "P1_5p" / "integration_sites.tsv")
    assert [(s["chrom"], s["position"]) for s in same] == [(s["chrom"], s["position"]) for s in sites]


def test_transgene_report_and_cohort(lmpcr_run: Path) -> None:
    transgene = read_tsv(lmpcr_run / "out" / "P1_3p" / "transgene.tsv")[0]
    assert transgene["detected"] == "yes" and transgene["vcn"] == "NA"
    assert "copy number per genome is not measured" in transgene["reason"]
    report = (lmpcr_run / "out" / "P1_3p" / "report.html").read_text()
    assert "One dominant integration site" in report and "relative abundance" in report
    assert "Not measured by LM-PCR" in report and "<svg" in report and "Cancer-gene lists" in report
    counts = {
        r["step"]: int(r["reads"]) for r in read_tsv(lmpcr_run / "out" / "qc" / "P1_3p.read_counts.tsv")
    }
    assert counts["lmpcr_mispriming"] > 0 and counts["sent_to_aligner"] < counts["input"]
    assert (lmpcr_run / "out" / "P1_3p" / "integration_sites.vcf.gz").is_file()
    summary = read_tsv(lmpcr_run / "out" / "summary.tsv")
    assert len(summary) == 2 and all(r["rule"].startswith("assay=lmpcr") for r in summary)
    assert "one dominant integration site" in summary[0]["interpretation"]


def test_mixed_sheet_plans_each_assay_its_own_way(lmpcr_run: Path) -> None:
    """WGS, capture and LM-PCR samples in one sheet: each gets its own rules, nothing is ambiguous."""
    tmp = lmpcr_run
    for name in ("W1", "C1"):
        for read in ("R1", "R2"):
            shutil.copy(tmp / f"P1_3p_{read}.fastq.gz", tmp / f"{name}_{read}.fastq.gz")
    (tmp / "controls.bed").write_text("chr1\t10000\t14000\n")
    sheet = (tmp / "samples.tsv").read_text()
    sheet += "W1\tW1_R1.fastq.gz\tW1_R2.fastq.gz\tdemo_car\twgs\t\t\n"
    sheet += "C1\tC1_R1.fastq.gz\tC1_R2.fastq.gz\tdemo_car\tcapture\t\t\n"
    (tmp / "mixed.tsv").write_text(sheet)
    config = yaml.safe_load((tmp / "config.yaml").read_text())
    config |= {"samples": str(tmp / "mixed.tsv"), "outdir": "out_mixed"}
    config["capture"] = {"control_bed": str(tmp / "controls.bed")}
    (tmp / "mixed.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp, "--dry-run", "--cores", "1", "--configfile", str(tmp / "mixed.yaml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    plan = {
        line.split()[0]: int(line.split()[1])
        for line in result.stdout.splitlines()
        if line[:1].isalpha() and len(line.split()) == 2 and line.split()[1].isdigit()
    }
    assert plan["lmpcr_trim"] == 2 and plan["lmpcr_report"] == 2 and plan["render_report"] == 2
    assert plan["screen_reads"] == 1 and plan["capture_coverage"] == 1 and plan["capture_sites"] == 1
    assert plan["align_reads"] == 2 and plan["call_sites"] == 2 and plan["call_transgene"] == 2
