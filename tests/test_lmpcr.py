"""LM-PCR (issue 16): trimming, simulated runs with known truth, sites, abundance, specimen pairing."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from carvis.core.errors import InputError
from carvis.core.io import read_tsv
from carvis.core.seqs import revcomp
from carvis.reads.lmpcr import PRESETS, Trimmer, end_oligos, layout_from_config, trim_run
from carvis.reference.vectors import VectorModel
from carvis.sim.lmpcr import Clone, RunModel, power_law_clones, simulate_run
from carvis.sites.abundance import distinct_umis, estimate, fit_shear, solve_theta
from carvis.sites.lmpcr import call_lmpcr_sites, write_junctions
from tests.helpers import align_pairs, build_test_vector, random_genome, random_seq, write_combined_reference

INSPIIRED = PRESETS["inspiired"]
NRLAM = PRESETS["nrlam"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], VectorModel, Path]:
    """A 400 kb random genome, a lentiviral test vector and the combined reference."""
    root = tmp_path_factory.mktemp("lmpcr")
    rng = random.Random(16)
    genome = random_genome(rng, {"chr1": 250_000, "chr2": 150_000})
    vector = build_test_vector(root / "vector.fa", "car", random_seq(rng, 3000), rng)
    reference = write_combined_reference(root / "combined.fa", genome, [vector])
    return root, genome, vector, reference


# --- layout and trimming ---------------------------------------------------------------------------


def test_oligos_come_from_the_vector_ends(world: tuple[Path, dict[str, str], VectorModel, Path]) -> None:
    _, _, vector, _ = world
    primer, ltr = end_oligos(INSPIIRED, vector, "3p")
    assert ltr.endswith("CA") and (primer + ltr) == vector.provirus[-14:]
    assert ltr == "TCTAGCA" and primer.endswith("AAAATC")  # INSPIIRED: GAAAATC + TCTAGCA (HIV U5)
    primer5, ltr5 = end_oligos(INSPIIRED, vector, "5p")
    assert ltr5.endswith("CA") and revcomp(primer5 + ltr5) == vector.provirus[:14]


def test_presets_and_overrides() -> None:
    assert INSPIIRED.ltr_read == 2 and INSPIIRED.umi_span is not None
    assert INSPIIRED.umi_span[1] - INSPIIRED.umi_span[0] == 12
    assert NRLAM.ltr_read == 1 and NRLAM.umi_span is None
    custom = layout_from_config(
        {"preset": "nrlam", "linker": "acgtacgtnnnnnnacgtacgtacgtac", "umi_start": 8, "umi_length": 6}
    )
    assert custom.umi_span == (8, 14) and custom.ltr_read == 1
    with pytest.raises(InputError, match="preset 'lam' is unknown"):
        layout_from_config({"preset": "lam"})


def test_trimming_requires_the_exact_ltr_end() -> None:
    primer, ltr = "ACGTTGCAACGTTGCAACGT", "GGATCCTTAGCA"
    host = random_seq(random.Random(1), 60)
    linker = "GACGCTAGCATCGTAACGC" + "ACGTACGTACGT" + INSPIIRED.linker[31:]
    trimmer = Trimmer(INSPIIRED, primer, ltr)
    qual = "I" * 200
    ok = trimmer.outcome((primer + ltr + host, qual), (linker + revcomp(host), qual))
    assert not isinstance(ok, str) and ok.host_ltr[0] == host and ok.umi == "ACGTACGTACGT"
    assert ok.host_linker[0] == revcomp(host)
    # one mismatch in the LTR body is tolerated, none in the terminal CA
    assert not isinstance(
        trimmer.outcome(("ACGTTGCAACGTTGCAACGTGCATCCTTAGCA" + host, qual), (linker, qual)), str
    )
    assert trimmer.outcome((primer + ltr[:-1] + "G" + host, qual), (linker, qual)) == "mispriming"
    assert trimmer.outcome((primer + host, qual), (linker, qual)) == "mispriming"
    assert trimmer.outcome((random_seq(random.Random(2), 90), qual), (linker, qual)) == "no_primer"
    through = primer + ltr + revcomp(linker)
    assert trimmer.outcome((through, qual), (linker + revcomp(ltr), qual)) == "linker_only"
    assert (
        trimmer.outcome((primer + ltr + host, qual), (random_seq(random.Random(3), 80), qual)) == "no_linker"
    )


# --- estimators ------------------------------------------------------------------------------------


def test_umis_one_base_apart_merge() -> None:
    from collections import Counter

    assert distinct_umis(Counter({"AAAA": 10, "AAAT": 1, "CCCC": 3, "GGGG": 1})) == 3


def test_shear_estimator_corrects_saturation() -> None:
    """Molecules drawn on 50 lengths: distinct lengths saturate, the fitted theta does not."""
    rng = np.random.default_rng(3)
    weights = np.linspace(1, 3, 50)
    phi = weights / weights.sum()
    truths = [2, 5, 10, 20, 40, 80, 160, 320]
    sites = [list(set(rng.choice(50, size=t, p=phi).tolist())) for t in truths]
    fitted, _ = fit_shear(sites)
    estimates = [solve_theta(len(s), fitted) for s in sites]
    assert len(sites[-1]) < 60 and estimates[-1] > 150  # 50 lengths at most, yet ~320 estimated
    assert spearmanr(estimates, truths).statistic > 0.95
    for est, truth in zip(estimates[:6], truths[:6], strict=True):
        assert truth / 2.5 <= est <= truth * 2.5


# --- simulated runs end to end ----------------------------------------------------------------------


def _run(world, layout, clones, name: str, model: RunModel) -> tuple[Path, dict[str, int]]:
    root, genome, vector, reference = world
    prefix = root / name
    simulate_run(genome, vector, layout, clones, prefix, model)
    raw = (root / f"{name}_R1.fastq.gz", root / f"{name}_R2.fastq.gz")
    trimmed = (root / f"{name}.t_R1.fastq.gz", root / f"{name}.t_R2.fastq.gz", root / f"{name}.trim.tsv")
    counts = trim_run(layout, end_oligos(layout, vector, model.ltr_end), raw, trimmed)
    bam = align_pairs(reference, trimmed[0], trimmed[1], root / f"{name}.bam", sample=name)
    junctions = root / f"{name}.junctions.tsv"
    write_junctions(bam, model.ltr_end, junctions, {"min_mapq": 20, "max_clip": 2, "wobble": 2})
    return junctions, counts


CLONES = [
    Clone("chr1", 40_001, "+", 300),
    Clone("chr1", 120_500, "-", 60),
    Clone("chr2", 70_000, "+", 12),
    Clone("chr2", 110_000, "-", 3),
]


@pytest.mark.parametrize("layout", [INSPIIRED, NRLAM], ids=["inspiired", "nrlam"])
def test_run_finds_every_clone_at_the_base(world, layout) -> None:
    root, _, vector, reference = world
    model = RunModel(misprime_share=0.3, linker_only_share=0.1, internal_share=0.1, seed=5)
    junctions, counts = _run(world, layout, CLONES, f"run_{layout.name}", model)
    assert counts["mispriming"] > 20 and counts["linker_only"] > 5
    sites = call_lmpcr_sites(
        [junctions], reference, "S", ("car", vector.tsd_length), (root / "s.tsv", root / "a.tsv"), {}
    )
    called = {(s["chrom"], s["position"], s["orientation"]) for s in sites}
    truth = {(c.chrom, c.position, c.orientation) for c in CLONES}
    assert called == truth  # mispriming, linker-only and internal reads make no site
    by_key = {(s["chrom"], s["position"]): s for s in sites}
    assert abs(float(str(by_key[("chr1", 40_001)]["relative_abundance"])) - 300 / 375) < 0.15
    rows = read_tsv(root / "a.tsv")
    # the estimate counts the molecules the run sampled (each cell's copy ligated with chance 0.5)
    sampled = {
        (t["chrom"], int(t["position"])): int(t["molecules"])
        for t in read_tsv(root / f"run_{layout.name}.truth.tsv")
    }
    for row in rows:
        truth = sampled[(row["chrom"], int(row["position"]))]
        if layout.umi_span:
            assert abs(float(row["estimated_cells"]) - truth) <= max(2, 0.1 * truth)  # short ones are lost
        else:
            assert truth / 2 <= float(row["estimated_cells"]) <= truth * 2
    assert all(r["not_measured"].startswith("clonal_fraction") for r in rows)
    assert {r["estimator"] for r in rows} == {"umi" if layout.umi_span else "shear_points"}
    site_rows = read_tsv(root / "s.tsv")
    assert all(r["clonal_fraction"] == "NA" and "lmpcr" in r["flags"] for r in site_rows)
    for row in rows:
        assert (
            float(row["estimated_cells_low"])
            <= float(row["estimated_cells"])
            <= float(row["estimated_cells_high"])
        )


def test_specimen_pairs_5p_and_3p_runs_by_tsd(world) -> None:
    root, genome, vector, reference = world
    three, _ = _run(world, INSPIIRED, CLONES[:3], "pair3", RunModel(ltr_end="3p", seed=8))
    five, _ = _run(world, INSPIIRED, CLONES[:3], "pair5", RunModel(ltr_end="5p", seed=9))
    sites = call_lmpcr_sites(
        [three, five],
        reference,
        "S3",
        ("car", vector.tsd_length),
        (root / "p.tsv", root / "pa.tsv"),
        {"specimen": "P1"},
    )
    assert len(sites) == 3
    for clone, site in zip(sorted(CLONES[:3], key=lambda c: (c.chrom, c.position)), sites, strict=True):
        assert site["position"] == clone.position and site["orientation"] == clone.orientation
        assert site["right_junction"] == clone.position
        assert site["left_junction"] == clone.position + vector.tsd_length - 1
        tsd = genome[clone.chrom][clone.position - 1 : clone.position - 1 + vector.tsd_length]
        assert site["tsd"] == tsd and "one_sided" not in str(site["flags"])
    assert {r["ltr_ends"] for r in read_tsv(root / "pa.tsv")} == {"3p,5p"}


def test_estimate_without_sites_is_empty() -> None:
    assert estimate([], with_umi=False) == [] and estimate([], with_umi=True) == []


def test_power_law_clones_sum_to_the_cells() -> None:
    genome = {"chr1": "A" * 100_000, "chr2": "C" * 50_000}
    clones = power_law_clones(genome, 10_000, 100, seed=2)
    sizes = [c.cells for c in clones]
    assert len(clones) == 100 and sizes == sorted(sizes, reverse=True)
    assert abs(sum(sizes) - 10_000) < 150 and sizes[0] > 1500
    assert replace(clones[0], cells=1).cells == 1


def test_pairs_out_of_step_are_bad_input(tmp_path: Path) -> None:
    (tmp_path / "r1.fq").write_text("@a/1\nACGT\n+\nIIII\n@b/1\nACGT\n+\nIIII\n")
    (tmp_path / "r2.fq").write_text("@a/2\nACGT\n+\nIIII\n@c/2\nACGT\n+\nIIII\n")
    out = (tmp_path / "o1.fq.gz", tmp_path / "o2.fq.gz")
    with pytest.raises(InputError, match="'b'"):
        trim_run(NRLAM, ("ACGT", "TTCA"), (tmp_path / "r1.fq", tmp_path / "r2.fq"), out)
    assert not out[0].exists()  # nothing half-written


def test_a_run_whose_reads_lack_the_primer_is_not_of_the_layout(tmp_path: Path) -> None:
    """A whole-genome library (or another protocol) given as LM-PCR stops at trimming, naming the LTR-side
    FASTQ, instead of reading as "no integration site amplified"."""
    rng = random.Random(3)
    reads = [random_seq(rng, 60) for _ in range(20)]
    reads = [r if not r.startswith("ACGT") else "T" + r[1:] for r in reads]
    for name, mate in (("r1.fq", 1), ("r2.fq", 2)):
        records = (f"@p{i}/{mate}\n{r}\n+\n{'I' * len(r)}\n" for i, r in enumerate(reads))
        (tmp_path / name).write_text("".join(records))
    out = (tmp_path / "o1.fq.gz", tmp_path / "o2.fq.gz")
    with pytest.raises(InputError, match="of 20 read pairs do not start with the LTR primer ACGT") as error:
        trim_run(NRLAM, ("ACGT", "TTCA"), (tmp_path / "r1.fq", tmp_path / "r2.fq"), out)
    assert error.value.path == str(tmp_path / ("r1.fq" if NRLAM.ltr_read == 1 else "r2.fq"))
    assert not out[0].exists()  # nothing half-written


def test_simulate_lmpcr_command(tmp_path: Path) -> None:
    from tests.helpers import ROOT, carvis

    demo = ROOT / "resources" / "demo"
    args = ["simulate-lmpcr", "--genome", str(demo / "genome.fa"), "--vector", str(demo / "vector.gb")]
    args += ["--cells", "500", "--clones", "10", "--preset", "nrlam", "--out-prefix", str(tmp_path / "L")]
    assert carvis(args) == 0
    truth = read_tsv(tmp_path / "L.truth.tsv")
    assert len(truth) == 10 and sum(int(t["cells"]) for t in truth) in range(480, 521)
    assert (tmp_path / "L_R1.fastq.gz").stat().st_size > 0  # nrLAM: read 1 starts in the LTR


def test_artefacts_never_make_a_site(world) -> None:
    """Three mispriming and one linker-only product per junction molecule: still only the one clone."""
    root, _, vector, reference = world
    clone = [Clone("chr2", 30_000, "-", 20)]
    model = RunModel(misprime_share=3.0, linker_only_share=1.0, internal_share=1.0, seed=11)
    junctions, counts = _run(world, NRLAM, clone, "artefacts", model)
    assert counts["mispriming"] > 2 * counts["kept"] // 3
    sites = call_lmpcr_sites(
        [junctions], reference, "S", ("car", vector.tsd_length), (root / "x.tsv", root / "xa.tsv"), {}
    )
    assert [(s["chrom"], s["position"], s["orientation"]) for s in sites] == [("chr2", 30_000, "-")]
