"""Host clips placed genome-wide by bwa aln (``aligned_clip`` rows): real bwa on a genome with a repeat."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import build_test_vector, indexed_bam, random_seq, write_fasta

from carvis.core.io import read_tsv
from carvis.evidence.extract import EvidenceFiles, EvidenceParams, extract_evidence
from carvis.evidence.placed_clips import write_clip_fastq

pytestmark = pytest.mark.skipif(shutil.which("bwa") is None, reason="bwa is not installed")


def test_host_clips_whose_mate_lies_on_the_vector_are_placed_by_bwa_aln(tmp_path: Path) -> None:
    """Vector reads ending at a terminus with 20-30 host bases and nothing else to place them: bwa aln places
    each clip on the genome alone. Unique clips (one with a sequencing error) become ``aligned_clip`` rows at
    the exact junction with bwa's MAPQ; a clip in a repeat (MAPQ 0) and a clip of bases the genome does not
    hold make no row and are counted; clips under ``min_bases`` are not sent."""
    rng = random.Random(11)
    model = build_test_vector(tmp_path / "v.fa", "lv", random_seq(rng, 1500, ("TGGAAGGGCT",)), rng)
    prov = model.provirus
    host = random_seq(rng, 20000)
    host = host[:9000] + host[1075:1100] + host[9025:]  # host[1075:1100] occurs twice
    genome = write_fasta(tmp_path / "genome.fa", {"chr1": host})
    contigs = {"chr1": host, **model.contigs()}
    end = len(prov) - 100
    error = host[5000:5012] + ("A" if host[5012] != "A" else "C") + host[5013:5030]
    reads = [
        ("unique5p", 0, "25S100M", host[2075:2100] + prov[:100]),  # host left of the provirus start
        ("unique3p", end, "100M30S", prov[-100:] + host[3000:3030]),  # host right of the provirus end
        ("one_error", end, "100M30S", prov[-100:] + error),
        ("repeat", 0, "25S100M", host[1075:1100] + prov[:100]),
        ("absent", 0, "25S100M", random_seq(rng, 25) + prov[:100]),
        ("too_short", 0, "15S100M", host[4085:4100] + prov[:100]),
    ]
    pc = model.provirus_contig
    bam = indexed_bam(tmp_path / "reads.bam", contigs, [(name, pc, *read) for name, *read in reads])
    fastq = tmp_path / "clips.fastq.gz"
    rules = EvidenceParams().rules({})
    assert write_clip_fastq(bam, {"lv": model}, rules, 20, fastq) == 5
    subprocess.run(["bwa", "index", str(genome)], check=True, capture_output=True)
    sai = subprocess.run(["bwa", "aln", "-o", "0", str(genome), str(fastq)], check=True, capture_output=True)
    (tmp_path / "clips.sai").write_bytes(sai.stdout)
    samse = ["bwa", "samse", str(genome), str(tmp_path / "clips.sai"), str(fastq)]
    sam = subprocess.run(samse, check=True, capture_output=True)
    placed = tmp_path / "clips.sam"
    placed.write_bytes(sam.stdout)
    reference = write_fasta(tmp_path / "combined.fa", contigs)
    out = tmp_path / "ev.tsv"
    files = EvidenceFiles(bam, out, reference=reference, placed_clips=placed)
    qc = extract_evidence(files, {"lv": model}, {})
    got = {
        r["fragment"]: (r["kind"], r["host_pos"], r["side"], r["vector_end"], r["host_bases"], r["host_mapq"])
        for r in read_tsv(out)
    }
    assert got == {
        "unique5p": ("aligned_clip", "2100", "left", "5p", "25", "37"),
        "unique3p": ("aligned_clip", "3001", "right", "3p", "30", "37"),
        "one_error": ("aligned_clip", "5001", "right", "3p", "30", "37"),
    }
    assert qc["clips_aligned"] == 5 and qc["aligned_clip_unplaced"] == 1 and qc["aligned_clip_rows"] == 3
    assert qc["aligned_clip_low_mapq"] == 1  # the repeat
    extract_evidence(EvidenceFiles(bam, out, reference=reference), {"lv": model}, {})  # without: no rows
    assert read_tsv(out) == []
