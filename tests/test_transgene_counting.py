"""Which provirus bases count for VCN: the footprint plus both LTR copies' same, unmasked bases."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
from helpers import (
    align_pairs,
    build_test_vector,
    random_seq,
    simulate_reads,
    transposon_plasmid,
    write_combined_reference,
    write_fasta,
)

from carvis.reads.coverage import read_depth
from carvis.reference.vectors import KINDS, build_vector
from carvis.sim.insertions import Insertion
from carvis.transgene.call import LTR_MARGIN, counted_intervals


def test_both_ltr_copies_count_the_same_unmasked_bases(tmp_path: Path) -> None:
    model = build_test_vector(tmp_path / "v.fa", "v", random_seq(random.Random(2), 3000), random.Random(1))
    n, ltr, contig = len(model.provirus), model.ltr_length, model.provirus_contig
    three = n - ltr  # 0-based start of the 3' LTR
    footprint = {contig: [(ltr, n - ltr)], model.backbone_contig or "": [(0, 50)]}
    # a genome-homologous piece inside the 3' LTR copy only, and one on another contig
    mask = [(contig, three + 100, three + 150, "genome:chr1:1-50"), ("other", 0, 500, "genome:chr2:1-500")]
    kept = [(LTR_MARGIN, 100), (150, ltr - LTR_MARGIN)]
    assert counted_intervals(model, footprint, mask) == [
        *kept,
        *[(three + s, three + e) for s, e in kept],
        (ltr, n - ltr),
    ]


def test_a_transposon_counts_only_its_footprint(tmp_path: Path) -> None:
    plasmid, span = transposon_plasmid(random.Random(3), KINDS["piggybac"])
    model = build_vector("pb", write_fasta(tmp_path / "pb.fa", {"pb": plasmid}), "piggybac", provirus=span)
    assert model.ltr_length == 0
    contig = model.provirus_contig
    footprint = {contig: [(400, 900), (100, 500)]}
    mask = [(contig, 600, 700, "genome:chr1:1-100")]  # the mask acts through the footprint only
    assert counted_intervals(model, footprint, mask) == [(100, 900)]


def test_counted_ltr_bases_carry_one_copy_depth_like_the_footprint(tmp_path: Path) -> None:
    """Reads of a provirus at 800x: the mean depth over the counted LTR bases equals the internal one
    (an LTR read sits in either copy, next to its mate; summed over both copies each base has two)."""
    rng = random.Random(5)
    model = build_test_vector(tmp_path / "v.fa", "v", random_seq(rng, 3000), rng)
    host = random_seq(rng, 8000)
    genome = {"chr1": host}
    reference = write_combined_reference(tmp_path / "ref.fa", genome, [model])
    # host[2500:5500] at 1600x, the provirus at host base 4000 in every cell (one allele of two: 800x)
    allele = Insertion("chr1", 4000 - 2500, "+", 1.0)
    reads = simulate_reads(
        tmp_path / "s", {"chr1": host[2500:5500]}, model, 1600, seed=5, insertions=[allele]
    )
    bam = align_pairs(reference, reads.r1, reads.r2, tmp_path / "s.bam")
    depth_tsv = tmp_path / "depth.tsv"
    with open(depth_tsv, "w") as out:
        subprocess.run(
            ["samtools", "depth", "-a", "-Q", "0", "-r", model.provirus_contig, str(bam)], stdout=out
        )
    n, ltr, contig = len(model.provirus), model.ltr_length, model.provirus_contig
    depth = read_depth(depth_tsv, {contig: n})[contig].astype(float)
    footprint = {contig: [(ltr + 200, n - ltr - 200)]}  # inside the simulated fragments' even part
    internal = depth[ltr + 200 : n - ltr - 200].mean()
    counted = counted_intervals(model, footprint, [])
    ltr_bases = np.concatenate([depth[s:e] for s, e in counted[:-1]])
    assert abs(ltr_bases.mean() / internal - 1) < 0.07  # sampling sd about 2.6%
