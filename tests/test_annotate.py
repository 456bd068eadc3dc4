"""Site annotation against a hand-written GTF whose answers are known by construction."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import random
from pathlib import Path

import pytest

from carvis.core.errors import InputError
from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import ANNOTATION, SITES
from carvis.reference.genes import (
    CACHE_SUFFIX,
    Gene,
    GeneIndex,
    load_annotation,
    load_gene_lists,
    read_gtf,
    write_annotation_cache,
)
from carvis.sites.annotate import Annotator, annotate_sites

BUNDLED = Path(__file__).resolve().parents[1] / "resources" / "cancer_genes" / "cancer_genes.tsv"
CATEGORIES = {"oncogene", "tumour_suppressor", "clonal_haematopoiesis", "insertional_event", "lymphoma"}

# Contig "1" (Ensembl naming). GENEA (+, 1001-5000): transcript TA1 with a 5' UTR 1001-1100 and a
# 3' UTR 4801-5000; transcript TA2 (1051-3500) codes through 1051-1100, which is UTR in TA1.
# LMO2 (-, 20001-30000, TSS 30000): 3' UTR 20001-20300, 5' UTR 29801-30000.
# ENSG_C (+, 60001-61000): a gene line only, no gene_name.
_GTF_ROWS = [
    ("gene", 1001, 5000, "+", 'gene_id "ENSG_A"; gene_name "GENEA";'),
    ("transcript", 1001, 5000, "+", 'gene_id "ENSG_A"; transcript_id "TA1"; gene_name "GENEA";'),
    ("exon", 1001, 1500, "+", 'gene_id "ENSG_A"; transcript_id "TA1"; gene_name "GENEA";'),
    ("five_prime_utr", 1001, 1100, "+", 'gene_id "ENSG_A"; transcript_id "TA1"; gene_name "GENEA";'),
    ("CDS", 1101, 1500, "+", 'gene_id "ENSG_A"; transcript_id "TA1"; gene_name "GENEA";'),
    ("exon", 3001, 3500, "+", 'gene_id "ENSG_A"; transcript_id "TA1"; gene_name "GENEA";'),
    ("exon", 4501, 5000, "+", 'gene_id "ENSG_A"; transcript_id "TA1"; gene_name "GENEA";'),
    ("three_prime_utr", 4801, 5000, "+", 'gene_id "ENSG_A"; transcript_id "TA1"; gene_name "GENEA";'),
    ("transcript", 1051, 3500, "+", 'gene_id "ENSG_A"; transcript_id "TA2"; gene_name "GENEA";'),
    ("exon", 1051, 1500, "+", 'gene_id "ENSG_A"; transcript_id "TA2"; gene_name "GENEA";'),
    ("exon", 3001, 3500, "+", 'gene_id "ENSG_A"; transcript_id "TA2"; gene_name "GENEA";'),
    ("gene", 20001, 30000, "-", 'gene_id "ENSG_B"; gene_name "LMO2";'),
    ("transcript", 20001, 30000, "-", 'gene_id "ENSG_B"; transcript_id "TB1"; gene_name "LMO2";'),
    ("exon", 20001, 21000, "-", 'gene_id "ENSG_B"; transcript_id "TB1"; gene_name "LMO2";'),
    ("three_prime_utr", 20001, 20300, "-", 'gene_id "ENSG_B"; transcript_id "TB1"; gene_name "LMO2";'),
    ("exon", 25001, 25500, "-", 'gene_id "ENSG_B"; transcript_id "TB1"; gene_name "LMO2";'),
    ("exon", 29501, 30000, "-", 'gene_id "ENSG_B"; transcript_id "TB1"; gene_name "LMO2";'),
    ("five_prime_utr", 29801, 30000, "-", 'gene_id "ENSG_B"; transcript_id "TB1"; gene_name "LMO2";'),
    ("gene", 60001, 61000, "+", 'gene_id "ENSG_C";'),
]

LIST_TEXT = (
    "# name: test-genes\n# version: 1\n"
    "gene\tcategory\tnote\nLMO2\tinsertional_event\tT-ALL\nlmo2\toncogene\tsecond row, other case\n"
)

_LMO2 = {"nearest_listed_gene": "LMO2", "listed_gene_category": "insertional_event,oncogene"}
# (chrom, position, orientation) -> every ANNOTATION column but gene_list, as written (NA = missing).
EXPECTED = {
    ("chr1", "1200", "+"): dict(
        gene="GENEA", gene_strand="+", region="exon", gene_orientation="same", distance_to_gene="0",
        nearest_tss_gene="GENEA", distance_to_tss="149", distance_to_listed_gene="18801",
        proximity_tier="50kb", **_LMO2,
    ),
    ("chr1", "2000", "-"): dict(
        gene="GENEA", gene_strand="+", region="intron", gene_orientation="opposite", distance_to_gene="0",
        nearest_tss_gene="GENEA", distance_to_tss="949", distance_to_listed_gene="18001",
        proximity_tier="50kb", **_LMO2,
    ),
    ("chr1", "4900", "+"): dict(
        gene="GENEA", gene_strand="+", region="utr", gene_orientation="same", distance_to_gene="0",
        nearest_tss_gene="GENEA", distance_to_tss="3849", distance_to_listed_gene="15101",
        proximity_tier="50kb", **_LMO2,
    ),
    ("chr1", "1060", "+"): dict(  # UTR of TA1 but coding in TA2: exon wins
        gene="GENEA", gene_strand="+", region="exon", gene_orientation="same", distance_to_gene="0",
        nearest_tss_gene="GENEA", distance_to_tss="9", distance_to_listed_gene="18941",
        proximity_tier="50kb", **_LMO2,
    ),
    ("chr1", "1020", "-"): dict(  # 5' UTR of TA1 only; nearest TSS is TA1's (1001)
        gene="GENEA", gene_strand="+", region="utr", gene_orientation="opposite", distance_to_gene="0",
        nearest_tss_gene="GENEA", distance_to_tss="19", distance_to_listed_gene="18981",
        proximity_tier="50kb", **_LMO2,
    ),
    ("chr1", "29900", "-"): dict(
        gene="LMO2", gene_strand="-", region="utr", gene_orientation="same", distance_to_gene="0",
        nearest_tss_gene="LMO2", distance_to_tss="100", distance_to_listed_gene="0",
        proximity_tier="inside", **_LMO2,
    ),
    ("chr1", "25200", "+"): dict(
        gene="LMO2", gene_strand="-", region="exon", gene_orientation="opposite", distance_to_gene="0",
        nearest_tss_gene="LMO2", distance_to_tss="4800", distance_to_listed_gene="0",
        proximity_tier="inside", **_LMO2,
    ),
    ("chr1", "35000", "+"): dict(  # intergenic 5 kb upstream of LMO2's TSS
        gene="LMO2", gene_strand="-", region="intergenic", gene_orientation="NA", distance_to_gene="5000",
        nearest_tss_gene="LMO2", distance_to_tss="-5000", distance_to_listed_gene="5000",
        proximity_tier="10kb", **_LMO2,
    ),
    ("chr1", "40000", "-"): dict(
        gene="LMO2", gene_strand="-", region="intergenic", gene_orientation="NA", distance_to_gene="10000",
        nearest_tss_gene="LMO2", distance_to_tss="-10000", distance_to_listed_gene="10000",
        proximity_tier="10kb", **_LMO2,
    ),
    ("chr1", "40001", "-"): dict(
        gene="LMO2", gene_strand="-", region="intergenic", gene_orientation="NA", distance_to_gene="10001",
        nearest_tss_gene="LMO2", distance_to_tss="-10001", distance_to_listed_gene="10001",
        proximity_tier="50kb", **_LMO2,
    ),
    ("chr1", "200000", "+"): dict(  # far away: nearest gene ENSG_C (no gene_name), LMO2 170 kb away
        gene="ENSG_C", gene_strand="+", region="intergenic", gene_orientation="NA", distance_to_gene="139000",
        nearest_tss_gene="ENSG_C", distance_to_tss="139999", distance_to_listed_gene="170000",
        proximity_tier="none", **_LMO2,
    ),
    ("chr3", "100", "+"): dict(  # contig absent from the GTF: nothing known, never "intergenic, tier none"
        gene="NA", gene_strand="NA", region="no_annotation", gene_orientation="NA", distance_to_gene="NA",
        nearest_tss_gene="NA", distance_to_tss="NA", nearest_listed_gene="NA", distance_to_listed_gene="NA",
        listed_gene_category="NA", proximity_tier="unknown",
    ),
}  # fmt: skip


def _write_gtf(path: Path, contig: str = "1", rows: list[tuple[str, int, int, str, str]] = _GTF_ROWS) -> Path:
    lines = ["#!genome-build test\n"]
    lines += [f"{contig}\ttest\t{f}\t{s}\t{e}\t.\t{st}\t.\t{a}\n" for f, s, e, st, a in rows]
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            handle.writelines(lines)
    else:
        path.write_text("".join(lines))
    return path


def _site(chrom: str, position: str, orientation: str) -> dict[str, str]:
    row = dict.fromkeys(SITES, "NA")
    row.update(sample="s1", vector="v", chrom=chrom, position=position, orientation=orientation, flags="x")
    return row


def _annotate(tmp_path: Path, gtf: Path, sites: list[tuple[str, str, str]], lists: list[Path]) -> list[dict]:
    sites_tsv = tmp_path / "sites.tsv"
    write_tsv(sites_tsv, SITES, [_site(*s) for s in sites])
    out = tmp_path / "annotated.tsv"
    annotate_sites(sites_tsv, gtf, lists, out)
    return read_tsv(out)


@pytest.fixture
def gene_list(tmp_path: Path) -> Path:
    path = tmp_path / "test_genes.tsv"
    path.write_text(LIST_TEXT)
    return path


def test_every_annotation_column(tmp_path: Path, gene_list: Path) -> None:
    gtf = _write_gtf(tmp_path / "genes.gtf")
    rows = _annotate(tmp_path, gtf, list(EXPECTED), [gene_list])
    with open(tmp_path / "annotated.tsv") as handle:
        assert handle.readline().rstrip("\n").split("\t") == [*SITES, *ANNOTATION]
    assert len(rows) == len(EXPECTED)
    for row, (key, expected) in zip(rows, EXPECTED.items(), strict=True):
        got = {c: row[c] for c in ANNOTATION if c != "gene_list"}
        assert got == expected, key
        assert row["gene_list"] == "test-genes 1"
        assert (row["chrom"], row["position"], row["flags"]) == (key[0], key[1], "x")  # SITES kept


def test_annotation_cache_annotates_as_the_gtf(tmp_path: Path, gene_list: Path) -> None:
    """Rule preflight's pickle of the GTF annotates as the GTF does; a cache of another format is refused."""
    gtf = _write_gtf(tmp_path / "genes.gtf")
    cache = tmp_path / f"genes{CACHE_SUFFIX}"
    write_annotation_cache(read_gtf(gtf), cache)
    (tmp_path / "gtf").mkdir()
    (tmp_path / "cache").mkdir()
    from_gtf = _annotate(tmp_path / "gtf", gtf, list(EXPECTED), [gene_list])
    assert _annotate(tmp_path / "cache", cache, list(EXPECTED), [gene_list]) == from_gtf
    assert [r["gene"] for r in from_gtf] == [e["gene"] for e in EXPECTED.values()]
    cache.write_bytes(pickle.dumps((0, "old")))
    with pytest.raises(InputError) as caught:
        load_annotation(cache)
    err = caught.value
    assert "another carvis version" in err.problem and "delete it and rerun" in err.fix
    write_annotation_cache(read_gtf(gtf), cache)
    cache.write_bytes(cache.read_bytes()[:200])  # cut short
    with pytest.raises(InputError) as caught:
        load_annotation(cache)
    assert "damaged" in caught.value.problem and "delete it and rerun" in caught.value.fix


def test_chrom_naming_mismatch_both_ways(tmp_path: Path, gene_list: Path) -> None:
    ensembl = read_gtf(_write_gtf(tmp_path / "ensembl.gtf", contig="1"))
    ucsc = read_gtf(_write_gtf(tmp_path / "ucsc.gtf", contig="chr1"))
    assert (ensembl.contig("chr1"), ensembl.contig("1"), ensembl.contig("chr2")) == ("1", "1", None)
    assert (ucsc.contig("1"), ucsc.contig("chr1")) == ("chr1", "chr1")
    lists = load_gene_lists([gene_list])
    site = ("1200", "+")
    from_ensembl = Annotator(ensembl, lists).annotate("chr1", int(site[0]), site[1])
    from_ucsc = Annotator(ucsc, lists).annotate("1", int(site[0]), site[1])
    assert from_ensembl == from_ucsc
    assert from_ucsc["gene"] == "GENEA" and from_ucsc["region"] == "exon"


def test_mitochondrial_alias(tmp_path: Path) -> None:
    gtf = read_gtf(_write_gtf(tmp_path / "mt.gtf", contig="MT"))
    assert gtf.contig("chrM") == "MT"


def test_gzipped_gtf_matches_plain(tmp_path: Path, gene_list: Path) -> None:
    lists = load_gene_lists([gene_list])
    plain = Annotator(read_gtf(_write_gtf(tmp_path / "g.gtf")), lists)
    packed = Annotator(read_gtf(_write_gtf(tmp_path / "g.gtf.gz")), lists)
    for chrom, pos, strand in EXPECTED:
        assert plain.annotate(chrom, int(pos), strand) == packed.annotate(chrom, int(pos), strand)


def test_gtf_without_gene_lines_spans_transcripts(tmp_path: Path) -> None:
    rows = [r for r in _GTF_ROWS if r[0] not in {"gene", "transcript"}]
    annotation = read_gtf(_write_gtf(tmp_path / "exons_only.gtf", rows=rows))
    genes = {g.name: (g.start, g.end, g.strand) for g in annotation.genes["1"].genes}
    assert genes == {"GENEA": (1001, 5000, "+"), "LMO2": (20001, 30000, "-")}
    hit = Annotator(annotation, load_gene_lists([])).annotate("1", 2000, "+")
    assert (hit["gene"], hit["region"], hit["nearest_listed_gene"], hit["gene_list"]) == (
        "GENEA",
        "intron",
        None,
        None,
    )


def test_position_na_gives_na(tmp_path: Path, gene_list: Path) -> None:
    annotator = Annotator(read_gtf(_write_gtf(tmp_path / "g.gtf")), load_gene_lists([gene_list]))
    out = annotator.annotate("chr1", None, "+")
    assert out["gene_list"] == "test-genes 1"
    assert all(out[c] is None for c in ANNOTATION if c != "gene_list")


def test_user_gene_list_without_header_comments(tmp_path: Path, gene_list: Path) -> None:
    user = tmp_path / "lab_genes.tsv"
    user.write_text("gene\nGENEA\n\nENSG_C\n")
    digest = hashlib.sha256(user.read_bytes()).hexdigest()[:12]
    lists = load_gene_lists([gene_list, user])
    assert lists.label == f"test-genes 1;lab_genes sha256:{digest}"
    assert lists.categories("genea") == ("lab_genes",)
    assert lists.categories("LMO2") == ("insertional_event", "oncogene")
    rows = _annotate(
        tmp_path,
        _write_gtf(tmp_path / "g.gtf"),
        [("chr1", "2000", "+"), ("chr1", "59000", "+")],
        [gene_list, user],
    )
    inside, near_c = rows
    assert (inside["nearest_listed_gene"], inside["distance_to_listed_gene"]) == ("GENEA", "0")
    assert (inside["listed_gene_category"], inside["proximity_tier"]) == ("lab_genes", "inside")
    assert (near_c["nearest_listed_gene"], near_c["distance_to_listed_gene"]) == ("ENSG_C", "1001")
    assert near_c["proximity_tier"] == "10kb"
    assert inside["gene_list"] == f"test-genes 1;lab_genes sha256:{digest}"


def test_comma_separated_categories_and_tied_genes(tmp_path: Path) -> None:
    user = tmp_path / "two.tsv"
    user.write_text("# name: two\ngene\tcategory\nGENEA\toncogene, lymphoma\nLMO2\tNA\n")
    overlapping = [*_GTF_ROWS, ("gene", 900, 1300, "-", 'gene_id "ENSG_D"; gene_name "GENED";')]
    annotator = Annotator(read_gtf(_write_gtf(tmp_path / "g.gtf", rows=overlapping)), load_gene_lists([user]))
    out = annotator.annotate("1", 1200, "+")
    assert (out["gene"], out["gene_strand"], out["gene_orientation"]) == (
        "GENED;GENEA",
        "-;+",
        "opposite;same",
    )
    assert out["listed_gene_category"] == "oncogene,lymphoma"
    assert annotator.gene_lists.categories("LMO2") == ("two",)
    assert out["gene_list"].startswith("two sha256:")


def test_gene_index_matches_brute_force() -> None:
    rng = random.Random(7)
    genes = []
    for i in range(400):
        start = rng.randint(1, 1_000_000)
        genes.append(Gene(f"g{i}", f"G{i}", "1", start, start + rng.choice([10, 500, 5000, 200_000]), "+"))
    index = GeneIndex(genes)
    for pos in [rng.randint(1, 1_300_000) for _ in range(500)] + [genes[0].start, genes[0].end]:
        inside = {g.gene_id for g in genes if g.start <= pos <= g.end}
        assert {g.gene_id for g in index.overlapping(pos)} == inside
        distances = {g.gene_id: max(g.start - pos, pos - g.end, 0) for g in genes}
        best = min(distances.values())
        distance, hits = index.nearest(pos)
        assert distance == best
        assert {g.gene_id for g in hits} == {k for k, d in distances.items() if d == best}


def test_bad_gtf_line_names_the_line(tmp_path: Path) -> None:
    gtf = tmp_path / "bad.gtf"
    gtf.write_text('1\tt\tgene\t1\t100\t.\t+\t.\tgene_id "A";\n1\tt\texon\t1\t100\n')
    with pytest.raises(InputError, match=r"bad\.gtf, line 2: expected 9 tab-separated columns"):
        read_gtf(gtf)
    gtf.write_text('1\tt\tgene\tone\t100\t.\t+\t.\tgene_id "A";\n')
    with pytest.raises(InputError, match="line 1: start/end"):
        read_gtf(gtf)
    gtf.write_text("# nothing\n")
    assert read_gtf(gtf).genes == {}  # allowed (non-model hosts): preflight warns, sites read no_annotation


def test_bad_gene_list_and_sites(tmp_path: Path) -> None:
    bad = tmp_path / "bad_list.tsv"
    bad.write_text("# name: x\nsymbol\tcategory\nLMO2\toncogene\n")
    with pytest.raises(InputError, match="line 2: the header line has no 'gene' column"):
        load_gene_lists([bad])
    with pytest.raises(InputError, match="file not found"):
        load_gene_lists([tmp_path / "missing.tsv"])
    sites = tmp_path / "sites.tsv"
    sites.write_text("chrom\tposition\nchr1\t5\n")
    with pytest.raises(InputError, match="missing columns: sample, vector"):
        annotate_sites(sites, _write_gtf(tmp_path / "g.gtf"), [], tmp_path / "out.tsv")
    write_tsv(sites, SITES, [_site("chr1", "12x", "+")])
    with pytest.raises(InputError, match="line 2: position '12x'"):
        annotate_sites(sites, tmp_path / "g.gtf", [], tmp_path / "out.tsv")
    assert not (tmp_path / "out.tsv").exists()


def test_bundled_cancer_gene_table() -> None:
    lists = load_gene_lists([BUNDLED])
    assert lists.label == "carvis-cancer-genes 2026.11"
    table = lists.lists[0].categories
    assert 150 <= len(table) <= 250
    assert all(set(cats) <= CATEGORIES for cats in table.values())
    for gene in (
        "LMO2",
        "CCND2",
        "MECOM",
        "HMGA2",
        "PRDM16",
        "SETBP1",
        "BMI1",
        "LYL1",
        "MN1",
        "CBL",
        "BACH2",
    ):
        assert "insertional_event" in table[gene], gene
    for gene in ("SSU72", "PBX2", "ZGPAT", "KPNA4"):
        assert table[gene] == ("insertional_event",), gene
    for gene in ("TET2", "DNMT3A", "ASXL1", "JAK2", "TP53", "PPM1D", "SF3B1", "SRSF2"):
        assert "clonal_haematopoiesis" in table[gene], gene
    assert {"insertional_event", "clonal_haematopoiesis", "tumour_suppressor"} <= set(table["TET2"])
    rows = read_tsv_skipping_comments(BUNDLED)
    assert all(r["gene"] and r["note"] and r["reference"] for r in rows)
    assert len({(r["gene"], r["category"]) for r in rows}) == len(rows)  # one row per gene-category pair


def read_tsv_skipping_comments(path: Path) -> list[dict[str, str]]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


SHARED_GTF = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "genome"
    / "Homo_sapiens.GRCh38.91_chr9_1_1000000.gtf"
)


@pytest.mark.shared
def test_real_ensembl_gtf_with_ucsc_site_names(tmp_path: Path, gene_list: Path) -> None:
    if not SHARED_GTF.is_file():
        pytest.skip(f"shared data not present: {SHARED_GTF}")
    annotator = Annotator(read_gtf(SHARED_GTF), load_gene_lists([gene_list]))
    # DOCK8 (+, 214854-465259) CDS 271627-271729, inside the antisense AL158832.1 (-, 267966-273002)
    in_cds = annotator.annotate("chr9", 271_700, "-")
    assert (in_cds["gene"], in_cds["gene_strand"], in_cds["region"]) == ("DOCK8;AL158832.1", "+;-", "exon")
    assert in_cds["gene_orientation"] == "opposite;same"
    # between DMRT1 (ends 969090) and DMRT3 (starts 976964)
    between = annotator.annotate("chr9", 970_000, "+")
    assert (between["gene"], between["region"], between["distance_to_gene"]) == ("DMRT1", "intergenic", 910)
    assert (between["nearest_tss_gene"], between["distance_to_tss"]) == ("DMRT3", -6964)
    assert between["nearest_listed_gene"] is None and between["proximity_tier"] == "none"
