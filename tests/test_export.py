"""VCF (BND) and BED export of integration sites, checked against a genome whose bases are known."""

from __future__ import annotations

import random
from pathlib import Path

import pysam
import pytest

from carvis.core.io import write_fasta, write_tsv
from carvis.core.tables import ANNOTATION, SITES
from carvis.report.export import write_bed, write_vcf

PROVIRUS_LENGTH = 700


def _site(chrom: str, position: int, orientation: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys((*SITES, *ANNOTATION), "NA")
    left = position + 4
    row.update(sample="s1", vector="car", chrom=chrom, position=str(position), orientation=orientation)
    row.update(left_junction=str(left), right_junction=str(position), tsd_length="5", fragments="9")
    row.update(
        split_fragments="6", discordant_fragments="3", clonal_fraction="0.9", dominant="yes", clonal="yes"
    )
    row.update(gene="GENEA;GENEB", region="intron", nearest_listed_gene="LMO2", distance_to_listed_gene="0")
    row.update(listed_gene_category="insertional_event,oncogene", proximity_tier="inside")
    row.update(gene_list="carvis-cancer-genes 2026.11", flags="one_sided,multi_hit")
    row.update(values)
    return row


def _reference(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    rng = random.Random(5)
    seqs = {c: "".join(rng.choice("ACGT") for _ in range(n)) for c, n in (("chr1", 3000), ("chr2", 2000))}
    seqs["car__provirus"] = "TGGAAGGGCT" + "A" * (PROVIRUS_LENGTH - 10)
    fasta = tmp_path / "combined.fa"
    write_fasta(fasta, seqs.items())
    pysam.faidx(str(fasta))
    return fasta, seqs


def _sites(tmp_path: Path) -> Path:
    rows = [
        _site("chr2", 500, "+"),
        _site("chr1", 1200, "-", dominant="no", clonal_fraction="0.1", clonal="no"),
        _site("chr1", 2500, "+", left_junction="NA", right_junction="NA", tsd_length="NA", precise="no"),
        _site("chr1", 800, "-", left_junction="NA", flags="NA"),
        _site("chr2", 1500, ".", flags="orientation_unknown"),
    ]
    path = tmp_path / "integration_sites.tsv"
    write_tsv(path, (*SITES, *ANNOTATION), rows)
    return path


def test_vcf_has_one_bnd_per_junction_joined_to_the_facing_provirus_end(tmp_path: Path) -> None:
    fasta, seqs = _reference(tmp_path)
    out = tmp_path / "out" / "integration_sites.vcf.gz"
    write_vcf("s1", _sites(tmp_path), fasta, f"{fasta}.fai", out)
    assert sorted(f.name for f in out.parent.iterdir()) == [out.name, f"{out.name}.tbi"]  # no leftovers
    with pysam.VariantFile(str(out)) as vcf:
        assert vcf.header.contigs["car__provirus"].length == PROVIRUS_LENGTH
        records = list(vcf)
        p = "car__provirus"
        got = {(r.chrom, r.pos): (r.ref, r.alts[0], r.info["JUNCTION"], r.info["EVENT"]) for r in records}
        n = PROVIRUS_LENGTH
        b = {(c, pos): seqs[c][pos - 1] for c, pos in got}
        assert got == {
            ("chr1", 800): (b["chr1", 800], f"[{p}:1[{b['chr1', 800]}", "right", "chr1:800"),
            ("chr1", 1204): (b["chr1", 1204], f"{b['chr1', 1204]}]{p}:{n}]", "left", "chr1:1200"),
            ("chr1", 1200): (b["chr1", 1200], f"[{p}:1[{b['chr1', 1200]}", "right", "chr1:1200"),
            ("chr1", 2500): (b["chr1", 2500], f"{b['chr1', 2500]}[{p}:1[", "left", "chr1:2500"),
            ("chr2", 504): (b["chr2", 504], f"{b['chr2', 504]}[{p}:1[", "left", "chr2:500"),
            ("chr2", 500): (b["chr2", 500], f"]{p}:{n}]{b['chr2', 500]}", "right", "chr2:500"),
            # orientation unknown: single breakends, the provirus end is not named
            ("chr2", 1504): (b["chr2", 1504], f"{b['chr2', 1504]}.", "left", "chr2:1500"),
            ("chr2", 1500): (b["chr2", 1500], f".{b['chr2', 1500]}", "right", "chr2:1500"),
        }
        assert [(r.chrom, r.pos) for r in records] == sorted(got, key=lambda k: (k[0] != "chr1", k[1]))
        imprecise = [r for r in records if "IMPRECISE" in r.info]
        assert [(r.chrom, r.pos) for r in imprecise] == [("chr1", 2500)]
        first = next(r for r in records if r.chrom == "chr2")
        assert first.info["GENE"] == ("GENEA", "GENEB")
        assert first.info["LISTEDCAT"] == ("insertional_event|oncogene",)
        assert first.info["SITEFLAGS"] == ("one_sided", "multi_hit")
        assert (
            first.info["CF"] == pytest.approx(0.9) and "DOMINANT" in first.info and first.info["TSDLEN"] == 5
        )
        assert "DOMINANT" not in next(r for r in records if r.pos == 1200).info
        assert [r.pos for r in vcf.fetch("chr1", 1100, 1300)] == [1200, 1204]


def test_bed_track_spans_the_tsd_with_orientation_and_colour(tmp_path: Path) -> None:
    out = tmp_path / "integration_sites.bed"
    write_bed("s1", _sites(tmp_path), out)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("track ") and 'itemRgb="On"' in lines[0]
    rows = {(f[0], int(f[1])): f for f in (line.split("\t") for line in lines[1:])}
    assert len(rows) == 5
    assert rows["chr2", 1499][5] == "."
    chr2 = rows["chr2", 499]
    assert (chr2[2], chr2[4], chr2[5], chr2[8]) == ("504", "900", "+", "183,28,28")
    assert chr2[3] == "chr2:500_GENEA|GENEB_CF0.9"
    minor = rows["chr1", 1199]
    assert (minor[2], minor[4], minor[5], minor[8]) == ("1204", "100", "-", "74,127,181")
    assert rows["chr1", 2499][2] == "2500"  # no junction seen: one base
