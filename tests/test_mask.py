"""Homology mask: real minimap2 on the tiles of a synthetic CAR vector whose truth is known.

The synthetic world (also used by test_transgene.py): a random 60 kb genome with an
"EEF1A1-like" promoter + first exon/intron and a "CD28-like" gene with four exons; vector A
carries a copy of the promoter region and a cDNA of CD28 exons 2-4 (exon 3 only 45 bp); vector
B is another lentiviral vector sharing A's LTR and WPRE.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pysam
import pytest
from helpers import write_fasta

from carvis.core.errors import InputError
from carvis.core.intervals import merge, read_bed
from carvis.reference.mask import (
    MINIMAP2_ARGS,
    build_mask,
    footprint_intervals,
    mask_report,
    masked_bp,
    read_mask,
    write_vector_tiles,
)
from carvis.reference.vectors import VectorModel, build_vector

needs_tools = pytest.mark.skipif(
    not (shutil.which("minimap2") and shutil.which("samtools")), reason="minimap2 and samtools are needed"
)

FIVE, THREE = "TGGAAGGGCT", "AAAATCTCTAGCA"
R_U5_LENGTH = 170 + len(THREE)
#: (start, end) 0-based half-open on chr1 of the genome pieces the vector copies.
EF1A_PROMOTER = (10_000, 11_400)  # promoter + exon 1 + intron 1, copied as is
CD28_EXONS = [(30_000, 30_120), (30_720, 30_810), (31_310, 31_355), (31_755, 31_885)]


def rand_seq(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


@dataclass
class World:
    genome: dict[str, str]
    plasmids: dict[str, str]
    models: list[VectorModel]
    pieces: dict[str, str]  # name -> sequence copied into vector A
    combined: Path

    @property
    def a(self) -> VectorModel:
        return self.models[0]


def _plasmid(rng: random.Random, internal: list[str], ltr: str, r_u5: str) -> tuple[str, list[int]]:
    """backbone + RSV U3 + R-U5 (5' LTR) + internal + 3' LTR + backbone; returns the provirus range."""
    left = rand_seq(rng, 900) + rand_seq(rng, 200)  # backbone, then the RSV U3 of the 5' LTR
    body = r_u5 + "".join(internal) + ltr
    right = rand_seq(rng, 1200)
    start = len(left) - 200 + 1
    return left + body + right, [start, len(left) + len(body)]


def make_world(tmp: Path, seed: int = 7) -> World:
    rng = random.Random(seed)
    genome = {"chr1": rand_seq(rng, 60_000)}
    chr1 = genome["chr1"]
    promoter = chr1[slice(*EF1A_PROMOTER)]
    cdna = "".join(chr1[s:e] for s, e in CD28_EXONS[1:])
    r_u5 = rand_seq(rng, R_U5_LENGTH - len(THREE)) + THREE
    ltr = FIVE + rand_seq(rng, 90) + r_u5
    wpre = rand_seq(rng, 600)
    pieces = {"psi": rand_seq(rng, 700), "ef1a": promoter, "scfv": rand_seq(rng, 720), "cd28": cdna}
    pieces |= {"cd3z": rand_seq(rng, 336), "wpre": wpre}
    plasmid_a, range_a = _plasmid(rng, list(pieces.values()), ltr, r_u5)
    plasmid_b, range_b = _plasmid(rng, [rand_seq(rng, 600), rand_seq(rng, 800), wpre], ltr, r_u5)
    plasmids = {"carA": plasmid_a, "carB": plasmid_b}
    models = []
    for (name, seq), rng_ in zip(plasmids.items(), (range_a, range_b), strict=True):
        models.append(build_vector(name, write_fasta(tmp / f"{name}.fa", {name: seq}), "lentiviral", rng_))
    contigs = dict(genome)
    for model in models:
        contigs |= model.contigs()
    return World(genome, plasmids, models, pieces, write_fasta(tmp / "combined.fa", contigs))


def run_tiles(world: World, tmp: Path) -> tuple[Path, Path]:
    """Tiles -> minimap2 (the workflow's options) -> mask and footprint BEDs."""
    tiles = tmp / "tiles.fa"
    write_vector_tiles(world.models, tiles)
    sam = tmp / "tiles.sam"
    with open(sam, "w") as out:
        subprocess.run(
            ["minimap2", *MINIMAP2_ARGS.split(), str(world.combined), str(tiles)],
            stdout=out,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    mask, footprint = tmp / "mask.bed", tmp / "footprint.bed"
    build_mask(sam, world.models, mask, footprint)
    return mask, footprint


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Path, Path]:
    if not (shutil.which("minimap2") and shutil.which("samtools")):
        pytest.skip("minimap2 and samtools are needed")
    tmp = tmp_path_factory.mktemp("mask")
    world = make_world(tmp)
    return (world, *run_tiles(world, tmp))


def _where(model: VectorModel, piece: str) -> tuple[int, int]:
    start = model.provirus.find(piece)
    assert start >= 0 and model.provirus.find(piece, start + 1) < 0
    return start, start + len(piece)


def _near(a: list[tuple[int, int]], b: list[tuple[int, int]], slack: int = 6) -> bool:
    return len(a) == len(b) and all(
        abs(s1 - s2) <= slack and abs(e1 - e2) <= slack for (s1, e1), (s2, e2) in zip(a, b, strict=True)
    )


def test_tiles_cover_every_contig_and_name_their_origin(tmp_path: Path) -> None:
    model = build_vector(
        "v", write_fasta(tmp_path / "v.fa", {"v": "A" * 150 + FIVE + "C" * 200 + THREE}), "other", [1, 373]
    )
    tiles = tmp_path / "t.fa"
    n = write_vector_tiles([model], tiles, tile=100, step=40)
    records = tiles.read_text().split(">")[1:]
    assert n == len(records) == 8  # offsets 0, 40, ..., 240 and the last tile at 273
    for record in records:
        name, seq = record.split("\n")[:2]
        contig, offset = name.rsplit(":", 1)
        assert model.contigs()[contig][int(offset) : int(offset) + 100] == seq
    assert records[-1].startswith("v__provirus:273\n")


@needs_tools
def test_mask_is_exactly_the_genome_pieces_and_the_shared_parts(built: tuple[World, Path, Path]) -> None:
    world, mask_bed, _ = built
    a = world.a
    rows = [r for r in read_mask(mask_bed) if r[0] == a.provirus_contig]
    genome = merge((s, e) for _, s, e, label in rows if label.startswith("genome:chr1:"))
    expected = [_where(a, world.pieces["ef1a"]), _where(a, world.pieces["cd28"])]
    assert _near(genome, expected)
    # every CD28 exon is its own piece, labelled with its genome position
    exon_labels = {label for _, _, _, label in rows if label.startswith("genome:")}
    for s, e in [EF1A_PROMOTER, *CD28_EXONS[1:]]:
        assert any(_near([(int(x) - 1, int(y))], [(s, e)]) for x, y in _ranges(exon_labels))
    assert len(exon_labels) == 4
    shared = merge((s, e) for _, s, e, label in rows if label == "vector:carB")
    ltr5, ltr3 = ((s - 1, e) for s, e in a.ltr_ranges())
    assert _near(shared, merge([ltr5, _where(a, world.pieces["wpre"]), ltr3]))
    assert {label for *_, label in rows} <= exon_labels | {"vector:carB"}


def _ranges(labels: set[str]) -> list[list[str]]:
    """The 1-based start and end of genome:<chrom>:<start>-<end> labels."""
    return [label.rsplit(":", 1)[1].split("-") for label in labels]


@needs_tools
def test_backbone_shares_nothing_with_the_provirus(built: tuple[World, Path, Path]) -> None:
    """The plasmid's own R-U5 is left out of the backbone contig, so nothing there is masked."""
    world, mask_bed, _ = built
    assert world.a.provirus[-R_U5_LENGTH:] not in world.a.backbone
    assert not [r for r in read_mask(mask_bed) if r[0] == world.a.backbone_contig]


@needs_tools
def test_footprint_is_the_rest_minus_ltrs(built: tuple[World, Path, Path]) -> None:
    world, mask_bed, footprint_bed = built
    a = world.a
    footprint = read_bed(footprint_bed)
    expected = [
        _where(a, world.pieces["psi"]),
        (_where(a, world.pieces["scfv"])[0], _where(a, world.pieces["cd28"])[0]),
    ]
    expected.append(_where(a, world.pieces["cd3z"]))
    assert _near(footprint[a.provirus_contig], expected)
    assert a.provirus[-R_U5_LENGTH:] not in a.backbone  # the plasmid's own R-U5 is not backbone
    assert _near(footprint[a.backbone_contig], [(0, len(a.backbone))])
    rows = read_mask(mask_bed)
    assert abs(masked_bp(a, rows) - len(world.pieces["ef1a"]) - len(world.pieces["cd28"]) - 600) <= 10
    report = mask_report(a, rows)
    assert {r["label"] for r in report} >= {"ltr", "vector:carB"}
    assert all(r["length"] == r["end"] - r["start"] + 1 for r in report)


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.shared
@needs_tools
def test_two_real_cd19_car_plasmids_differ_only_in_the_scfv(tmp_path: Path) -> None:
    """Real CART19 (FMC63) and huCART19 (humanised scFv) plasmids against 2 Mb of real GRCh38."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    vectors = SHARED / "vectors"
    models = [
        build_vector("CART19", vectors / "vector_CART19.fa", "lentiviral"),
        build_vector("huCART19", vectors / "pNVS_huCART19_BBz_C2137.fa", "lentiviral"),
    ]
    contigs: dict[str, str] = {}
    for name in (
        "hg38_chr21_22000000_23000000.fasta",
        "Homo_sapiens.GRCh38.dna_sm.primary_assembly_chr9_1_1000000.fa",
    ):
        with pysam.FastxFile(str(SHARED / "genome" / name)) as fasta:
            contigs |= {r.name: r.sequence.upper() for r in fasta}
    for model in models:
        contigs |= model.contigs()
    world = World(contigs, {}, models, {}, write_fasta(tmp_path / "combined.fa", contigs))
    mask_bed, footprint_bed = run_tiles(world, tmp_path)
    rows = read_mask(mask_bed)
    assert not [r for r in rows if r[3].startswith("genome:")]  # no EEF1A1/CD8A/CD28/CD247 in these windows
    footprint = read_bed(footprint_bed)
    for model, other in zip(models, models[::-1], strict=True):
        (start, end), *more = footprint[model.provirus_contig]
        assert not more and 600 <= end - start <= 1500  # one scFv-sized construct-specific piece
        piece = model.provirus[start:end]
        assert all(piece[i : i + 40] not in other.provirus for i in range(0, len(piece) - 40, 40))
        assert model.backbone_contig not in footprint  # same backbone in both plasmids
        assert not [r for r in rows if r[3] == "provirus"]  # backbone and provirus share no sequence


def test_footprint_drops_short_pieces_between_masked_parts(tmp_path: Path) -> None:
    seq = "A" * 50 + FIVE + "C" * 400 + THREE
    model = build_vector("v", write_fasta(tmp_path / "v.fa", {"v": seq}), "other", [51, len(seq)])
    mask = {"v__provirus": [(100, 200), (220, 300)]}
    assert footprint_intervals(model, mask, min_length=30) == {"v__provirus": [(0, 100), (300, 423)]}


def test_bad_tile_names_and_bad_mask_lines_are_input_errors(tmp_path: Path) -> None:
    sam = tmp_path / "bad.sam"
    sam.write_text("@SQ\tSN:chr1\tLN:1000\nread1\t0\tchr1\t1\t60\t50M\t*\t0\t0\t*\t*\tNM:i:0\n")
    with pytest.raises(InputError, match="not a vector tile name"):
        build_mask(sam, [], tmp_path / "m.bed", tmp_path / "f.bed")
    bed = tmp_path / "mask.bed"
    bed.write_text("v__provirus\t1\tx\tgenome\n")
    with pytest.raises(InputError, match="line 1"):
        read_mask(bed)
