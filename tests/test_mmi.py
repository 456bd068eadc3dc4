"""The combined minimap2 index appended from a genome index and a vector index, without reindexing."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from carvis.core import io
from carvis.core.errors import InputError
from carvis.core.seqs import revcomp
from carvis.reads.align import Aligner, align_command
from carvis.reads.long_reads import PRESETS, long_read_command
from carvis.reference.build import build_combined_reference
from carvis.reference.mmi import _bucket, _header, _positions, append_index
from carvis.reference.vectors import build_vector
from carvis.sim.insertions import Insertion, read_genome
from carvis.sim.long_reads import LongInsertion, LongReadModel, simulate_long_reads
from carvis.sim.sequences import mutate

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


def _fasta(path: Path, records: dict[str, str]) -> Path:
    io.write_fasta(path, records.items())
    return path


def _index(fasta: Path, *args: str, preset: str = "sr") -> Path:
    out = fasta.with_suffix(f".{preset}.mmi")
    subprocess.run(
        ["minimap2", "-x", preset, *args, "-d", str(out), str(fasta)], check=True, capture_output=True
    )
    return out


def _content(mmi: Path) -> tuple[list[bytes], dict[tuple[int, int], list[int]], bytes]:
    """An index's meaning: contig names, minimizer -> sorted positions, packed bases (layout aside)."""
    with open(mmi, "rb") as fh:
        head = _header(fh, mmi)
        hits: dict[tuple[int, int], list[int]] = {}
        for i in range(1 << head.b):
            p, h = _bucket(fh, mmi)
            for key, value in h:
                hits[(i, int(key) & ~1)] = _positions(p, int(key), int(value)).tolist()
        return head.names, hits, fh.read()


@pytest.fixture
def pieces(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """An odd-length genome (its last packed word is partial) with a repeat the vector shares."""
    demo = (DEMO / "genome.fa").read_text().split(">")[1:]
    seqs = {r.split("\n", 1)[0].split()[0]: r.split("\n", 1)[1].replace("\n", "") for r in demo}
    genome = {"chr1": seqs["chr1"][:200_003], "chrX": seqs["chrX"][:60_001]}
    rng = random.Random(3)
    shared = genome["chr1"][50_000:51_500]  # a host piece the vector carries (like the EF1a promoter)
    own = "".join(rng.choice("ACGT") for _ in range(4_001))
    vectors = {"v__provirus": own[:2_000] + shared + own[2_000:], "v__backbone": own[::-1][:1_203]}
    return genome, vectors


def test_appended_index_is_the_index_of_the_combined_fasta(pieces, tmp_path: Path) -> None:
    genome, vectors = pieces
    g = _index(_fasta(tmp_path / "genome.fa", genome))
    v = _index(_fasta(tmp_path / "vectors.fa", vectors))
    whole = _index(_fasta(tmp_path / "combined.fa", genome | vectors))
    append_index(g, v, tmp_path / "appended.mmi")
    assert _content(tmp_path / "appended.mmi") == _content(whole)
    assert (tmp_path / "appended.mmi").stat().st_size == whole.stat().st_size

    # Reads from the genome, the vector, the shared piece and across the junctions map identically.
    rng, errors = random.Random(5), np.random.default_rng(5)
    combined = "".join(genome.values()) + "".join(vectors.values())
    junction = genome["chr1"][90_000:90_300] + vectors["v__provirus"] + genome["chr1"][90_300:91_000]
    r1, r2 = [], []
    for n in range(3_000):
        source = junction if n % 3 == 0 else combined
        start = rng.randrange(len(source) - 400)
        fragment = source[start : start + rng.randrange(250, 400)]
        for reads, seq in ((r1, fragment[:100]), (r2, revcomp(fragment)[:100])):
            read = mutate(errors, seq, 0.01)
            reads.append(f"@r{n}\n{read}\n+\n{'I' * len(read)}\n")
    (tmp_path / "r1.fq").write_text("".join(r1))
    (tmp_path / "r2.fq").write_text("".join(r2))

    def sam(index: Path) -> list[str]:
        reads = [tmp_path / "r1.fq"], [tmp_path / "r2.fq"]
        command = align_command(Aligner("minimap2", index, 1), *reads, "s")
        run = subprocess.run(["bash", "-c", command], check=True, capture_output=True, text=True)
        return [line for line in run.stdout.splitlines() if not line.startswith("@PG")]

    expected = sam(whole)
    assert sum(1 for line in expected if "\tv__provirus\t" in line) > 100
    assert sam(tmp_path / "appended.mmi") == expected


def test_mismatched_or_clashing_indexes_are_refused(pieces, tmp_path: Path) -> None:
    genome, vectors = pieces
    g = _index(_fasta(tmp_path / "genome.fa", genome))
    other = _fasta(tmp_path / "other.fa", vectors)
    k15 = subprocess.run(
        ["minimap2", "-k", "15", "-d", str(tmp_path / "k15.mmi"), str(other)], capture_output=True
    )
    assert k15.returncode == 0
    with pytest.raises(InputError, match="other settings"):
        append_index(g, tmp_path / "k15.mmi", tmp_path / "out.mmi")
    with pytest.raises(InputError, match="contig names also in the genome"):
        append_index(
            g, _index(_fasta(tmp_path / "clash.fa", {"chrX": vectors["v__backbone"]})), tmp_path / "o.mmi"
        )
    assert not (tmp_path / "out.mmi").exists() and not (tmp_path / "o.mmi").exists()


@pytest.mark.parametrize(("assay", "error_rate"), [("ont", 0.05), ("hifi", 0.01)])
def test_long_read_preset_index_appends_and_aligns_as_the_fasta(
    assay: str, error_rate: float, tmp_path: Path
) -> None:
    """The workflow's long-read indexes (genome and vectors with the assay's preset, appended) equal the
    preset's index of the combined FASTA, and long reads align with it exactly as with the FASTA."""
    preset = PRESETS[assay]
    vector = build_vector("demo_car", DEMO / "vector.gb", "lentiviral")
    combined = tmp_path / "combined.fa"
    build_combined_reference(DEMO / "genome.fa", [vector], combined)
    records = read_genome(combined)
    own = {vector.provirus_contig, vector.backbone_contig}
    genome = _fasta(tmp_path / "genome.fa", {k: v for k, v in records.items() if k not in own})
    vectors = _fasta(tmp_path / "vectors.fa", {k: v for k, v in records.items() if k in own})
    appended = tmp_path / f"combined.appended.{preset}.mmi"
    append_index(_index(genome, preset=preset), _index(vectors, preset=preset), appended)
    assert _content(appended) == _content(_index(combined, preset=preset))

    design = [
        LongInsertion(Insertion("chr1", 100_638, "-", 0.8)),
        LongInsertion(Insertion("chrX", 132_247, "+", 0.8)),
    ]
    run = LongReadModel(8, 17_000, 0.6, error_rate, 0.8, 0.3, 2, "lr")
    fastq = simulate_long_reads(DEMO / "genome.fa", vector, design, tmp_path / "lr", run).fastq

    def sam(reference: Path) -> list[str]:
        bam = tmp_path / f"{reference.name}.bam"
        command = long_read_command(assay, reference, [fastq], "lr", 2, bam)
        subprocess.run(["bash", "-c", command], check=True, capture_output=True)
        view = subprocess.run(["samtools", "view", str(bam)], check=True, capture_output=True, text=True)
        return view.stdout.splitlines()

    expected = sam(combined)
    assert sum(1 for line in expected if f"\t{vector.provirus_contig}\t" in line) >= 5
    assert sam(appended) == expected
