"""BAM/CRAM input: header checks against the genome, the bam column, a genome-only BAM end to end."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest
from helpers import (
    build_test_vector,
    fastq_names,
    random_seq,
    simulate_demo_tumour,
    simulate_reads,
    write_fasta,
)
from test_workflow import DEMO, snakemake, write_config

from carvis.core.errors import InputError
from carvis.core.io import read_tsv
from carvis.inputs.alignment import check_alignment_header, genome_lengths
from carvis.inputs.checks import DEFAULT_SCHEMAS, load_samples
from carvis.reads.bam_input import extract_command
from carvis.reads.screen import parse_counts, write_screen_reference

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
    hidden = {  # what the SELECT filter (unmapped, improper or clipped) cannot see
        r.query_name
        for r in reads
        if r.reference_name == "decoy" and r.is_proper_pair and "S" not in (r.cigarstring or "")
    }
    assert len(hidden) > 50
    pieces, ends = tmp_path / "pieces.fa", tmp_path / "ends.fa"
    write_screen_reference([model], [], pieces, ends)
    names, r1, r2 = tmp_path / "names.txt", tmp_path / "x_R1.fq.gz", tmp_path / "x_R2.fq.gz"
    counts = tmp_path / "counts.tsv"
    command = extract_command(bam, clinical, names, r1, r2, 1, (kmer_screen, pieces, ends), counts)
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, capture_output=True)
    extracted = {r.name for r in pysam.FastxFile(str(r1))}
    assert hidden <= extracted
    host = {name for name in pairs if name.startswith("host_")}
    assert len(host & extracted) < 0.05 * len(host)  # only improper or clipped host pairs
    primary = parse_counts(counts.read_text(), {"/dev/stdin": str(bam)})
    assert primary.files == ((str(bam), 2 * len(pairs)),)  # every primary read of the BAM, counted once
