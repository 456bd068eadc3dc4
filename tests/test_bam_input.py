"""BAM/CRAM input: header checks against the genome, the bam column, a genome-only BAM end to end."""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pysam
import pytest
from helpers import (
    build_test_vector,
    fastq_names,
    random_seq,
    require_tools,
    simulate_demo_tumour,
    simulate_reads,
    write_fasta,
)
from test_workflow import DEMO, snakemake, write_config

from carvis.core.errors import InputError
from carvis.core.io import read_tsv
from carvis.core.seqs import revcomp
from carvis.inputs.alignment import check_alignment_header, genome_lengths
from carvis.inputs.checks import DEFAULT_SCHEMAS, load_samples
from carvis.reads.bam_input import (
    MIN_CLIP,
    Extraction,
    depth_scale,
    depth_subsample,
    estimate_pairs,
    extract_command,
)
from carvis.reads.coverage import autosomal_depth, write_coverage
from carvis.reads.screen import kmer_screen_command, parse_counts, subsample_option, write_screen_reference

needs_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("minimap2", "samtools")), reason="minimap2 and samtools are needed"
)


def write_header_only(path: Path, contigs: dict[str, int]) -> Path:
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": n, "LN": ln} for n, ln in contigs.items()],
    }
    with pysam.AlignmentFile(str(path), "wb", header=header):
        pass
    pysam.index(str(path))
    return path


def test_chr_prefix_differences_are_accepted(tmp_path: Path) -> None:
    genome = {"chr1": 1000, "chr2": 500, "chrM": 16}
    check_alignment_header(write_header_only(tmp_path / "a.bam", {"1": 1000, "2": 500, "MT": 16}), genome)


def test_a_contig_of_another_length_is_named(tmp_path: Path) -> None:
    bam = write_header_only(tmp_path / "a.bam", {"chr1": 1000, "chr2": 499})
    with pytest.raises(InputError) as exc:
        check_alignment_header(bam, {"chr1": 1000, "chr2": 500}, " (listed in s.tsv, line 2)")
    assert "'chr2' is 499 bp" in exc.value.problem and "500 bp" in exc.value.problem
    assert "line 2" in exc.value.problem and "genome build" in exc.value.fix


def test_a_bam_of_an_unrelated_genome_is_refused(tmp_path: Path) -> None:
    bam = write_header_only(tmp_path / "a.bam", {"scaffold_7": 1000})
    with pytest.raises(InputError, match="no contig"):
        check_alignment_header(bam, {"chr1": 1000}, "")


def test_genome_lengths_read_plain_fasta_without_index(tmp_path: Path) -> None:
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1 first\nACGT\nAC\n>chr2\nA\n")
    assert genome_lengths(fasta) == {"chr1": 6, "chr2": 1}


def sheet(tmp_path: Path, row: str) -> Path:
    path = tmp_path / "samples.tsv"
    path.write_text(f"sample\tfastq_1\tfastq_2\tbam\tvector\n{row}\n")
    return path


def test_sheet_takes_a_bam_instead_of_fastqs(tmp_path: Path) -> None:
    write_header_only(tmp_path / "t.bam", {"1": 600_000, "2": 600_000})
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\n" + "A" * 600_000 + "\n>chr2\n" + "C" * 600_000 + "\n")
    samples = load_samples(
        sheet(tmp_path, "t\t\t\tt.bam\tcar"), ["car"], DEFAULT_SCHEMAS / "samples.schema.yaml", genome=genome
    )
    assert samples[0].bam == tmp_path / "t.bam" and samples[0].fastq_1 == [] and samples[0].paired


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("t\tr1.fq\t\tt.bam\tcar", "both FASTQ and bam"),
        ("t\t\t\t\tcar", "no reads"),
        ("t\t\t\tr1.fq\tcar", "not a BAM or CRAM"),
        ("t\t\t\tmissing.bam\tcar", "bam: file not found"),
        ("t\t\t\tnoindex.bam\tcar", "no index beside the BAM/CRAM"),
    ],
)
def test_bad_bam_rows_name_the_line(tmp_path: Path, row: str, problem: str) -> None:
    write_header_only(tmp_path / "t.bam", {"chr1": 10})
    (tmp_path / "noindex.bam").write_bytes((tmp_path / "t.bam").read_bytes())
    (tmp_path / "r1.fq").write_text("@r\nA\n+\nI\n")
    with pytest.raises(InputError) as exc:
        load_samples(sheet(tmp_path, row), ["car"], DEFAULT_SCHEMAS / "samples.schema.yaml", genome=tmp_path)
    assert problem in exc.value.problem and "line 2" in str(exc.value)


@needs_tools
def test_genome_only_bam_gives_the_sites_and_vcn_of_its_truth(tmp_path: Path) -> None:
    """Simulated reads aligned to the genome alone (a clinical BAM); carvis realigns what matters."""
    simulate_demo_tumour(tmp_path / "t2", "t2", seed=12)
    bam = tmp_path / "t2.bam"
    subprocess.run(
        f"minimap2 -ax sr -t 2 {DEMO / 'genome.fa'} t2_R1.fastq.gz t2_R2.fastq.gz 2>/dev/null"
        f" | samtools sort -o {bam} - && samtools index {bam}",
        shell=True,
        check=True,
        cwd=tmp_path,
    )
    rows = "sample\tbam\tvector\tpurity\nt2\tt2.bam\tdemo_car\t0.8\n"
    (tmp_path / "samples.tsv").write_text(rows)
    result = snakemake(
        tmp_path, "--cores", "2", "--configfile", str(write_config(tmp_path, tmp_path / "samples.tsv"))
    )
    assert result.returncode == 0, result.stderr[-3000:]
    calls = {
        (r["chrom"], r["position"]): r for r in read_tsv(tmp_path / "out" / "t2" / "integration_sites.tsv")
    }
    for site in (r for r in read_tsv(tmp_path / "t2.truth.tsv") if r["class"] == "clonal"):
        call = calls[(site["chrom"], site["position"])]
        for column in ("orientation", "left_junction", "right_junction", "tsd"):
            assert call[column] == site[column], column
    vcn = float(read_tsv(tmp_path / "out" / "t2" / "transgene.tsv")[0]["vcn"])
    truth = float(read_tsv(tmp_path / "t2.truth_transgene.tsv")[0]["vcn"])
    assert vcn == pytest.approx(truth, rel=0.2)


@dataclass(frozen=True)
class ClinicalBam:
    """A BAM aligned to a clinical reference, with the reads as sequenced (name -> (R1, R2), each
    (sequence, qualities)) and the names of the pairs today's three-pass extraction took."""

    folder: Path
    bam: Path
    reference: Path
    screen: tuple[Path, Path, Path]
    reads: dict[str, tuple[tuple[str, str], tuple[str, str]]]
    selected: set[str]
    hidden: set[str]


def _qualities(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("#+5?I") for _ in range(n))


def _kept_by_kmers(kmer_screen: Path, pieces: Path, ends: Path, fastq: Path) -> set[str]:
    """Names of the reads of one FASTQ that kmer_screen's FASTQ mode keeps, each read on its own."""
    prefix = fastq.with_suffix(".kmer")
    command = kmer_screen_command(kmer_screen, pieces, ends, "0.0", prefix, ["-1", str(fastq)])
    subprocess.run(command, check=True, capture_output=True)
    return {r.name.removesuffix("/1").removesuffix("/2") for r in pysam.FastxFile(f"{prefix}_R1.fastq")}


def _add_secondary(bam: Path, out: Path, names: dict[str, int], seq: str) -> None:
    """Copy bam to out (sorted) with one more record per name in ``names``, flagged 0x100 or 0x800,
    holding ``seq`` (vector sequence: were it read as a primary record, its pair would be selected)."""
    with (
        pysam.AlignmentFile(str(bam)) as src,
        pysam.AlignmentFile(str(out) + ".tmp", "wb", template=src) as dst,
    ):
        for record in src:
            dst.write(record)
            flag = names.pop(record.query_name, 0) if record.is_read1 else 0
            if flag:
                extra = pysam.AlignedSegment(dst.header)
                extra.query_name, extra.flag = record.query_name, record.flag | flag
                extra.reference_id, extra.reference_start = record.reference_id, record.reference_start
                extra.mapping_quality, extra.cigartuples = 0, [(0, len(seq))]
                extra.next_reference_id, extra.next_reference_start = (
                    record.next_reference_id,
                    record.next_reference_start,
                )
                extra.query_sequence, extra.query_qualities = (
                    seq,
                    pysam.qualitystring_to_array("I" * len(seq)),
                )
                dst.write(extra)
    pysam.sort("-o", str(out), str(out) + ".tmp")


@pytest.fixture(scope="module")
def clinical_bam(tmp_path_factory: pytest.TempPathFactory, kmer_screen: Path) -> ClinicalBam:
    """Host pairs on two chromosomes, vector pairs aligned properly paired to a decoy contig, pairs with
    mates on different chromosomes, unmapped pairs, pairs with one mate unmapped and junction pairs
    (host + vector), aligned by minimap2; a secondary and a supplementary record added."""
    require_tools("minimap2", "samtools")
    tmp = tmp_path_factory.mktemp("clinical")
    rng = random.Random(8)
    model = build_test_vector(tmp / "v.fa", "car", random_seq(rng, 3000), rng)
    chr1, chr2, decoy = random_seq(rng, 60_000), random_seq(rng, 30_000), model.provirus[500:2500]
    clinical = write_fasta(tmp / "clinical.fa", {"chr1": chr1, "chr2": chr2, "decoy": decoy})
    subprocess.run(["samtools", "faidx", str(clinical)], check=True)
    pairs = []
    for seed, (name, seq, depth) in enumerate((("host", chr1, 4), ("hostb", chr2, 2), ("vec", decoy, 10))):
        sim = simulate_reads(tmp / name, {name: seq}, model, depth, seed=seed)
        mates = [pysam.FastxFile(str(sim.r1)), pysam.FastxFile(str(sim.r2))]
        pairs += [(a.name.split("/")[0], a.sequence, b.sequence) for a, b in zip(*mates, strict=True)]
    for i in range(5):
        a, b = rng.randrange(0, 59_000), rng.randrange(0, 29_000)
        pairs.append((f"far_{i}", chr1[a : a + 150], revcomp(chr2[b : b + 150])))
        pairs.append((f"unmapped_{i}", random_seq(rng, 150), random_seq(rng, 150)))
        pairs.append((f"half_{i}", chr2[b : b + 150], random_seq(rng, 150)))
        junction = chr1[a : a + 100] + model.provirus[:50]
        pairs.append((f"junction_{i}", junction, revcomp(chr1[a - 200 : a - 50])))
    reads = {n: ((s1, _qualities(rng, len(s1))), (s2, _qualities(rng, len(s2)))) for n, s1, s2 in pairs}
    for mate in (0, 1):
        with gzip.open(tmp / f"R{mate + 1}.fq.gz", "wt", compresslevel=1) as out:
            out.writelines(f"@{n}/{mate + 1}\n{r[mate][0]}\n+\n{r[mate][1]}\n" for n, r in reads.items())
    primary = tmp / "primary.bam"
    align = f"minimap2 -ax sr {clinical} R1.fq.gz R2.fq.gz 2>/dev/null | samtools sort -o {primary} -"
    subprocess.run(align, shell=True, check=True, cwd=tmp)
    records = [r for r in pysam.AlignmentFile(str(primary)) if not r.is_secondary and not r.is_supplementary]
    assert len(records) == 2 * len(reads)
    # what `samtools view -e "flag.unmap || flag.munmap || !flag.proper_pair || sclen >= 5"` selects
    selected = {
        r.query_name
        for r in records
        if r.is_unmapped
        or r.mate_is_unmapped
        or not r.is_proper_pair
        or sum(n for op, n in r.cigartuples or [] if op == 4) >= MIN_CLIP
    }
    hidden = {r.query_name for r in records if r.reference_name == "decoy"} - selected
    pieces, ends = tmp / "pieces.fa", tmp / "ends.fa"
    write_screen_reference([model], [], pieces, ends)
    for mate in ("R1", "R2"):
        selected |= _kept_by_kmers(kmer_screen, pieces, ends, tmp / f"{mate}.fq.gz")
    ignored = sorted(n for n in reads if n.startswith("host") and n not in selected)[:2]
    bam = tmp / "clinical.bam"
    _add_secondary(primary, bam, {ignored[0]: 0x100, ignored[1]: 0x800}, model.provirus[500:650])
    subprocess.run(["samtools", "index", str(bam)], check=True)
    return ClinicalBam(tmp, bam, clinical, (kmer_screen, pieces, ends), reads, selected, hidden)


def _extract(c: ClinicalBam, bam: Path, window: int | None = None) -> subprocess.CompletedProcess[str]:
    prefix = bam.with_suffix(f".w{window}")
    extraction = Extraction(bam, c.reference, c.screen, prefix, f"{prefix}.counts", 1, window=window)
    return subprocess.run(
        ["bash", "-c", extract_command(extraction)], capture_output=True, text=True, check=False
    )


def _fastq(path: str | Path) -> list[tuple[str, str, str]]:
    return [(r.name, r.sequence, r.quality) for r in pysam.FastxFile(str(path))]


@needs_tools
@pytest.mark.parametrize("kind", ["bam", "cram", "name_sorted", "small_window"])
def test_extraction_writes_the_pairs_of_the_three_pass_selection(
    clinical_bam: ClinicalBam, kind: str
) -> None:
    """One decoding pass takes the same pairs as the former three passes (selected names from samtools
    view -e, reads kept by the k-mer screen, both mates by name): each pair once, both mates as sequenced.
    Secondary and supplementary records are left out; name-sorted input and mates paired after the window
    (small_window: almost every record goes through the spill file) give the same pairs."""
    c = clinical_bam
    bam, window = c.bam, None
    if kind == "cram":
        bam = c.folder / "clinical.cram"
        pysam.view("-C", "-T", str(c.reference), "-o", str(bam), str(c.bam), catch_stdout=False)
    elif kind == "name_sorted":
        bam = c.folder / "name_sorted.bam"
        pysam.sort("-n", "-o", str(bam), str(c.bam))
    elif kind == "small_window":
        window = 3
    result = _extract(c, bam, window)
    assert result.returncode == 0, result.stderr
    prefix = bam.with_suffix(f".w{window}")
    r1, r2 = _fastq(f"{prefix}_R1.fastq.gz"), _fastq(f"{prefix}_R2.fastq.gz")
    assert [r[0] for r in r1] == [r[0] for r in r2]  # mates in step
    assert sorted(r[0] for r in r1) == sorted(c.selected)  # each selected pair once
    assert all((seq, qual) == c.reads[name][0] for name, seq, qual in r1)
    assert all((seq, qual) == c.reads[name][1] for name, seq, qual in r2)
    assert c.hidden and c.hidden <= c.selected  # vector pairs only the k-mer screen finds
    assert {n.split("_")[0] for n in c.selected} >= {"far", "unmapped", "half", "junction", "vec"}
    counts = parse_counts(Path(f"{prefix}.counts").read_text(), {"/dev/stdin": str(bam)})
    assert counts.files == ((str(bam), 2 * len(c.reads)),)  # every primary read, counted once
    assert counts.pairs == len(c.reads) and counts.kept == len(c.selected)


@needs_tools
def test_extraction_stops_on_a_damaged_bam(clinical_bam: ClinicalBam) -> None:
    """A BAM cut short (inside a block, or at a block boundary, which samtools view only warns about),
    one with damaged bytes and one missing a mate stop the extraction with a message naming the file."""
    c = clinical_bam
    data = c.bam.read_bytes()
    cut, no_eof, damaged = c.folder / "cut.bam", c.folder / "no_eof.bam", c.folder / "damaged.bam"
    orphan = c.folder / "orphan.bam"
    cut.write_bytes(data[: len(data) // 2])
    middle = len(data) // 2
    damaged.write_bytes(data[:middle] + bytes(100) + data[middle + 100 :])
    no_eof.write_bytes(data[:-28])  # the 28-byte empty BGZF block that ends a BAM
    with pysam.AlignmentFile(str(c.bam)) as src, pysam.AlignmentFile(str(orphan), "wb", template=src) as dst:
        for record in src:
            if not (record.query_name == "far_0" and record.is_read2):
                dst.write(record)
    stopped = "reading stopped"
    for bam, problem in ((cut, "cut short"), (no_eof, "cut short"), (damaged, stopped), (orphan, stopped)):
        result = _extract(c, bam)
        assert result.returncode != 0
        assert f"carvis: error: {bam}: {problem}" in result.stderr, result.stderr
    assert "far_0 has no mate in the file" in _extract(c, orphan).stderr


@needs_tools
def test_extraction_takes_vector_reads_aligned_in_full_to_a_decoy(tmp_path: Path, kmer_screen: Path) -> None:
    """A clinical reference with a vector-like decoy contig aligns vector reads properly paired and
    unclipped there: only the k-mer pass finds them. Host-only pairs are not extracted."""
    rng = random.Random(8)
    model = build_test_vector(tmp_path / "v.fa", "car", random_seq(rng, 3000), rng)
    host = random_seq(rng, 60_000)
    clinical = write_fasta(tmp_path / "clinical.fa", {"chr1": host, "decoy": model.provirus[500:2500]})
    parts = [
        simulate_reads(tmp_path / "host", {"host": host}, model, 4, seed=8),
        simulate_reads(tmp_path / "vec", {"vec": model.provirus[500:2500]}, model, 10, seed=9),
    ]
    for mate, out in (("r1", "R1.fq.gz"), ("r2", "R2.fq.gz")):  # one file of two gzip members
        (tmp_path / out).write_bytes(b"".join(getattr(part, mate).read_bytes() for part in parts))
    pairs = fastq_names(tmp_path / "R1.fq.gz")
    bam = tmp_path / "clinical.bam"
    align = f"minimap2 -ax sr {clinical} R1.fq.gz R2.fq.gz 2>/dev/null | samtools sort -o {bam} -"
    subprocess.run(f"{align} && samtools index {bam}", shell=True, check=True, cwd=tmp_path)
    reads = list(pysam.AlignmentFile(str(bam)))
    hidden = {  # what the flag and clip selection (unmapped, improper or clipped) cannot see
        r.query_name
        for r in reads
        if r.reference_name == "decoy" and r.is_proper_pair and "S" not in (r.cigarstring or "")
    }
    assert len(hidden) > 50
    pieces, ends = tmp_path / "pieces.fa", tmp_path / "ends.fa"
    write_screen_reference([model], [], pieces, ends)
    prefix, counts = tmp_path / "x", tmp_path / "counts.tsv"
    command = extract_command(Extraction(bam, clinical, (kmer_screen, pieces, ends), prefix, counts, 1))
    subprocess.run(["bash", "-c", command], check=True, capture_output=True)
    extracted = {r.name for r in pysam.FastxFile(f"{prefix}_R1.fastq.gz")}
    assert hidden <= extracted
    host = {name for name in pairs if name.startswith("host_")}
    assert len(host & extracted) < 0.05 * len(host)  # only improper or clipped host pairs
    primary = parse_counts(counts.read_text(), {"/dev/stdin": str(bam)})
    assert primary.files == ((str(bam), 2 * len(pairs)),)  # every primary read of the BAM, counted once


@needs_tools
def test_the_depth_sample_is_samtools_hash_sample_of_the_bam(clinical_bam: ClinicalBam) -> None:
    """The extraction's depth sample holds the records (supplementary ones too) that ``samtools view -s``
    picks, so its scaled ``samtools coverage`` estimates the whole file's; scale: pairs / sampled pairs."""
    c = clinical_bam
    prefix = c.folder / "sampled"
    extraction = Extraction(c.bam, c.reference, c.screen, prefix, f"{prefix}.counts", 1, subsample="7.5")
    subprocess.run(["bash", "-c", extract_command(extraction)], check=True, capture_output=True)
    sample = [(r.query_name, r.flag) for r in pysam.AlignmentFile(f"{prefix}.depth.sam")]
    picked = pysam.view("-s", "7.5", "-F", "0x100", str(c.bam)).splitlines()
    assert sorted(sample) == sorted((f[0], int(f[1])) for f in (line.split("\t") for line in picked))
    pairs = sum(1 for _, flag in sample if flag & 0x8C0 == 0x40)
    assert 0.4 < pairs / len(c.reads) < 0.6
    assert depth_scale(f"{prefix}.counts") == len(c.reads) / pairs
    full, scaled = c.folder / "full.tsv", c.folder / "scaled.tsv"
    write_coverage(c.bam, full)
    bases = {"chr1": 60_000, "chr2": 30_000, "decoy": 2000}
    write_coverage(f"{prefix}.depth.sam", scaled, scale=depth_scale(f"{prefix}.counts"), called_bases=bases)
    assert autosomal_depth(scaled, set()) == pytest.approx(autosomal_depth(full, set()), rel=0.1)


@needs_tools
def test_pairs_are_estimated_from_the_index_or_the_size(clinical_bam: ClinicalBam, tmp_path: Path) -> None:
    """The depth sample's cap needs the pairs before the pass: idxstats, or an overestimate from the size."""
    c = clinical_bam
    records = int(pysam.view("-c", str(c.bam)))  # secondary and supplementary records included
    assert estimate_pairs(c.bam) == records // 2
    unindexed = tmp_path / "unindexed.bam"
    shutil.copy(c.bam, unindexed)
    assert estimate_pairs(unindexed) == unindexed.stat().st_size // 10 > len(c.reads)
    assert depth_subsample(c.bam, 0.05, 20, 7) == subsample_option(20 / (records // 2), 7)
    assert depth_subsample(c.bam, 0.05, None, 7) == "7.05"
