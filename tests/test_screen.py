"""Screening before alignment: the screening reference, progress, depth scaling, and screened = full."""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    build_test_vector,
    fastq_names,
    random_seq,
    require_tools,
    simulate_demo_tumour,
    simulate_reads,
    write_fastq_pairs,
)
from test_workflow import snakemake, write_config

from carvis.core.errors import InputError
from carvis.core.io import read_tsv
from carvis.core.seqs import revcomp
from carvis.reads.coverage import ContigCoverage, scaled_row
from carvis.reads.probe import estimate_bases, estimate_reads
from carvis.reads.screen import (
    Progress,
    ScreenFiles,
    ScreenSettings,
    depth_fraction,
    run_screen,
    screen_pieces,
    subsample_option,
    write_screen_reference,
)
from carvis.reference.vectors import VectorModel
from carvis.sim.long_reads import read_lengths


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


def test_progress_reports_rate_and_eta_from_the_screen_counts() -> None:
    progress = Progress(expected_reads=1_000_000, started=0.0)
    assert progress.line("something else", 5.0) is None
    message = progress.line("kmer_screen: 125000 pairs\n", 20.0)
    assert message is not None
    assert "250,000 reads" in message and "25%" in message and "12,500 reads/s" in message
    assert "ETA 60 s" in message
    assert progress.line("kmer_screen: 250000 pairs", 21.0) is None  # too soon
    assert progress.reads == 500_000


def _screen_world(tmp: Path, rng: random.Random) -> tuple[VectorModel, str, Path, Path]:
    """A test vector with one masked stretch (host-homologous), its screening files and a host genome."""
    model = build_test_vector(tmp / "v.fa", "car", random_seq(rng, 3000), rng)
    mask = [(model.provirus_contig, 1500, 2000, "genome:chr1:1-500")]
    pieces, ends = tmp / "pieces.fa", tmp / "ends.fa"
    write_screen_reference([model], mask, pieces, ends)
    return model, random_seq(rng, 200_000), pieces, ends


def _names(fastq: Path) -> list[str]:
    """Read names (without /1) of a FASTQ, in order."""
    return [line[1:].split("/")[0] for line in fastq.read_text().splitlines()[::4]]


def _samtools_sample(names: list[str], fraction: float, tmp: Path) -> list[str]:
    """The names ``samtools view -s`` (seed 7) keeps, in order."""
    sam = tmp / "names.sam"
    sam.write_text("".join(f"{name}\t4\t*\t0\t0\t*\t*\t0\t0\t*\t*\n" for name in names))
    option = subsample_option(fraction, 7)
    command = ["samtools", "view", "-s", option, str(sam)]
    view = subprocess.run(command, capture_output=True, text=True, check=True)
    return [line.split("\t")[0] for line in view.stdout.splitlines()]


def test_kmer_screen_keeps_vector_and_short_junction_reads_not_host_or_masked_ones(
    tmp_path: Path, kmer_screen: Path
) -> None:
    rng = random.Random(3)
    model, host, pieces, ends = _screen_world(tmp_path, rng)
    provirus = model.provirus
    mate = host[150_000:150_150]
    expected: dict[str, bool] = {}
    pairs = []

    def add(name: str, read: str, keep: bool) -> None:
        expected[name] = keep
        pairs.append((name, read if rng.random() < 0.5 else revcomp(read), revcomp(mate)))

    for i in range(300):  # host only, and the masked (host-homologous) vector stretch: never kept
        start = rng.randrange(0, len(host) - 150)
        add(f"host{i}", host[start : start + 150], False)
    add("masked", provirus[1600:1750], False)
    for vector_bp in range(12, 40):  # junction reads: host then the provirus 5' end, or 3' end then host
        add(f"left{vector_bp}", host[1000 : 1150 - vector_bp] + provirus[:vector_bp], True)
        add(f"right{vector_bp}", provirus[-vector_bp:] + host[2000 : 2150 - vector_bp], True)
    add("internal", provirus[600:750], True)
    add("backbone", model.backbone[100:250], True)
    r1, r2 = tmp_path / "r_R1.fastq.gz", tmp_path / "r_R2.fastq.gz"
    write_fastq_pairs(r1, r2, pairs)
    out = tmp_path / "out" / "s"
    files = ScreenFiles(kmer_screen, pieces, ends, [r1], [r2], out, tmp_path / "s.tsv")
    stats = run_screen("s", files, ScreenSettings(fraction=0.2))
    written = set(_names(Path(f"{out}_R1.fastq")))
    sampled = set(_samtools_sample([name for name, _, _ in pairs], 0.2, tmp_path))
    wrong = {name for name, keep in expected.items() if keep != (name in written - sampled)}
    assert not wrong - sampled
    assert written == {name for name, keep in expected.items() if keep} | sampled
    assert stats["reads"] == 2 * len(pairs) and stats["kept_reads"] == 2 * sum(expected.values())


def test_kmer_screen_depth_sample_is_the_one_samtools_view_s_picks(tmp_path: Path, kmer_screen: Path) -> None:
    """The depth sample is re-selected in the aligned BAM with ``samtools view -s``: same hash, same reads."""
    require_tools("samtools")
    model, host, pieces, ends = _screen_world(tmp_path, random.Random(4))
    reads = simulate_reads(tmp_path / "r", {"host": host}, model, 10, seed=4)
    r1, r2, pairs = reads.r1, reads.r2, fastq_names(reads.r1)
    out = tmp_path / "out" / "s"
    files = ScreenFiles(kmer_screen, pieces, ends, [r1], [r2], out, tmp_path / "s.tsv")
    stats = run_screen("s", files, ScreenSettings(fraction=0.05))
    picked = _samtools_sample(pairs, 0.05, tmp_path)
    assert 0.03 * len(pairs) < len(picked) < 0.07 * len(pairs)
    assert _names(Path(f"{out}_R1.fastq")) == picked
    assert stats["sampled_reads"] == 2 * len(picked) and stats["kept_reads"] == 0


def test_depth_sample_is_capped_at_max_pairs(tmp_path: Path, kmer_screen: Path) -> None:
    """A depth sample that would exceed ``max_pairs`` gets the lower fraction that holds about that many
    pairs, still the pairs ``samtools view -s`` picks at that fraction; the depth scale follows the counts."""
    require_tools("samtools")
    assert depth_fraction(0.01, 2_000_000, 600_000_000) == pytest.approx(2_000_000 / 600_000_000)
    assert depth_fraction(0.01, 2_000_000, 1_000_000) == 0.01  # 10,000 pairs: under the cap
    assert depth_fraction(0.01, None, 600_000_000) == 0.01 and depth_fraction(0.0, 10, 10**9) == 0.0
    model, host, pieces, ends = _screen_world(tmp_path, random.Random(6))
    reads = simulate_reads(tmp_path / "r", {"host": host}, model, 10, seed=6)
    r1, r2, pairs = reads.r1, reads.r2, fastq_names(reads.r1)
    out, stats_tsv = tmp_path / "out" / "s", tmp_path / "s.tsv"
    cap = len(pairs) // 20  # a tenth of what the 0.5 fraction would pick
    files = ScreenFiles(kmer_screen, pieces, ends, [r1], [r2], out, stats_tsv)
    stats = run_screen("s", files, ScreenSettings(fraction=0.5, max_pairs=cap))
    fraction = depth_fraction(0.5, cap, estimate_reads([r1]))
    assert fraction < 0.07
    picked = _samtools_sample(pairs, fraction, tmp_path)
    assert _names(Path(f"{out}_R1.fastq")) == picked
    assert 0.5 * cap < len(picked) < 1.5 * cap
    assert stats["depth_scale"] == pytest.approx(2 * len(pairs) / (2 * len(picked)))


def test_long_read_depth_sample_is_capped_in_bases(tmp_path: Path, kmer_screen: Path) -> None:
    """Single long reads: ``max_bases`` lowers the fraction so that the sample holds about that many bases,
    still the reads ``samtools view -s`` picks; scaled by reads / sampled reads, its bases are the sample's
    (so the depth, and the VCN, are unchanged in expectation)."""
    require_tools("samtools")
    _, host, pieces, ends = _screen_world(tmp_path, random.Random(8))
    rng = np.random.default_rng(8)
    lengths = read_lengths(rng, 3_000, 2_000, 0.6)
    starts = rng.integers(0, len(host) - lengths.max(), len(lengths))
    seqs = [host[s : s + n] for s, n in zip(starts, lengths, strict=True)]
    fastq = tmp_path / "long.fastq.gz"
    with gzip.open(fastq, "wt") as out:
        out.writelines(f"@r{i}\n{seq}\n+\n{'5' * len(seq)}\n" for i, seq in enumerate(seqs))
    total = sum(map(len, seqs))
    assert estimate_bases([fastq]) == pytest.approx(total, rel=0.1)
    assert estimate_reads([fastq]) == pytest.approx(len(seqs), rel=0.1)
    cap = total // 20  # a tenth of what the 0.5 fraction would pick
    out = tmp_path / "out" / "s"
    files = ScreenFiles(kmer_screen, pieces, ends, [fastq], [], out, tmp_path / "s.tsv")
    stats = run_screen("s", files, ScreenSettings(fraction=0.5, max_bases=cap))
    fraction = depth_fraction(0.5, cap, estimate_bases([fastq]))
    assert fraction < 0.07
    names = [f"r{i}" for i in range(len(seqs))]
    picked = _samtools_sample(names, fraction, tmp_path)
    assert _names(Path(f"{out}_R1.fastq")) == picked
    sampled = sum(len(seqs[int(name[1:])]) for name in picked)
    assert 0.6 * cap < sampled < 1.4 * cap
    assert stats["depth_scale"] == pytest.approx(len(seqs) / len(picked))
    assert sampled * float(stats["depth_scale"]) == pytest.approx(total, rel=0.2)
    # Without the cap (short-read settings), the fraction stands.
    uncapped = run_screen("s", files, ScreenSettings(fraction=0.5, max_pairs=10**6))
    assert uncapped["sampled_reads"] == len(_samtools_sample(names, 0.5, tmp_path))


def test_kmer_screen_names_the_fastq_with_a_broken_record(tmp_path: Path, kmer_screen: Path) -> None:
    model, host, pieces, ends = _screen_world(tmp_path, random.Random(5))
    reads = simulate_reads(tmp_path / "r", {"host": host[:20_000]}, model, 5, seed=5)
    r1, r2 = reads.r1, reads.r2
    with gzip.open(r2, "at") as out:
        out.write("@extra/2\nACGT\n")
    with pytest.raises(InputError, match=r"r_R2\.fastq\.gz, line \d+: record \d+: the file ends inside"):
        files = ScreenFiles(kmer_screen, pieces, ends, [r1], [r2], tmp_path / "s", tmp_path / "s.t")
        run_screen("s", files, ScreenSettings(fraction=0.5))


def test_scaled_depth_sample_keeps_the_effective_length() -> None:
    """A 2x sample of a contig with 20% N, scaled by 10, reads as 20x over the same 80%."""
    length, effective, depth = 100_000, 80_000, 2.0 * 0.8
    covered = round(effective * (1 - 2.718281828459045 ** (-depth * length / effective)))
    fields = ["chr1", "1", str(length), "1000", str(covered), "60", f"{depth}", "30", "60"]
    scaled = scaled_row(fields, 10.0)
    row = ContigCoverage("chr1", length, int(scaled[3]), int(scaled[4]), float(scaled[6]))
    assert row.reads == 10_000 and row.mean_depth == pytest.approx(16.0)
    assert row.effective_length() == pytest.approx(effective, rel=0.01)


def test_thin_depth_sample_takes_the_called_bases_from_the_reference() -> None:
    """At 0.15x a sample whose reads are 1% more clumped than Poisson would shrink the effective length by
    ~14% (and raise the autosomal depth as much); the reference's called bases keep it exact."""
    length, depth = 10_000_000, 0.1466
    covered = round(0.99 * length * (1 - 2.718281828459045**-depth))
    fields = ["chr1", "1", str(length), "9770", str(covered), "13.5", f"{depth}", "40", "60"]
    guessed = scaled_row(fields, 100.0)
    assert int(guessed[4]) < 0.9 * length  # the ill-conditioned guess
    scaled = scaled_row(fields, 100.0, called_bases=length - 1000)
    row = ContigCoverage("chr1", length, int(scaled[3]), int(scaled[4]), float(scaled[6]))
    assert row.effective_length() == pytest.approx(length - 1000, rel=1e-4)
    assert row.mean_depth == pytest.approx(14.66)


@pytest.fixture(scope="module")
def screened_and_full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """One simulated CAR-derived tumour run with screening, with full alignment, and screened with the
    reference fragments counted in a second pass."""
    if any(shutil.which(t) is None for t in ("minimap2", "samtools")):
        pytest.skip("minimap2 and samtools are needed (bash scripts/setup.sh installs them)")
    tmp = tmp_path_factory.mktemp("screen")
    simulate_demo_tumour(tmp / "t1", "t1", seed=11)
    sheet = tmp / "samples.tsv"
    sheet.write_text(
        "sample\tfastq_1\tfastq_2\tvector\tpurity\nt1\tt1_R1.fastq.gz\tt1_R2.fastq.gz\tdemo_car\t0.8\n"
    )
    runs = []
    for name, screen in (
        ("screened", {"enabled": True, "depth_sample_fraction": 0.1}),
        ("full", {"enabled": False}),
        ("counted", {"enabled": True, "depth_sample_fraction": 0.1, "count_spanning": True}),
    ):
        folder = tmp / name
        folder.mkdir()
        result = snakemake(
            folder, "--cores", "2", "--configfile", str(write_config(folder, sheet, screen=screen))
        )
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(folder / "out")
    return tmp, runs[0], runs[1], runs[2]


def test_screened_run_calls_the_same_sites_junctions_and_vcn(
    screened_and_full: tuple[Path, Path, Path, Path],
) -> None:
    tmp, screened, full, _ = screened_and_full
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
    screened_and_full: tuple[Path, Path, Path, Path],
) -> None:
    """The screened BAM holds almost no reference fragments: they are modelled from depth and fragment
    length, so junction + modelled spanning fragments = all fragments expected over the window, the true
    clones stay clonal and no bystander becomes clonal."""
    tmp, screened, full, _ = screened_and_full
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


def test_second_pass_counts_the_reference_fragments_as_full_alignment_does(
    screened_and_full: tuple[Path, Path, Path, Path],
) -> None:
    """screen: count_spanning reads the FASTQs again for the pairs near each candidate site: the sites table
    (spanning fragments, clonal fractions and intervals included) is the fully aligned run's, not modelled."""
    _, _, full, counted = screened_and_full
    rows = [read_tsv(run / "calls" / "t1.sites.tsv") for run in (full, counted)]
    assert rows[0] and rows[1] == rows[0]
    assert all(r["flags"] == "NA" or "spanning_modelled" not in r["flags"] for r in rows[1])
    second = read_tsv(counted / "screen" / "t1.site_reads.screen.tsv")[0]
    assert 0 < int(second["kept_reads"]) < 0.2 * int(second["reads"]) and second["sampled_reads"] == "0"


def test_every_read_is_accounted_for_from_the_fastqs_to_the_bam(
    screened_and_full: tuple[Path, Path, Path, Path],
) -> None:
    """qc/<sample>.read_counts.tsv: the input files' reads, what the screen kept and sampled, what the aligner
    got and wrote; aligned in full, every read of the FASTQs is sent and comes out as one primary record."""
    tmp, screened, full, counted = screened_and_full
    reads = {
        f: gzip.decompress((tmp / f).read_bytes()).count(b"\n") // 4
        for f in ("t1_R1.fastq.gz", "t1_R2.fastq.gz")
    }
    inputs = [("input", str(tmp / f), str(n)) for f, n in reads.items()]
    table = [(r["step"], r["file"], r["reads"]) for r in read_tsv(screened / "qc" / "t1.read_counts.tsv")]
    stats = read_tsv(screened / "screen" / "t1.screen.tsv")[0]
    assert table == [
        *inputs,
        ("screened", "NA", str(sum(reads.values()))),
        ("kept", "NA", stats["kept_reads"]),
        ("depth_sample", "NA", stats["sampled_reads"]),
        ("sent_to_aligner", "NA", stats["written_reads"]),
        ("primary_alignments", "NA", stats["written_reads"]),
    ]
    total = str(sum(reads.values()))
    table = [(r["step"], r["file"], r["reads"]) for r in read_tsv(full / "qc" / "t1.read_counts.tsv")]
    assert table == [*inputs, ("sent_to_aligner", "NA", total), ("primary_alignments", "NA", total)]
    second = read_tsv(counted / "qc" / "t1.site_read_counts.tsv")
    assert [r["step"] for r in second] == [
        "input",
        "input",
        "screened",
        "kept",
        "sent_to_aligner",
        "primary_alignments",
    ]
    assert [r["file"] for r in read_tsv(full / "qc" / "t1.inputs.tsv")] == [str(tmp / f) for f in reads]
