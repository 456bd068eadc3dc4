"""The bundled demo: reproducible, a realistic lentiviral CAR plasmid, real gene homology, unique sites."""

from __future__ import annotations

import itertools
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from Bio import SeqIO

from carvis.cli import build_parser, main
from carvis.core.io import read_tsv, write_fasta
from carvis.core.seqs import revcomp
from carvis.reference.vectors import build_vector
from carvis.sim import demo
from carvis.sim.insertions import read_genome

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
FILES = ("genome.fa", "annotation.gtf", "vector.gb", "vector.fa", "design.tsv", "truth.tsv", "samples.tsv")


@pytest.fixture(scope="module")
def genome() -> dict[str, str]:
    return read_genome(DEMO / "genome.fa")


@pytest.fixture(scope="module")
def gtf() -> dict[str, dict[str, list]]:
    """gene name -> feature type -> [(start, end, strand, chrom, exon_number)]."""
    genes: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for line in (DEMO / "annotation.gtf").read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        attrs = dict(re.findall(r'(\S+) "([^"]*)"', f[8]))
        genes[attrs["gene_name"]][f[2]].append(
            (int(f[3]), int(f[4]), f[6], f[0], int(attrs.get("exon_number", 0)), attrs)
        )
    return genes


def _features() -> dict[str, str]:
    record = SeqIO.read(DEMO / "vector.gb", "genbank")
    return {f.qualifiers["label"][0]: str(f.extract(record.seq)) for f in record.features}


def _cds(genome: dict[str, str], gene: dict[str, list]) -> list[str]:
    """Sense coding sequence of each coding exon, transcript order."""
    parts = sorted(gene["CDS"], key=lambda p: p[4])
    return [
        genome[c][s - 1 : e] if strand == "+" else revcomp(genome[c][s - 1 : e])
        for s, e, strand, c, *_ in parts
    ]


def test_make_demo_reproduces_the_committed_files(tmp_path):
    assert main(["make-demo", "--out", str(tmp_path), "--seed", "7"]) == 0
    for name in (*FILES, "README.md"):
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name
    other = tmp_path / "other"
    demo.write_demo(other, seed=8)
    assert (other / "genome.fa").read_bytes() != (DEMO / "genome.fa").read_bytes()


def test_genome_and_annotation_look_like_the_spec(genome, gtf):
    assert {c: round(len(s), -4) for c, s in genome.items()} == {
        "chr1": 550_000,
        "chr2": 400_000,
        "chrX": 250_000,
    }
    text = (DEMO / "genome.fa").read_text()
    assert (DEMO / "genome.fa").stat().st_size < 1_500_000
    assert {len(line) for line in text.splitlines() if not line.startswith(">")} <= set(range(1, 61))
    seq = "".join(genome.values())
    assert set(seq) == set("ACGT")
    assert 0.39 < (seq.count("G") + seq.count("C")) / len(seq) < 0.43
    required = "EEF1A1 CD8A CD28 TNFRSF9 CD247 EGFR LMO2 MECOM CCND2 HMGA2 PRDM16 TET2 CBL BACH2 SSU72 PBX2"
    assert set((required + " ZGPAT KPNA4 IKZF1").split()) < set(gtf) and len(gtf) == 25
    assert gtf["LMO2"]["gene"][0][3] == "chr1"
    assert {g["gene"][0][2] for g in gtf.values()} == {"+", "-"}
    for name, gene in gtf.items():
        exons = sorted(gene["exon"])
        assert 3 <= len(exons) <= 10, name
        assert all(500 <= b[0] - a[1] - 1 <= 15_000 for a, b in itertools.pairwise(exons)), name
        assert gene["CDS"] and gene["five_prime_utr"] and gene["three_prime_utr"], name
        cds = "".join(_cds(genome, gene))
        assert cds.startswith("ATG") and cds.endswith("TAA"), name
        assert {"gene_id", "gene_name", "gene_biotype", "transcript_id"} <= set(gene["exon"][0][5])


def test_vector_provirus_from_features_equals_the_readme_coordinates():
    start, end = map(int, re.search(r"provirus: \[(\d+), (\d+)\]", (DEMO / "README.md").read_text()).groups())
    from_features = build_vector("demo_car", DEMO / "vector.gb", "lentiviral")
    from_coords = build_vector("demo_car", DEMO / "vector.gb", "lentiviral", provirus=[start, end])
    from_fasta = build_vector("demo_car", DEMO / "vector.fa", "lentiviral")
    assert "GenBank" in from_features.derivation
    assert from_features.provirus == from_coords.provirus == from_fasta.provirus
    assert from_features.segments == from_coords.segments
    provirus = from_features.provirus
    assert 5500 <= len(provirus) <= 6000 and from_features.ltr_length == 234
    assert provirus.startswith("TGGAAGGGCT") and provirus.endswith("AAAATCTCTAGCA")
    assert provirus[:234] == provirus[-234:]
    plasmid = str(SeqIO.read(DEMO / "vector.gb", "genbank").seq)
    assert plasmid == "".join(read_genome(DEMO / "vector.fa").values())
    assert 8000 <= len(plasmid) <= 9000
    assert plasmid.count("TGGAAGGGCT") == 1 and plasmid.count(provirus[-20:]) == 2
    features = _features()
    assert features["5' LTR"] == features["3' LTR"][-len(features["5' LTR"]) :]
    assert features["3' LTR"][:-180] not in features["5' LTR"] and features["PPT"] == "AAAAGAAAAGGGGGGA"
    inside = {f.name for f in from_features.features}
    assert {"EF1a promoter", "CD8A leader", "scFv", "CD8A hinge/TM", "4-1BB", "CD3z", "WPRE"} <= inside
    assert not {"AmpR", "ori", "f1 ori"} & inside


def test_vector_cdna_pieces_are_copies_of_the_demo_genes(genome, gtf):
    features = _features()
    eef = gtf["EEF1A1"]
    exons = sorted(eef["exon"], key=lambda e: e[4])
    chrom, strand = exons[0][3], exons[0][2]
    if strand == "+":
        ef1a = genome[chrom][exons[0][0] - 1001 : exons[1][0] - 1]
    else:
        ef1a = revcomp(genome[chrom][exons[1][1] : exons[0][1] + 1000])
    assert features["EF1a promoter"] == ef1a and len(ef1a) > 1500
    cd8a = _cds(genome, gtf["CD8A"])
    assert features["CD8A leader"] == "".join(cd8a)[:63]
    hinge = features["CD8A hinge/TM"]
    assert hinge == cd8a[1] + cd8a[2]
    assert hinge not in genome[gtf["CD8A"]["gene"][0][3]] and revcomp(hinge) not in genome["chr1"]
    assert "".join(_cds(genome, gtf["TNFRSF9"])[-2:]) == features["4-1BB"] and len(features["4-1BB"]) == 126
    assert "".join(_cds(genome, gtf["CD247"])[-3:]) == features["CD3z"] and len(features["CD3z"]) == 336
    assert features["scFv"] not in "".join(genome.values())


def test_design_sites_are_in_unique_sequence(genome, gtf, tmp_path):
    design = read_tsv(DEMO / "design.tsv")
    clonal = [(r["chrom"], int(r["position"]), r["orientation"]) for r in design if r["class"] == "clonal"]
    assert [o for *_, o in clonal] == ["+", "-"]
    assert len(design) == 22 and all(0.002 <= float(r["cell_fraction"]) <= 0.01 for r in design[2:])
    built = demo.build_demo()
    assert built.genome == genome
    for chrom, pos, _ in clonal:
        assert all(pos < a - 1000 or pos > b + 1000 for a, b, _ in built.repeats[chrom])
    (ssu72_chrom, ssu72_pos, _), (lmo2_chrom, lmo2_pos, _) = clonal
    ssu72 = gtf["SSU72"]
    assert ssu72["gene"][0][3] == ssu72_chrom and ssu72["gene"][0][0] < ssu72_pos < ssu72["gene"][0][1]
    assert not any(s <= ssu72_pos <= e for s, e, *_ in ssu72["exon"])
    lmo2 = gtf["LMO2"]["gene"][0]
    assert lmo2[3] == lmo2_chrom and 0 < min(abs(lmo2_pos - lmo2[0]), abs(lmo2_pos - lmo2[1])) <= 50_000
    assert not any(
        g["gene"][0][3] == lmo2_chrom and g["gene"][0][0] <= lmo2_pos <= g["gene"][0][1] for g in gtf.values()
    )
    # with sensitive seeds every 1 kb window around a clonal site maps once; Alu-like copies map more often
    windows = {f"{c}_{p}": genome[c][p - 1000 : p + 1000] for c, p, _ in clonal}
    alus = [(a, b) for a, b, family in built.repeats["chr1"] if family == "Alu_like"][:10]
    windows |= {f"alu{i}": genome["chr1"][a:b] for i, (a, b) in enumerate(alus)}
    query = tmp_path / "windows.fa"
    write_fasta(query, windows.items())
    sensitive = ["minimap2", "-c", "-k", "11", "-w", "5", "-N", "50", "-p", "0.2"]
    paf = subprocess.run(
        [*sensitive, str(DEMO / "genome.fa"), str(query)], capture_output=True, text=True, check=True
    ).stdout
    hits = defaultdict(list)
    for line in paf.splitlines():
        f = line.split("\t")
        hits[f[0]].append((f[5], int(f[7]), int(f[11])))
    for chrom, pos, _ in clonal:
        assert hits[f"{chrom}_{pos}"] == [(chrom, pos - 1000, 60)]
    assert sum(len(hits[f"alu{i}"]) > 1 for i in range(len(alus))) >= 2


def test_truth_is_what_the_simulator_writes_for_the_demo_reads(tmp_path):
    args = demo.simulate_args(DEMO, tmp_path / "reads" / "demo_tumour")
    parsed = build_parser().parse_args(["simulate", *args])
    assert (parsed.seed, parsed.coverage, parsed.purity, parsed.sample) == (11, 30, 0.8, "demo_tumour")
    args[args.index("--coverage") + 1] = "1"
    assert main(["simulate", *args]) == 0
    simulated = read_tsv(tmp_path / "reads" / "demo_tumour.truth.tsv")
    committed = read_tsv(DEMO / "truth.tsv")
    unknown = {"fragments": "NA", "readable_fragments": "NA", "placeable_fragments": "NA"}
    assert all({c: r[c] for c in unknown} == unknown for r in committed)
    assert [{**r, **unknown} for r in simulated] == committed
    assert [r["clonal_fraction"] for r in committed[:2]] == ["1", "1"]
    sheet = read_tsv(DEMO / "samples.tsv")
    assert sheet == [
        {
            "sample": "demo_tumour",
            "fastq_1": "reads/demo_tumour_R1.fastq.gz",
            "fastq_2": "reads/demo_tumour_R2.fastq.gz",
            "vector": "demo_car",
            "purity": "0.8",
            "assay": "wgs",
        }
    ]
