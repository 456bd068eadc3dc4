"""Screening before alignment: the screening reference, progress, depth scaling, and screened = full."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from helpers import build_test_vector, random_seq
from test_workflow import DEMO, snakemake, write_config

from carvis.cli import main as carvis
from carvis.io import read_tsv
from carvis.screen import Progress, _scaled_row, screen_pieces, subsample_option
from carvis.transgene import ContigCoverage


def test_screen_pieces_cut_out_masked_parts_and_keep_the_ltrs(tmp_path: Path) -> None:
    rng = random.Random(1)
    model = build_test_vector(tmp_path / "v.fa", "car", random_seq(rng, 2000), rng)
    contig = model.provirus_contig
    pieces = screen_pieces([model], [(contig, 1000, 1500, "genome:chr1:1-500"), (contig, 1510, 1520, "x")])
    seq = model.provirus
    assert f"{contig}:1-1000" in pieces and pieces[f"{contig}:1-1000"] == seq[:1000]
    assert f"{contig}:1521-{len(seq)}" in pieces  # ends with the 3' LTR
    assert not any(name.startswith(f"{contig}:1501-") for name in pieces)  # 10 bp piece: too short
    masked = seq[1000:1500]
    assert all(masked not in piece for piece in pieces.values())
    assert pieces[f"{model.backbone_contig}:1-{len(model.backbone)}"] == model.backbone


def test_subsample_option_is_seed_dot_fraction() -> None:
    assert subsample_option(0.05, 7) == "7.05"
    assert subsample_option(0.001, 12) == "12.001"
    with pytest.raises(ValueError):
        subsample_option(1.0, 7)


def test_progress_reports_rate_and_eta_from_minimap2_batches() -> None:
    progress = Progress(expected_reads=1_000_000, started=0.0)
    assert progress.line("[M::main] Real time: 1.0 sec", 5.0) is None
    message = progress.line("[M::worker_pipeline::20.0*1.90] mapped 250000 sequences\n", 20.0)
    assert message is not None
    assert "250,000 reads" in message and "25%" in message and "12,500 reads/s" in message
    assert "ETA 60 s" in message
    assert progress.line("[M::worker_pipeline::21.0*1.90] mapped 250000 sequences", 21.0) is None  # too soon
    assert progress.reads == 500_000


def test_scaled_depth_sample_keeps_the_effective_length() -> None:
    """A 2x sample of a contig with 20% N, scaled by 10, reads as 20x over the same 80%."""
    length, effective, depth = 100_000, 80_000, 2.0 * 0.8
    covered = round(effective * (1 - 2.718281828459045 ** (-depth * length / effective)))
    fields = ["chr1", "1", str(length), "1000", str(covered), "60", f"{depth}", "30", "60"]
    scaled = _scaled_row(fields, 10.0)
    row = ContigCoverage("chr1", length, int(scaled[3]), int(scaled[4]), float(scaled[6]))
    assert row.reads == 10_000 and row.mean_depth == pytest.approx(16.0)
    assert row.effective_length() == pytest.approx(effective, rel=0.01)


@pytest.fixture(scope="module")
def screened_and_full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """One simulated CAR-derived tumour run with screening and with full alignment."""
    if any(shutil.which(t) is None for t in ("minimap2", "samtools")):
        pytest.skip("minimap2 and samtools are needed (bash scripts/setup.sh installs them)")
    tmp = tmp_path_factory.mktemp("screen")
    args = ["simulate", "--genome", str(DEMO / "genome.fa"), "--vector", str(DEMO / "vector.gb")]
    args += ["--vector-name", "demo_car", "--design", str(DEMO / "design.tsv"), "--coverage", "15"]
    args += ["--purity", "0.8", "--seed", "11", "--sample", "t1", "--out-prefix", str(tmp / "t1")]
    assert carvis(args) == 0
    sheet = tmp / "samples.tsv"
    sheet.write_text(
        "sample\tfastq_1\tfastq_2\tvector\tpurity\nt1\tt1_R1.fastq.gz\tt1_R2.fastq.gz\tdemo_car\t0.8\n"
    )
    runs = []
    for name, screen in (
        ("screened", {"enabled": True, "depth_sample_fraction": 0.1}),
        ("full", {"enabled": False}),
    ):
        folder = tmp / name
        folder.mkdir()
        result = snakemake(
            folder, "--cores", "2", "--configfile", str(write_config(folder, sheet, screen=screen))
        )
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(folder / "out")
    return tmp, runs[0], runs[1]


def test_screened_run_calls_the_same_sites_junctions_and_vcn(
    screened_and_full: tuple[Path, Path, Path],
) -> None:
    tmp, screened, full = screened_and_full
    columns = ("chrom", "position", "orientation", "left_junction", "right_junction", "tsd")
    sites = [
        {tuple(r[c] for c in columns) for r in read_tsv(run / "t1" / "integration_sites.tsv")}
        for run in (screened, full)
    ]
    clonal = {(r["chrom"], r["position"]) for r in read_tsv(tmp / "t1.truth.tsv") if r["class"] == "clonal"}
    assert clonal <= {s[:2] for s in sites[1]}
    assert sites[0] == sites[1]
    vcn = [float(read_tsv(run / "t1" / "transgene.tsv")[0]["vcn"]) for run in (screened, full)]
    assert vcn[0] == pytest.approx(vcn[1], rel=0.05)
    stats = read_tsv(screened / "screen" / "t1.screen.tsv")[0]
    assert int(stats["kept_reads"]) < 0.02 * int(stats["reads"])
    assert "reads/s" in (screened / "logs" / "screen_reads" / "t1.log").read_text()


def test_screened_clonal_fractions_model_the_missing_reference_fragments(
    screened_and_full: tuple[Path, Path, Path],
) -> None:
    """The screened BAM holds almost no reference fragments: they are modelled from depth and fragment
    length, so junction + modelled spanning fragments = all fragments expected over the window, the true
    clones stay clonal and no bystander becomes clonal."""
    tmp, screened, full = screened_and_full
    truth = read_tsv(tmp / "t1.truth.tsv")
    calls = [
        {(r["chrom"], r["position"]): r for r in read_tsv(run / "calls" / "t1.sites.tsv")}
        for run in (screened, full)
    ]
    # simulated: 15x of 150 bp reads from 350 bp fragments; a spanner covers 33 bases (TSD 5 + 2 x 14)
    covering = 15 / (2 * 150) * (350 - 33 + 1)
    for site in (s for s in truth if s["class"] == "clonal"):
        mine, theirs = (run[(site["chrom"], site["position"])] for run in calls)
        assert "spanning_modelled" in mine["flags"] and theirs["flags"] == "NA"
        assert int(mine["fragments"]) / 2 + float(mine["spanning_fragments"]) == pytest.approx(
            covering, rel=0.1
        )
        # every tumour cell carries it; at 15x both estimates must at least reach the clonal threshold
        assert float(mine["clonal_fraction"]) >= 0.5 and float(theirs["clonal_fraction"]) >= 0.5
    bystanders = {(s["chrom"], s["position"]) for s in truth if float(s["cell_fraction"]) <= 0.01}
    assert not [r for key, r in calls[0].items() if key in bystanders and r["clonal"] == "yes"]
