"""The second screening pass (screen: count_spanning): site flanks, their repeat mask, empty screens."""

from __future__ import annotations

import random
from pathlib import Path

import pysam
from helpers import build_test_vector, random_seq, write_fasta

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import EVIDENCE
from carvis.reads.screen import ScreenFiles, ScreenSettings, run_screen
from carvis.reference.vectors import VectorModel
from carvis.sites.site_reads import mask_site_flanks, site_regions, write_site_flanks


def _model(tmp_path: Path) -> VectorModel:
    rng = random.Random(3)
    return build_test_vector(tmp_path / "lv.fa", "lv", random_seq(rng, 400), rng)


def _junction(host_pos: int, side: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {c: None for c in EVIDENCE}
    row.update(
        fragment=f"f{host_pos}{side}",
        read=1,
        kind="split",
        chrom="chr1",
        host_pos=host_pos,
        side=side,
        vector="lv",
        vector_end="5p" if side == "left" else "3p",
        precise="yes",
        duplicate=False,
        flags=None,
    )
    row.update(extra)
    return row


def test_flanks_surround_each_trusted_site_merged_and_clipped(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence.tsv"
    rows = [
        _junction(1504, "left"),  # TSD 5: the site starts at 1500, as the right junction says
        _junction(1500, "right"),
        _junction(2100, "right"),  # 600 bp on: its flank overlaps the first
        _junction(150, "right"),  # near the contig start: clipped at 0
        _junction(9000, "right", flags="homologous"),  # distrusted: no flank
        _junction(7000, "right", duplicate=True),  # duplicate: no flank
    ]
    write_tsv(evidence, EVIDENCE, rows)
    models = {"lv": _model(tmp_path)}
    assert models["lv"].tsd_length == 5
    regions = site_regions(evidence, models, {"chr1": 20_000}, flank=1000)
    assert regions == {"chr1": [(0, 3100)]}
    regions = site_regions(evidence, models, {"chr1": 20_000}, flank=100)
    assert regions == {"chr1": [(49, 250), (1399, 1600), (1999, 2200)]}

    rng = random.Random(1)
    genome = write_fasta(
        tmp_path / "genome.fa", {"chr1": random_seq(rng, 2000).lower() + random_seq(rng, 18_000)}
    )
    flanks, tiles = tmp_path / "flanks.fa", tmp_path / "tiles.fa"
    assert write_site_flanks(evidence, models, genome, flanks, tiles, flank=100) == 3
    text = flanks.read_text().split("\n")
    assert text[0] == ">chr1:50-250" and set(text[1]) == {"N"}  # soft-masked bases are N
    assert text[4] == ">chr1:2000-2200" and text[5][0] == "N" and "N" not in text[5][1:]
    assert tiles.read_text().startswith(">chr1:50-250:0\n")


def test_only_bases_of_tiles_placed_back_uniquely_are_kept(tmp_path: Path) -> None:
    seq = random_seq(random.Random(2), 300)
    flanks = write_fasta(tmp_path / "flanks.fa", {"chr1:101-400": seq})
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr1", "LN": 10_000}]}
    sam = tmp_path / "tiles.sam"
    with pysam.AlignmentFile(str(sam), "w", header=header) as out:
        for offset, pos, mapq in ((0, 100, 60), (100, 200, 0), (200, 5000, 60)):
            rec = pysam.AlignedSegment(out.header)
            rec.query_name = f"chr1:101-400:{offset}"
            rec.query_sequence = seq[offset : offset + 100]
            rec.reference_id, rec.reference_start, rec.mapping_quality = 0, pos, mapq
            rec.cigarstring = "100M"
            out.write(rec)
    masked = tmp_path / "masked.fa"
    assert mask_site_flanks(flanks, sam, masked) == (100, 300)
    # unique at its own place: kept; MAPQ 0 (a repeat) or placed elsewhere: N
    assert masked.read_text() == f">chr1:101-400\n{seq[:100]}{'N' * 200}\n"


def test_screen_without_any_site_keeps_nothing_and_reads_nothing(tmp_path: Path) -> None:
    pieces = tmp_path / "flanks.fa"
    pieces.write_text("")
    stats = tmp_path / "stats.tsv"
    files = ScreenFiles("no-such-binary", pieces, pieces, ["absent_R1.fq.gz"], [], tmp_path / "s", stats)
    row = run_screen("s", files, ScreenSettings(fraction=0))
    assert row["kept_reads"] == 0 and (tmp_path / "s_R1.fastq").read_text() == ""
    assert read_tsv(stats)[0]["depth_scale"] == "NA"
