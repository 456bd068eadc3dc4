"""The Snakemake workflow end to end: plans, bad-input errors, and calls compared with a known truth."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import snakemake

from carvis.cli import main as carvis
from carvis.core.io import read_tsv

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"

needs_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("minimap2", "samtools", "snakemake")),
    reason="minimap2, samtools and snakemake are needed (bash scripts/setup.sh installs them)",
)


def write_config(tmp_path: Path, samples: Path, **overrides: object) -> Path:
    config = {
        "samples": str(samples),
        "outdir": "out",
        "reference": {"genome": str(DEMO / "genome.fa"), "annotation": str(DEMO / "annotation.gtf")},
        "vectors": {
            "demo_car": {
                "sequence": str(DEMO / "vector.fa"),
                "kind": "lentiviral",
                "provirus": demo_provirus_range(),
            }
        },
        "threads": {"align": 2},
        **overrides,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def demo_provirus_range() -> list[int]:
    from carvis.reference.vectors import build_vector

    model = build_vector("demo_car", DEMO / "vector.gb", "lentiviral")
    return [int(x) for x in model.derivation.split()[2].split("-")]


def test_demo_plan_covers_every_stage(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--dry-run", "--cores", "1", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    for rule in (
        "simulate_demo_reads",
        "build_reference",
        "align_reads",
        "build_mask",
        "extract_evidence",
        "index_genome_bwa",
        "place_host_clips",
        "call_sites",
        "call_transgene",
        "annotate_sites",
        "render_report",
        "summarise_cohort",
    ):
        assert rule in result.stdout, rule
    off = snakemake(
        tmp_path, "--dry-run", "--cores", "1", "--quiet", "rules", "--config", "sites={place_clips: false}"
    )
    assert off.returncode == 0, off.stderr
    assert "extract_evidence" in off.stdout
    assert not {"index_genome_bwa", "host_clip_reads", "place_host_clips"} & set(off.stdout.split())


def test_missing_tool_stops_before_any_job(tmp_path: Path) -> None:
    """bwa absent from PATH: the run stops at start and names it, unless host clips are off."""
    bin_dir = tmp_path / "bin"  # every command on PATH but bwa (and scontrol: a local run)
    bin_dir.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        for tool in Path(folder).glob("*") if Path(folder).is_dir() else []:
            if tool.name not in ("bwa", "scontrol") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    env = {**os.environ, "PATH": str(bin_dir)}
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--directory",
        str(tmp_path / "run"),
        "--dry-run",
        "--cores",
        "1",
    ]
    cmd += ["--snakefile", str(ROOT / "Snakefile")]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "PATH: missing: bwa (places short host clips on the genome" in said
    assert "set sites.place_clips: false" in said and "Traceback" not in said
    off = subprocess.run(
        [*cmd, "--config", "sites={place_clips: false}"], capture_output=True, text=True, env=env, check=False
    )
    assert off.returncode == 0, off.stderr


def test_a_bad_value_given_with_config_names_config(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--dry-run", "--cores", "1", "--config", "sites={place_clips: maybe}")
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in said
    assert "--config: sites.place_clips: expected true or false but found 'maybe'" in said
    assert "config.yaml, line" not in said  # not the line of the bundled config that also sets it


def test_bad_sheet_fails_before_running_with_file_and_line(tmp_path: Path) -> None:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "sample\tfastq_1\tfastq_2\tvector\tpurity\ns1\tmissing_R1.fq.gz\tmissing_R2.fq.gz\tdemo_car\t0.5\n"
    )
    result = snakemake(
        tmp_path, "--dry-run", "--cores", "1", "--configfile", str(write_config(tmp_path, sheet))
    )
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert f"{sheet}, line 2" in message
    assert "missing_R1.fq.gz" in message and "fix:" in message


@pytest.fixture(scope="module")
def e2e_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated samples (a CAR-derived tumour and a CAR-negative tumour) through the whole workflow."""
    if any(shutil.which(t) is None for t in ("minimap2", "samtools")):
        pytest.skip("minimap2 and samtools are needed (bash scripts/setup.sh installs them)")
    tmp = tmp_path_factory.mktemp("e2e")
    common = [
        "--genome",
        str(DEMO / "genome.fa"),
        "--vector",
        str(DEMO / "vector.gb"),
        "--kind",
        "lentiviral",
        "--vector-name",
        "demo_car",
        "--coverage",
        "30",
    ]
    assert (
        carvis(
            [
                "simulate",
                *common,
                "--design",
                str(DEMO / "design.tsv"),
                "--purity",
                "0.8",
                "--seed",
                "3",
                "--sample",
                "car_pos",
                "--out-prefix",
                str(tmp / "reads" / "car_pos"),
            ]
        )
        == 0
    )
    assert (
        carvis(
            [
                "simulate",
                *common,
                "--seed",
                "4",
                "--sample",
                "car_neg",
                "--out-prefix",
                str(tmp / "reads" / "car_neg"),
            ]
        )
        == 0
    )
    sheet = tmp / "samples.tsv"
    sheet.write_text(
        "sample\tfastq_1\tfastq_2\tvector\tpurity\n"
        "car_pos\treads/car_pos_R1.fastq.gz\treads/car_pos_R2.fastq.gz\tdemo_car\t0.8\n"
        "car_neg\treads/car_neg_R1.fastq.gz\treads/car_neg_R2.fastq.gz\tdemo_car\t\n"
    )
    # host clips are placed with a bwa index the lab already has (reference.bwa_index), not one carvis builds
    (tmp / "bwa").mkdir()
    shutil.copy(DEMO / "genome.fa", tmp / "bwa" / "genome.fa")
    subprocess.run(["bwa", "index", str(tmp / "bwa" / "genome.fa")], check=True, capture_output=True)
    reference = {"genome": str(DEMO / "genome.fa"), "annotation": str(DEMO / "annotation.gtf")}
    config = write_config(tmp, sheet, reference={**reference, "bwa_index": str(tmp / "bwa" / "genome.fa")})
    result = snakemake(tmp, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp


@needs_tools
def test_a_given_bwa_index_is_used_and_none_is_built(e2e_run: Path) -> None:
    assert not list((e2e_run / "out" / "reference").glob("genome-*/genome.fa.bwt"))
    assert (e2e_run / "out" / "evidence" / "car_pos.host_clips.bam").is_file()
    report = (e2e_run / "out" / "car_pos" / "report.html").read_text()
    assert (
        f"index {e2e_run / 'bwa' / 'genome.fa'} (reference.bwa_index, checked against the genome)" in report
    )


#: Counting noise at 30x (tests/benchmark/README.md): the relative sd of the VCN at VCN 1 (demo_car).
VCN_SD_30X = 0.078
#: Gene and region of each clonal site of resources/demo/design.tsv (annotation.gtf; the README's demo table).
DEMO_GENES = {("chr1", "251233"): ("SSU72", "intron"), ("chr1", "189280"): ("LMO2", "intergenic")}


def expected_junction_fragments(call: dict[str, str], allele_fraction: float) -> float:
    """Junction fragments a screened site's count predicts at ``allele_fraction``: Poisson(k T q), k = 2
    junctions, T the fragments of both alleles modelled across the site (carvis.sites.clonality.AlleleCounts),
    which the row holds as spanning_fragments + fragments / k."""
    assert "spanning_modelled" in call["flags"]  # the formula is the modelled one (reads screened)
    return 2 * (float(call["spanning_fragments"]) + int(call["fragments"]) / 2) * allele_fraction


@needs_tools
def test_clonal_sites_are_called_base_exact(e2e_run: Path) -> None:
    truth = [r for r in read_tsv(e2e_run / "reads" / "car_pos.truth.tsv") if r["class"] == "clonal"]
    calls = read_tsv(e2e_run / "out" / "car_pos" / "integration_sites.tsv")
    assert {(s["chrom"], s["position"]) for s in truth} == set(DEMO_GENES)
    pooled, clones = 0.0, set()
    for site in truth:
        match = [c for c in calls if c["chrom"] == site["chrom"] and c["position"] == site["position"]]
        assert match, f"clonal site {site['chrom']}:{site['position']} not called"
        call = match[0]
        for column in ("orientation", "left_junction", "right_junction", "tsd_length", "tsd"):
            assert call[column] == site[column], column
        assert (call["gene"], call["region"]) == DEMO_GENES[(site["chrom"], site["position"])]
        # every tumour cell carries it on one allele (truth 1.0, allele fraction q = purity / 2 = 0.4); the
        # estimate's sd there is 1 / sqrt(k T q) = 1 / sqrt(2 x 30.7 x 0.4) = 0.20 at this run's T of 30.7.
        # 3 sd (>= 0.4) says less than clonal = yes (estimate >= 0.5, interval reaching 0.9), so the site's
        # 95% likelihood interval, from the same counts, must hold the truth (1, where it is capped).
        assert call["clonal"] == "yes" and float(call["clonal_fraction_high"]) == 1.0
        pooled += expected_junction_fragments(call, 0.4)
        clones.add((float(call["clone_fraction"]), float(call["clone_fraction_high"])))
    # one clone pools its sites' counts: sd 1 / sqrt(sum of k T q) = 1 / sqrt(2 x 24.6) = 0.14 here; the
    # estimate within 3 sd of the truth (>= 0.57) and its interval holding it
    ((fraction, high),) = clones
    assert fraction >= 1.0 - 3 / math.sqrt(pooled) and high == 1.0
    transgene = read_tsv(e2e_run / "out" / "car_pos" / "transgene.tsv")[0]
    assert transgene["detected"] == "yes"
    expected_vcn = float(read_tsv(e2e_run / "reads" / "car_pos.truth_transgene.tsv")[0]["vcn"])
    # counting noise: relative sd 7.8% at VCN 1 on demo_car at 30x, as 1/sqrt(VCN) (benchmark README);
    # within 4 sd (24% at the truth VCN 1.7 of this design)
    assert (
        abs(float(transgene["vcn"]) - expected_vcn) <= 4 * VCN_SD_30X / math.sqrt(expected_vcn) * expected_vcn
    )


@needs_tools
def test_car_negative_tumour_has_no_transgene_and_no_sites(e2e_run: Path) -> None:
    assert read_tsv(e2e_run / "out" / "car_neg" / "integration_sites.tsv") == []
    assert read_tsv(e2e_run / "out" / "car_neg" / "transgene.tsv")[0]["detected"] == "no"


@needs_tools
def test_summary_and_reports(e2e_run: Path) -> None:
    summary = {r["sample"]: r for r in read_tsv(e2e_run / "out" / "summary.tsv")}
    assert set(summary) == {"car_pos", "car_neg"}
    assert summary["car_pos"]["detected"] == "yes" and summary["car_neg"]["detected"] == "no"
    html = (e2e_run / "out" / "car_pos" / "report.html").read_text()
    truth = [r for r in read_tsv(e2e_run / "reads" / "car_pos.truth.tsv") if r["class"] == "clonal"]
    for site in truth:
        assert f"<b>{site['chrom']}:{int(site['position']):,}</b>" in html  # its row in the sites table
        assert (
            f"{site['chrom']}:{site['position']}({site['orientation']})" in html
        )  # named in the interpretation
    text = re.sub(r"<script\b.*?</script>", " ", html.split("</style>", 1)[1], flags=re.S)  # igv.js code
    assert re.search(r"\bNA\b", re.sub(r"<[^>]+>", " ", text)) is None


@needs_tools
def test_rerun_has_nothing_to_do(e2e_run: Path) -> None:
    config = e2e_run / "config.yaml"
    result = snakemake(e2e_run, "--dry-run", "--cores", "1", "--configfile", str(config))
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


@needs_tools
def test_bundled_demo_calls_its_clonal_sites_exactly(tmp_path: Path) -> None:
    """The README's demo (no --configfile) against the committed demo truth."""
    result = snakemake(tmp_path, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    calls = {
        (r["chrom"], r["position"]): r
        for r in read_tsv(tmp_path / "results/demo_tumour/integration_sites.tsv")
    }
    for site in (r for r in read_tsv(DEMO / "truth.tsv") if r["class"] == "clonal"):
        call = calls[(site["chrom"], site["position"])]
        for column in ("orientation", "left_junction", "right_junction", "tsd"):
            assert call[column] == site[column], column
    summary = read_tsv(tmp_path / "results/summary.tsv")[0]
    assert summary["interpretation"].startswith("CAR-derived clonal tumour")
