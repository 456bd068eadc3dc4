"""Hybrid capture with vector baits (issue 16): a captured demo tumour through the workflow, and the
rules for VCN and clonal fraction without controls or baited flanks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from carvis.core.errors import InputError
from carvis.core.io import read_tsv
from carvis.reads.capture import read_regions
from carvis.sites.capture import flanks_baited
from carvis.transgene.assay import capture_row
from tests.helpers import CAPTURE_FLANK, captured_demo, simulate_demo_tumour, snakemake

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


@pytest.fixture(scope="module")
def capture_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if any(shutil.which(t) is None for t in ("minimap2", "samtools")):
        pytest.skip("minimap2 and samtools are needed")
    tmp = tmp_path_factory.mktemp("capture")
    simulate_demo_tumour(tmp / "wgs", "C1", seed=21)
    counts, config = captured_demo(tmp / "wgs", "C1", 0.02, seed=3)
    assert counts["on_target"] < counts["pairs"] / 5  # a capture library, not a genome
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp, "--cores", "2", "--configfile", str(tmp / "config.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp


def test_capture_vcn_interval_holds_the_truth(capture_run: Path) -> None:
    row = read_tsv(capture_run / "out" / "C1" / "transgene.tsv")[0]
    truth = float(read_tsv(capture_run / "wgs.truth_transgene.tsv")[0]["vcn"])
    assert row["detected"] == "yes" and "normalised to the depth over 10 control regions" in row["reason"]
    assert float(row["vcn_low"]) <= truth <= float(row["vcn_high"]), (row["vcn"], truth)


def test_capture_clonal_fraction_only_where_flanks_are_baited(capture_run: Path) -> None:
    sites = {
        (s["chrom"], s["position"]): s for s in read_tsv(capture_run / "out" / "C1" / "integration_sites.tsv")
    }
    baited = sites[("chr1", "251233")]
    assert "capture_relative_abundance" not in baited["flags"]
    assert float(baited["clonal_fraction_low"]) <= 1.0 <= float(baited["clonal_fraction_high"])  # truth 1
    other = sites[("chr1", "189280")]  # clonal too, but its flanks are not baited
    assert "capture_relative_abundance" in other["flags"] and other["clonal_fraction_low"] == "NA"
    assert other["clonal_fraction"] == other["relative_abundance"] and other["clonal"] == "no"


def test_capture_without_controls_gives_no_vcn_and_says_why() -> None:
    row = capture_row({"vcn": 1.7, "vcn_low": 1.5, "vcn_high": 1.9, "reason": "detected"}, None)
    assert row["vcn"] is None and row["vcn_low"] is None and row["vcn_high"] is None
    assert "no control regions are configured (capture.control_bed)" in str(row["reason"])


def test_flanks_and_bed_errors(tmp_path: Path) -> None:
    assert flanks_baited({"chrom": "chr1", "position": "251233"}, CAPTURE_FLANK)
    assert not flanks_baited(
        {"chrom": "chr1", "position": "253800"}, CAPTURE_FLANK
    )  # within 500 bp of the edge
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t100\t200\nchr1\tten\t300\n")
    with pytest.raises(InputError) as err:
        read_regions(bad)
    assert err.value.line == 2


def test_duplicates_are_marked_by_umi(tmp_path: Path) -> None:
    """Three pairs at one position: two share a UMI (one is a duplicate), the third is its own molecule."""
    import random
    import subprocess

    import pysam

    from carvis.reads.align import UMI_MARKDUP, Aligner, align_command, bam_command
    from tests.helpers import random_seq, require_tools, write_fasta, write_fastq_pairs

    require_tools("minimap2", "samtools")
    seq = random_seq(random.Random(4), 5000)
    reference = write_fasta(tmp_path / "ref.fa", {"chr1": seq})
    fragment = seq[1000:1400]
    from carvis.core.seqs import revcomp

    names = [
        "M1:7:FC1:1:1101:10:1:ACGTACGT",
        "M1:7:FC1:1:1101:10:2:ACGTACGT",
        "M1:7:FC1:1:1101:10:3:TTGGCCAA",
    ]
    write_fastq_pairs(
        tmp_path / "r1.fq.gz",
        tmp_path / "r2.fq.gz",
        [(n, fragment[:150], revcomp(fragment)[:150]) for n in names],
    )

    def duplicates(markdup: str) -> int:
        bam = tmp_path / f"out{len(markdup)}.bam"
        aligner = Aligner("minimap2", reference, 1)
        align = align_command(aligner, [tmp_path / "r1.fq.gz"], [tmp_path / "r2.fq.gz"], "S")
        subprocess.run(["bash", "-o", "pipefail", "-c", bam_command(align, bam, 1, markdup)], check=True)
        with pysam.AlignmentFile(str(bam)) as handle:
            return sum(r.is_duplicate and r.is_read1 for r in handle)

    assert duplicates("") == 2
    assert duplicates(UMI_MARKDUP) == 1


def test_capture_run_without_controls_says_why_there_is_no_vcn(capture_run: Path) -> None:
    config = yaml.safe_load((capture_run / "config.yaml").read_text())
    config["outdir"] = "out_no_controls"
    del config["capture"]["control_bed"]
    (capture_run / "no_controls.yaml").write_text(yaml.safe_dump(config))
    target = "out_no_controls/C1/transgene.tsv"
    result = snakemake(
        capture_run, target, "--cores", "2", "--configfile", str(capture_run / "no_controls.yaml")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    row = read_tsv(capture_run / target)[0]
    assert row["detected"] == "yes" and row["vcn"] == "NA" and row["vcn_low"] == "NA"
    assert "no control regions are configured" in row["reason"]
