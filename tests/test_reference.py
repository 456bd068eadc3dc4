"""The combined reference and its cache key."""

from __future__ import annotations

import gzip
import os
import random
from pathlib import Path

import pysam
import pytest
from test_vectors import _plasmid

from carvis.core.errors import InputError
from carvis.reads.align import Aligner, align_command
from carvis.reference.build import (
    build_combined_reference,
    combine_reference,
    genome_key,
    read_called_bases,
    reference_key,
    write_vector_reference,
)
from carvis.reference.vectors import build_vector


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path, dict[str, tuple[int, int]]]:
    rng = random.Random(9)
    genome = tmp_path / "genome.fa.gz"
    with gzip.open(genome, "wt") as out:
        for name in ("chr1", "chr2"):
            out.write(f">{name} test\n" + "".join(rng.choice("acgt") for _ in range(3000)) + "\n")
    seq, coords = _plasmid(rng)
    vector = tmp_path / "lv.fa"
    vector.write_text(">lv\n" + seq + "\n")
    return genome, vector, coords


def test_combined_reference_holds_genome_then_vector_contigs(inputs, tmp_path: Path) -> None:
    genome, vector, c = inputs
    model = build_vector("lv", vector, "lentiviral", [c["five_ltr"][0], c["three_ltr"][1]])
    out = tmp_path / "ref" / "combined.fa"
    with gzip.open(genome, "rt") as handle:
        text = handle.read().splitlines()
    text[1] = "N" * 40 + text[1][40:]  # 40 N at the start of chr1
    plain = tmp_path / "with_n.fa"
    plain.write_text("\n".join(text) + "\n")
    build_combined_reference(plain, [model], out, tmp_path / "ref" / "bases.tsv")
    fasta = pysam.FastaFile(str(out))
    assert list(fasta.references) == ["chr1", "chr2", "lv__provirus", "lv__backbone"]
    assert fasta.fetch("lv__provirus") == model.provirus
    assert fasta.fetch("chr1").isupper() and fasta.get_reference_length("chr1") == 3000
    called = read_called_bases(tmp_path / "ref" / "bases.tsv")
    assert called == {
        name: fasta.get_reference_length(name) - fasta.fetch(name).count("N") for name in fasta.references
    }
    assert called["chr1"] == 3000 - 40


def test_combined_from_genome_and_vector_parts_is_the_combined_reference(inputs, tmp_path: Path) -> None:
    genome, vector, c = inputs
    model = build_vector("lv", vector, "lentiviral", [c["five_ltr"][0], c["three_ltr"][1]])
    whole, g, v, out = (tmp_path / name for name in ("whole", "g", "v", "out"))
    build_combined_reference(genome, [model], whole / "combined.fa", whole / "bases.tsv")
    pysam.faidx(str(whole / "combined.fa"))
    build_combined_reference(genome, [], g / "genome.fa", g / "bases.tsv")
    write_vector_reference([model], v / "vectors.fa", v / "bases.tsv")
    for part in (g / "genome.fa", v / "vectors.fa"):
        pysam.faidx(str(part))
    parts = [
        (d / name, Path(f"{d / name}.fai"), d / "bases.tsv")
        for d, name in ((g, "genome.fa"), (v, "vectors.fa"))
    ]
    combine_reference(parts[0], parts[1], (out / "combined.fa", out / "combined.fa.fai", out / "bases.tsv"))
    for name in ("combined.fa", "combined.fa.fai", "bases.tsv"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert pysam.FastaFile(str(out / "combined.fa")).fetch("lv__provirus", 0, 30) == model.provirus[:30]


def test_reserved_contig_names_are_rejected(tmp_path: Path, inputs) -> None:
    _, vector, c = inputs
    genome = tmp_path / "bad.fa"
    genome.write_text(">x__provirus\nACGT\n")
    model = build_vector("lv", vector, "lentiviral", [c["five_ltr"][0], c["three_ltr"][1]])
    with pytest.raises(InputError, match="reserved"):
        build_combined_reference(genome, [model], tmp_path / "out.fa")
    assert not (tmp_path / "out.fa").exists()  # atomic: nothing half-written


def test_cache_key_changes_with_the_vector_only(inputs) -> None:
    genome, vector, _ = inputs
    spec = {"lv": {"sequence": str(vector), "kind": "lentiviral"}}
    key = reference_key(genome, spec)
    assert reference_key(genome, spec) == key
    assert reference_key(genome, {"lv": {**spec["lv"], "provirus": [1, 9]}}) != key
    genome_part = genome_key(genome)
    vector.write_text(vector.read_text().replace("A", "C", 1))
    assert reference_key(genome, spec) != key
    assert genome_key(genome) == genome_part  # a new vector keeps the genome's index
    key = reference_key(genome, spec)
    os.utime(genome, ns=(1, 1))
    assert reference_key(genome, spec) != key
    assert genome_key(genome) != genome_part


def test_align_command_lanes_and_aligners() -> None:
    minimap2 = Aligner("minimap2", "ref.mmi", 4)
    cmd = align_command(minimap2, ["a1.fq.gz", "b1.fq.gz"], ["a2.fq.gz", "b2.fq.gz"], "s1")
    assert cmd.startswith("minimap2 -ax sr -Y -t 4 -R '@RG\\tID:s1\\tSM:s1'")
    assert cmd.endswith("ref.mmi <(cat a1.fq.gz b1.fq.gz) <(cat a2.fq.gz b2.fq.gz)")
    single = align_command(Aligner("bwa", "ref.fa", 2, "-k 15"), ["r 1.fq"], [], "s1")
    assert single == "bwa mem -Y -t 2 -R '@RG\\tID:s1\\tSM:s1' -k 15 ref.fa 'r 1.fq'"
    with pytest.raises(ValueError):
        Aligner("bowtie", "x", 1)


def test_a_new_vector_reuses_the_genome_part(tmp_path: Path) -> None:
    """Editing the vector reruns the vector part and the combined index, never the genome's copy or index."""
    from helpers import snakemake

    genome_rules = ("index_genome_minimap2", "index_fasta", "index_genome_bwa")
    built = snakemake(tmp_path, "--cores", "2", "--quiet", "--until", *genome_rules)
    assert built.returncode == 0, built.stderr[-2000:]
    edited = tmp_path / "edited.gb"
    gb = (Path(__file__).resolve().parents[1] / "resources" / "demo" / "vector.gb").read_text()
    edited.write_text(gb.replace("DEFINITION", "DEFINITION edited;", 1))
    vectors = f"vectors={{demo_car: {{sequence: {edited}, kind: lentiviral}}}}"
    plan = snakemake(tmp_path, "-n", "--cores", "2", "--config", vectors)
    assert plan.returncode == 0, plan.stderr[-2000:]
    jobs = {line.split()[0] for line in plan.stdout.split("Job stats:")[1].splitlines()[3:] if line.strip()}
    assert {"build_reference", "index_vectors_minimap2", "index_minimap2", "combine_reference"} <= jobs
    assert not jobs & {"prepare_genome", *genome_rules}
