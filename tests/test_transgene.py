"""Transgene detection and VCN on reads simulated by ``carvis simulate`` and aligned with the workflow's pipe.

The world (genome with EEF1A1-like and CD28-like genes, CAR vector A copying them, vector B)
comes from test_mask.py; the mask is built with real minimap2 on the tiles.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import align_pairs, write_fasta
from test_mask import World, make_world, run_tiles

from carvis.core.errors import InputError
from carvis.core.intervals import read_bed
from carvis.core.io import read_tsv
from carvis.core.tables import TRANSGENE
from carvis.reads.coverage import ContigCoverage, autosomal_depth, mean_read_length, read_depth
from carvis.reference.mask import footprint_intervals, read_mask
from carvis.report.coverage_plot import coverage_svg
from carvis.sim.insertions import Insertion
from carvis.sim.simulate import TumourModel, simulate_tumour
from carvis.transgene.call import (
    Evidence,
    TransgeneFiles,
    TransgeneParams,
    call_transgene,
    call_vectors,
    decide,
    dispersion,
    fragment_dispersion,
    poisson_cdf,
    poisson_interval,
    poisson_sf,
    vcn_interval,
    write_transgene,
)
from carvis.transgene.vector_coverage import feature_coverage, provirus_depth

READ, FRAGMENT = 150, 320
INSERT_AT = 45_000  # first base of the target site (1-based), provirus in + orientation
#: Total (both haplotypes) simulated depth.
COVERAGE = 30.0


def align_and_measure(
    world: World, tmp: Path, cell_fraction: float, seed: int, contamination: float = 0.0
) -> tuple[Path, Path, Path]:
    """``carvis simulate`` (one heterozygous copy of vector A at INSERT_AT in ``cell_fraction`` of the cells,
    plasmid ``contamination``), the workflow's aligner pipe, then samtools coverage and depth over the
    vector contigs."""
    genome = write_fasta(tmp / "genome.fa", world.genome)
    insertions = [Insertion("chr1", INSERT_AT, "+", cell_fraction)] if cell_fraction else []
    reads = simulate_tumour(
        genome,
        world.a,
        insertions,
        tmp / "sim",
        TumourModel(
            coverage=COVERAGE,
            read_length=READ,
            insert_mean=FRAGMENT,
            insert_sd=30,
            contamination=contamination,
            seed=seed,
        ),
    )
    bam = align_pairs(world.combined, reads.r1, reads.r2, tmp / "sample.bam")
    bed = tmp / "vectors.bed"
    bed.write_text("".join(f"{c}\t0\t{len(s)}\n" for m in world.models for c, s in m.contigs().items()))
    coverage, depth = tmp / "coverage.tsv", tmp / "depth.tsv"
    with open(coverage, "w") as out:
        subprocess.run(["samtools", "coverage", str(bam)], stdout=out, check=True)
    with open(depth, "w") as out:
        subprocess.run(
            ["samtools", "depth", "-a", "-Q", "0", "-b", str(bed), str(bam)], stdout=out, check=True
        )
    return coverage, depth, bam


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, dict[str, list[tuple[int, int]]], list]:  # type: ignore[type-arg]
    if not (shutil.which("minimap2") and shutil.which("samtools")):
        pytest.skip("minimap2 and samtools are needed")
    tmp = tmp_path_factory.mktemp("world")
    built = make_world(tmp)
    mask_bed, footprint_bed = run_tiles(built, tmp)
    return built, read_bed(footprint_bed), read_mask(mask_bed)


def _call(world_: tuple[World, dict, list], tmp: Path, cells: float, plasmid: float = 0.0, **kw) -> dict:  # type: ignore[type-arg]
    built, footprint, mask = world_
    coverage, depth, bam = align_and_measure(built, tmp, cells, 11, plasmid)
    return call_transgene(
        "S", built.a, footprint, mask, TransgeneFiles(coverage, depth, bam), TransgeneParams(**kw)
    )


def _counted_bp(world_: tuple[World, dict, list]) -> int:  # type: ignore[type-arg]
    """Provirus bases of vector A that count for detection (its footprint)."""
    built, footprint, _ = world_
    return sum(e - s for s, e in footprint.get(built.a.provirus_contig, []))


def test_one_heterozygous_copy_in_every_cell_is_vcn_one(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    row = _call(world, tmp_path, 1.0, purity=0.8)
    assert row["detected"] == "yes", row["reason"]
    # counting: one copy at half the depth; fragments starting in the footprint (or reaching into it):
    # depth / 2 / (2 x READ) x (footprint + FRAGMENT), ~100; the VCN's relative sd ~ 1.1 / sqrt(fragments)
    # (compound Poisson, tests/benchmark/README.md), ~11%: the bounds are about 2 sd (fixed seed)
    expected = COVERAGE / 2 / (2 * READ) * (_counted_bp(world) + FRAGMENT)
    assert 0.8 <= row["vcn"] <= 1.2
    assert row["vcn_low"] < row["vcn"] < row["vcn_high"]
    assert row["vcn_low"] > 0.7 and row["vcn_high"] < 1.3
    assert row["vcn_per_tumour_cell"] == pytest.approx(row["vcn"] / 0.8)
    # 60 kb at 30x: ~6,000 fragments, relative sd ~1.3%: 4 sd
    fragments_60kb = 60_000 * COVERAGE / (2 * READ)
    assert row["autosomal_depth"] == pytest.approx(COVERAGE, rel=4 / math.sqrt(fragments_60kb))
    assert row["plasmid_contamination"] == "no"
    assert row["footprint_covered"] > 0.95
    # Poisson: within 4 sd of the expected count, nearly all from distinct starts
    assert abs(row["fragments"] - expected) <= 4 * math.sqrt(expected)
    assert row["distinct_positions"] >= 0.8 * row["fragments"]
    assert row["p_background"] < 1e-10 and row["vcn_dispersion"] >= 1
    assert row["vcn_low_per_tumour_cell"] == pytest.approx(row["vcn_low"] / 0.8)


def test_insertion_in_half_the_cells_is_vcn_half(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    row = _call(world, tmp_path, 0.5)
    assert row["detected"] == "yes", row["reason"]
    # ~50 fragments: relative sd ~15%, the bounds are about 1.3 sd (fixed seed)
    assert 0.4 <= row["vcn"] <= 0.6
    assert row["vcn_per_tumour_cell"] is None


def test_car_negative_tumour_with_the_homologous_genes_is_no(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built, footprint, mask = world
    coverage, depth, bam = align_and_measure(built, tmp_path, 0.0, seed=5)
    # endogenous EEF1A1/CD28 reads do land on the vector contig, only in the masked part
    provirus = read_depth(depth, {built.a.provirus_contig: len(built.a.provirus)})[built.a.provirus_contig]
    assert provirus.sum() > 0
    files = TransgeneFiles(coverage, depth, bam)
    row = call_transgene("S", built.a, footprint, mask, files)
    assert row["detected"] == "no", row["reason"]
    assert row["vcn"] < 0.01 and row["fragments"] == 0
    assert row["plasmid_contamination"] == "no"
    # without the mask the endogenous EEF1A1 promoter reads would look like a transgene
    unmasked = call_transgene("S", built.a, footprint_intervals(built.a, {}), [], files)
    assert unmasked["detected"] != "no" and unmasked["vcn"] > 0.1 and unmasked["fragments"] > 10


def test_plasmid_reads_are_flagged_as_contamination(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # contamination 0.2 at 30x: the plasmid at depth 30 x 0.2 / 2 = 3
    row = _call(world, tmp_path, 1.0, plasmid=0.2)
    assert row["plasmid_contamination"] == "yes"
    assert row["detected"] == "yes" and "plasmid contamination" in row["reason"]
    assert 2 <= row["backbone_depth"] <= 4 and row["backbone_fragments"] > 5


def test_plasmid_only_is_not_called_a_provirus(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    row = _call(world, tmp_path, 0.0, plasmid=0.2)
    assert row["plasmid_contamination"] == "yes"
    assert row["detected"] == "indeterminate" and "explained by plasmid" in row["reason"]


def test_every_vector_is_called_and_the_present_construct_is_named(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Vector B shares A's LTRs and WPRE: only B-specific regions count for B, so B is absent."""
    built, footprint, mask = world
    coverage, depth, bam = align_and_measure(built, tmp_path, 1.0, seed=3)
    b, a = built.models[1], built.a
    rows = call_vectors("S", [b, a], footprint, mask, TransgeneFiles(coverage, depth, bam))
    assert [r["vector"] for r in rows] == ["carB", "carA"]  # the given order: the sample's vector first
    by_name = {r["vector"]: r for r in rows}
    assert by_name["carA"]["detected"] == "yes" and by_name["carA"]["identity"] == "best"
    # no B-specific fragment; 1.4 kb of B-specific footprint at 30x cannot exclude VCN 0.02 (p > 0.05)
    assert by_name["carB"]["fragments"] == 0 and by_name["carB"]["detected"] in {"no", "indeterminate"}
    assert by_name["carB"]["identity"] in {"absent", "uncertain"}
    assert f"construct identity {by_name['carB']['identity']}" in by_name["carB"]["reason"]
    # per-feature coverage of A: LTRs and the internal region; the internal region is partly masked
    table = feature_coverage("S", a, provirus_depth(a, depth), [], footprint)
    assert [r["feature"] for r in table] == ["5' LTR", "internal region", "3' LTR"]
    assert 10 <= float(table[1]["mean_depth"]) <= 25  # LTR reads are shared with B's identical LTRs
    assert table[1]["covered_fraction"] == 1.0 and 0.3 < table[1]["footprint_fraction"] < 0.6
    svg = coverage_svg(a, provirus_depth(a, depth), [(a.provirus_contig, 100, 300, "genome:chr1:1-200")])
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "internal region" in svg
    assert svg.count("<rect") == 1 + 2 + 3  # one masked region, two LTRs, three features


def test_dispersion_is_one_for_even_coverage_and_widens_the_interval_for_uneven() -> None:
    even = np.full(3000, 20)
    assert dispersion(even, 150) == 1.0
    uneven = np.concatenate([np.full(500, 5 if i % 2 else 35) for i in range(6)])
    phi = dispersion(uneven, 150)
    assert phi > 5  # window read counts 16.7 vs 116.7 around a mean of 66.7
    narrow, wide = vcn_interval(even, 150, 30, 1.0), vcn_interval(uneven, 150, 30, phi)
    assert narrow[0] < 4 / 3 < narrow[1]  # VCN = 2 x 20 / 30
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


def _paired_depth(rng: np.random.Generator, size: int, depth: float) -> tuple[np.ndarray, list[int]]:
    """Per-base depth over a ``size`` bp footprint from Poisson read pairs, and each pair's bases in it."""
    span = size + 2 * 550
    n = rng.poisson(depth / (2 * READ) * span)
    start = rng.integers(0, span, n) - 550
    length = np.clip(np.rint(rng.normal(350, 50, n)), READ, 550).astype(int)
    values, bases = np.zeros(size, dtype=np.int64), []
    for a, b in zip(start, start + length, strict=True):
        mates = [(max(s, 0), min(e, size)) for s, e in ((a, a + READ), (b - READ, b))]
        for s, e in mates:
            values[s : max(s, e)] += 1
        if sum(max(0, e - s) for s, e in mates):
            bases.append(sum(max(0, e - s) for s, e in mates))
    return values, bases


def test_vcn_interval_is_as_wide_as_the_scatter_of_paired_reads() -> None:
    """Mates arrive together, so read counts are over-dispersed about 2x and the interval must say so.

    400 samples of VCN 0.5 at 30x over a 2500 bp footprint: the interval's implied sd matches the
    scatter of the estimates (window dispersion alone gave 0.85 of it) and holds the truth >= 93%.
    """
    rng = np.random.default_rng(11)
    estimates, sds, held = [], [], 0
    for _ in range(400):
        values, bases = _paired_depth(rng, 2500, 0.5 * 30 / 2)
        assert 1.6 < fragment_dispersion(bases, READ) < 2.1
        phi = max(dispersion(values, READ), fragment_dispersion(bases, READ))
        low, high = vcn_interval(values, READ, 30, phi)
        estimates.append(2 * values.mean() / 30)
        sds.append((high - low) / 2 / 1.96)
        held += low <= 0.5 <= high
    assert np.mean(estimates) == pytest.approx(0.5, rel=0.02)
    assert 0.9 < np.median(sds) / np.std(estimates) < 1.25
    assert held >= 0.93 * 400


def test_autosomal_depth_leaves_out_uncoverable_n_runs() -> None:
    """A 1000 bp contig whose last 100 bp are N: 27000 aligned bases are 30x over 900 bases."""
    row = ContigCoverage("chr1", 1000, 360, 900, 27.0)
    assert row.effective_length() == pytest.approx(900, abs=1)
    low = ContigCoverage("chr1", 1000, 10, 600, 1.0)  # 1x: bases are also missed by chance
    length = low.effective_length()
    assert 600 < length < 1000 and length * -math.expm1(-1000 / length) == pytest.approx(600)


# ---- parsers and the decision rule on hand-written tables -------------------------------------------

COVERAGE_HEADER = "#rname\tstartpos\tendpos\tnumreads\tcovbases\tcoverage\tmeandepth\tmeanbaseq\tmeanmapq\n"


def _coverage(tmp_path: Path, rows: list[tuple[str, int, int, float]]) -> Path:
    path = tmp_path / "coverage.tsv"
    body = "".join(f"{n}\t1\t{length}\t{reads}\t{length}\t100\t{d}\t30\t60\n" for n, length, reads, d in rows)
    path.write_text(COVERAGE_HEADER + body)
    return path


def test_autosomal_depth_skips_sex_mito_alt_and_vector_contigs(tmp_path: Path) -> None:
    path = _coverage(
        tmp_path,
        [
            ("chr1", 3000, 600, 30.0),
            ("chr2", 1000, 100, 10.0),
            ("chrX", 1000, 1, 15.0),
            ("Y", 1000, 1, 15.0),
            ("chrM", 100, 1, 900.0),
            ("MT", 100, 1, 900.0),
            ("chr1_KI270706v1_random", 100, 1, 500.0),
            ("chr6_GL000250v2_alt", 100, 1, 500.0),
            ("chrUn_KI270302v1", 100, 1, 500.0),
            ("chrEBV", 100, 1, 500.0),
            ("hs38d1_decoy", 100, 1, 500.0),
            ("KI270728.1", 100, 1, 500.0),
            ("carA__provirus", 5000, 1, 500.0),
            ("extra", 1000, 1, 500.0),
        ],
    )
    assert autosomal_depth(path, {"extra"}) == pytest.approx((3000 * 30 + 1000 * 10) / 4000)
    assert mean_read_length(path, {"extra"}) == pytest.approx((3000 * 30 + 1000 * 10) / 700)


def test_autosomal_depth_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no autosomal contig"):
        autosomal_depth(_coverage(tmp_path, [("chrX", 100, 1, 3.0)]), set())
    bad = tmp_path / "bad.tsv"
    bad.write_text("chr1\t1\t100\n")
    with pytest.raises(InputError, match="not samtools coverage"):
        autosomal_depth(bad, set())
    bad.write_text(COVERAGE_HEADER + "chr1\t1\tx\t1\t1\t1\t1\t1\t1\n")
    with pytest.raises(InputError, match="line 2"):
        autosomal_depth(bad, set())


def test_read_depth_fills_missing_positions_with_zero_and_rejects_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "depth.tsv"
    path.write_text("v__provirus\t2\t5\nv__provirus\t4\t1\nchr1\t1\t9\n")
    depth = read_depth(path, {"v__provirus": 5, "v__backbone": 3})
    assert depth["v__provirus"].tolist() == [0, 5, 0, 1, 0]
    assert depth["v__backbone"].tolist() == [0, 0, 0]
    for bad in ("v__provirus\t9\t2\n", "v__provirus\t0\t2\n", "v__provirus\t2\n"):
        path.write_text("v__provirus\t1\t2\n" + bad)
        with pytest.raises(InputError, match="line 2"):
            read_depth(path, {"v__provirus": 5})


def test_poisson_helpers_match_known_values() -> None:
    assert poisson_cdf(0, 2.0) == pytest.approx(0.1353352832)
    assert poisson_cdf(3, 2.0) == pytest.approx(0.8571234605)
    assert poisson_sf(0, 5.0) == 1.0
    assert poisson_sf(5, 2.0) == pytest.approx(1 - 0.9473469827)
    low, high = poisson_interval(10)
    assert low == pytest.approx(4.795, abs=1e-3) and high == pytest.approx(18.390, abs=1e-3)
    assert poisson_interval(0)[1] == pytest.approx(3.689, abs=1e-3)


def _evidence(**kw: object) -> Evidence:
    base = dict(
        vcn=1.0,
        signal_vcn=1.0,
        p_signal=1e-9,
        p_min_vcn=1.0,
        covered=1.0,
        expected_covered=1.0,
        footprint_bp=3000,
        contamination=False,
        fragments=100,
        positions=90,
    )
    return Evidence(**(base | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "detected", "words"),
    [
        ({}, "yes", "above background"),
        ({"contamination": True}, "yes", "plasmid contamination"),
        ({"p_signal": 0.5, "p_min_vcn": 0.01, "vcn": 0.0}, "no", "compatible with background"),
        ({"p_signal": 0.5, "p_min_vcn": 0.3, "vcn": 0.0}, "indeterminate", "too low to exclude"),
        ({"vcn": 0.01, "signal_vcn": 0.01}, "indeterminate", "trace"),
        ({"signal_vcn": 0.0, "contamination": True}, "indeterminate", "explained by plasmid"),
        ({"covered": 0.05}, "indeterminate", "stack"),
        ({"positions": 1}, "indeterminate", "stack"),
        ({"covered": 0.05, "expected_covered": 0.1, "vcn": 0.05, "signal_vcn": 0.05}, "yes", "spread"),
        ({"footprint_bp": 0}, "indeterminate", "masked"),
    ],
)
def test_decision_rule(changes: dict[str, object], detected: str, words: str) -> None:
    got, reason = decide(_evidence(**changes), TransgeneParams(min_vcn=0.02, min_footprint_covered=0.2))
    assert got == detected
    assert words in reason


def test_write_transgene_has_the_contract_columns(tmp_path: Path) -> None:
    row = {c: None for c in TRANSGENE} | {"sample": "S", "vector": "carA", "detected": "no", "vcn": 0.0}
    write_transgene([row], tmp_path / "t.tsv")
    rows = read_tsv(tmp_path / "t.tsv")
    assert list(rows[0]) == list(TRANSGENE)
    assert rows[0]["vcn_per_tumour_cell"] == "NA" and rows[0]["detected"] == "no"
