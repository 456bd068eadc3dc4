"""The tumour read simulator: junction reads at the truth coordinates, allele fractions, contamination."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from carvis.cli import main
from carvis.core.errors import InputError
from carvis.core.io import read_tsv, write_fasta
from carvis.core.seqs import revcomp
from carvis.reference.vectors import VectorModel, build_vector
from carvis.sim.insertions import Insertion, SiteDraw, random_insertions, read_design
from carvis.sim.simulate import TumourModel, simulate_tumour

DEMO_VECTOR = Path(__file__).resolve().parents[1] / "resources" / "demo" / "vector.gb"
# chr1 sites: four carried by every cell (g = 0.5) and one by a quarter of the cells (g = 0.125)
FULL = [(10_000, "+"), (25_000, "-"), (40_000, "+"), (55_000, "-")]
QUARTER = (70_000, "+")
CONTROLS = [5_000, 15_000, 20_000, 30_000, 35_000, 45_000, 50_000, 60_000]


def _random_seq(rng: np.random.Generator, n: int) -> str:
    return rng.choice(np.frombuffer(b"ACGT", np.uint8), size=n, p=[0.3, 0.2, 0.2, 0.3]).tobytes().decode()


@pytest.fixture(scope="module")
def genome(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(3)
    chr2 = _random_seq(rng, 10_000) + "N" * 5_000 + _random_seq(rng, 10_000)
    seqs = {"chr1": _random_seq(rng, 80_000), "chr2": chr2}
    path = tmp_path_factory.mktemp("genome") / "genome.fa"
    write_fasta(path, ((f"{name} test", seq) for name, seq in seqs.items()))
    return path, seqs


@pytest.fixture(scope="module")
def vector() -> VectorModel:
    return build_vector("demo_car", DEMO_VECTOR, "lentiviral")


def _reads(path: Path) -> list[tuple[str, str]]:
    with gzip.open(path, "rt") as handle:
        lines = handle.read().splitlines()
    return [(lines[i][1:], lines[i + 1]) for i in range(0, len(lines), 4)]


@pytest.fixture(scope="module")
def tumour(genome, vector, tmp_path_factory):
    path, _ = genome
    insertions = [Insertion("chr1", a, o, 1.0) for a, o in FULL]
    insertions.append(Insertion("chr1", QUARTER[0], QUARTER[1], 0.25, None, "bystander"))
    out = tmp_path_factory.mktemp("sim") / "t"
    result = simulate_tumour(
        path, vector, insertions, out, TumourModel("s1", 60, error_rate=0.0, purity=0.5, seed=5)
    )
    r1, r2 = _reads(result.r1), _reads(result.r2)
    return result, insertions, r1, r2


def _count(reads: list[str], window: str) -> int:
    rc = revcomp(window)
    return sum(window in r or rc in r for r in reads)


def test_junction_reads_sit_exactly_at_the_truth_coordinates(genome, vector, tumour):
    _, host = genome
    result, insertions, r1, r2 = tumour
    reads = [s for _, s in r1 + r2]
    truth = {int(r["position"]): r for r in read_tsv(result.truth)}
    for ins in insertions:
        row, a, t = truth[ins.position], ins.position, 5
        seq = host["chr1"]
        assert (int(row["left_junction"]), int(row["right_junction"])) == (a + t - 1, a)
        assert row["tsd"] == seq[a - 1 : a + t - 1] and row["tsd_length"] == "5"
        insert = vector.provirus if ins.orientation == "+" else revcomp(vector.provirus)
        left = seq[a - 21 : a + t - 1] + insert[:20]  # host up to the TSD's end, then the vector
        right = insert[-20:] + seq[a - 1 : a + 19]  # the vector, then host from the TSD's start
        assert left.endswith(row["tsd"] + insert[:20]) and right.startswith(insert[-20:] + row["tsd"])
        n_left, n_right = _count(reads, left), _count(reads, right)
        assert n_left > 0 and n_right > 0
        assert n_left + n_right <= int(row["fragments"])
        # one host base more or less at either junction is never seen
        assert _count(reads, seq[a - 20 : a + t] + insert[:20]) == 0
        assert _count(reads, seq[a - 22 : a + t - 2] + insert[:20]) == 0
        assert _count(reads, insert[-20:] + seq[a : a + 20]) == 0
    ends = {"+": vector.provirus[:10], "-": revcomp(vector.provirus[-10:])}
    assert ends["+"] == "TGGAAGGGCT" and ends["-"] == revcomp("AAAATCTCTAGCA")[:10]


def test_readable_fragments_are_those_with_a_read_showing_12_bases_each_side(genome, vector, tumour):
    """The truth's physical limit: fragments with a read holding 12 host + 12 vector bases at a junction
    (counted in the reads themselves; a sequencing error in the 24 bases hides a few)."""
    _, host = genome
    result, insertions, r1, r2 = tumour
    truth = {int(r["position"]): r for r in read_tsv(result.truth)}
    seq = host["chr1"]
    for ins in insertions:
        a, t = ins.position, 5
        insert = vector.provirus if ins.orientation == "+" else revcomp(vector.provirus)
        windows = (seq[a + t - 13 : a + t - 1] + insert[:12], insert[-12:] + seq[a - 1 : a + 11])
        seen = sum(any(_count([x, y], w) for w in windows) for (_, x), (_, y) in zip(r1, r2, strict=True))
        readable = int(truth[a]["readable_fragments"])
        assert 0.95 * readable <= seen <= readable < int(truth[a]["fragments"])


def test_placeable_fragments_hold_20_host_bases_or_a_mate_on_the_host(genome, vector, tumour):
    """The part of the physical limit a human genome can place: fragments whose junction read holds 20+
    host bases, plus those whose 12-19 host bases come with a mate read wholly on the host."""
    _, host = genome
    result, insertions, r1, r2 = tumour
    truth = {int(r["position"]): r for r in read_tsv(result.truth)}
    seq = host["chr1"]
    pairs = [(x, y) for (_, x), (_, y) in zip(r1, r2, strict=True)]
    lost = 0
    for ins in insertions:
        a, t = ins.position, 5
        insert = vector.provirus if ins.orientation == "+" else revcomp(vector.provirus)
        long_host = (seq[a + t - 21 : a + t - 1] + insert[:12], insert[-12:] + seq[a - 1 : a + 19])
        seen = sum(any(_count(pair, w) for w in long_host) for pair in pairs)
        row = truth[a]
        placeable, readable = int(row["placeable_fragments"]), int(row["readable_fragments"])
        assert 0.95 * seen <= placeable <= readable
        # each extra fragment has a 12-19 host-base read whose mate is wholly host: at most all such fragments
        short_host = [
            w
            for h in range(12, 20)
            for w in (seq[a + t - 1 - h : a + t - 1] + insert[:12], insert[-12:] + seq[a - 1 : a - 1 + h])
        ]
        assert placeable - seen <= sum(any(_count(pair, w) for w in short_host) for pair in pairs)
        lost += readable - placeable
    assert lost > 0  # some 12-19 host-base reads have their mate in the vector: a genome cannot place them


def test_truth_fractions_and_fragment_counts_scale_with_cell_fraction(tumour):
    result, _, _, _ = tumour
    rows = read_tsv(result.truth)
    full = [int(r["fragments"]) for r in rows if r["class"] == "clonal"]
    quarter = next(int(r["fragments"]) for r in rows if r["class"] == "bystander")
    # expected per site: 2 junctions x (coverage * g / (2 * read length)) x ~349 start positions
    assert 0.6 * 70 < np.mean(full) < 1.4 * 70
    assert 2 < np.mean(full) / quarter < 8
    assert {r["clonal_fraction"] for r in rows} == {"1", "0.5"}  # 1.0 / 0.5 capped at 1; 0.25 / 0.5
    transgene = read_tsv(result.truth_transgene)[0]
    assert transgene == {
        "sample": "s1",
        "vector": "demo_car",
        "vcn": "4.25",
        "vcn_per_tumour_cell": "8.5",
        "plasmid_contamination": "no",
    }


def test_reference_fragments_across_a_site_drop_by_the_allele_fraction(genome, tumour):
    _, host = genome
    _, _, r1, r2 = tumour
    reads = [s for _, s in r1 + r2]
    seq = host["chr1"]

    def spanning(a: int) -> int:  # reads holding the reference across the whole target site
        return _count(reads, seq[a - 16 : a + 5 + 15])

    at_sites = np.mean([spanning(a) for a, _ in FULL])
    controls = np.mean([spanning(a) for a in CONTROLS])
    assert controls > 30
    assert 0.3 < at_sites / controls < 0.7  # g = 0.5


def test_pairs_are_fr_with_shared_names_and_no_n_rich_fragments(genome, tumour):
    _, host = genome
    _, _, r1, r2 = tumour
    assert [n for n, _ in r1] == [n for n, _ in r2]
    assert r1[0][0] == "s1:1" and len({n for n, _ in r1}) == len(r1)
    assert max(max(s.count("N") for _, s in r1), max(s.count("N") for _, s in r2)) <= 55
    assert any(s.count("N") for _, s in r1)  # fragments near the gap are kept
    seq = host["chr1"]
    r1_forward = []
    for (_, a), (_, b) in zip(r1[:400], r2[:400], strict=True):
        if "N" in a + b or (seq.find(a) < 0 and seq.find(b) < 0):
            continue  # chr2 or vector
        forward, reverse = (a, revcomp(b)) if seq.find(a) >= 0 else (b, revcomp(a))
        start, end_start = seq.find(forward), seq.find(reverse)
        if end_start < 0:
            continue  # the mate is in the vector: a pair across an insertion junction
        assert 150 <= end_start + 150 - start <= 550
        r1_forward.append(forward == a)
    assert len(r1_forward) > 200 and 0.35 < np.mean(r1_forward) < 0.65
    positions = [seq.find(a) for _, a in r1[:200] if seq.find(a) >= 0]
    assert positions != sorted(positions)


def test_provirus_is_read_at_coverage_times_allele_fraction(vector, tmp_path):
    """The depth the VCN is measured against: coverage x cell_fraction / 2 per insertion, with no
    excess from fragments crowding into a template's usable starts (that raised it by ~5%)."""
    rng = np.random.default_rng(4)
    path = tmp_path / "genome.fa"
    path.write_text(f">chr1\n{_random_seq(rng, 12_000)}\n")
    sites = [Insertion("chr1", a, o, 1.0) for a, o in ((3_000, "+"), (6_000, "-"), (9_000, "+"))]
    res = simulate_tumour(
        path, vector, sites, tmp_path / "t", TumourModel(coverage=600, error_rate=0.0, seed=8)
    )
    provirus, read_length = vector.provirus, 150
    depth = np.zeros(len(provirus))
    for _, seq in _reads(res.r1) + _reads(res.r2):
        for read in (seq, revcomp(seq)):
            at = provirus.find(read)
            if at >= 0:
                depth[at : at + read_length] += 1
    inner = depth[vector.ltr_length + read_length : len(provirus) - vector.ltr_length - read_length]
    assert abs(inner.mean() / (len(sites) * 600 * 1.0 / 2) - 1) < 0.025


def test_same_seed_same_bytes_other_seed_differs(genome, vector, tmp_path):
    path, _ = genome
    insertions = [Insertion("chr1", 20_000, "+", 0.5)]
    outs = []
    for name, seed in (("a", 9), ("b", 9), ("c", 10)):
        res = simulate_tumour(
            path, vector, insertions, tmp_path / name, TumourModel(coverage=3, contamination=0.5, seed=seed)
        )
        outs.append([p.read_bytes() for p in (res.r1, res.r2, res.truth, res.truth_transgene)])
    assert outs[0] == outs[1]
    assert outs[0][0] != outs[2][0]


def test_contamination_adds_backbone_reads(genome, vector, tmp_path):
    path, _ = genome
    k = 25
    provirus_kmers = {vector.provirus[i : i + k] for i in range(len(vector.provirus) - k + 1)}
    backbone = {vector.backbone[i : i + k] for i in range(len(vector.backbone) - k + 1)} - provirus_kmers
    backbone |= {revcomp(s) for s in backbone}

    def backbone_reads(contamination: float, name: str) -> tuple[int, object]:
        res = simulate_tumour(
            path, vector, [], tmp_path / name, TumourModel(coverage=10, contamination=contamination, seed=2)
        )
        hits = sum(
            any(s[i : i + k] in backbone for i in range(0, 150 - k + 1, 25)) for _, s in _reads(res.r1)
        )
        return hits, res

    clean, _ = backbone_reads(0.0, "clean")
    dirty, res_dirty = backbone_reads(2.0, "dirty")
    assert clean == 0
    # 2 copies per diploid genome at 10x = 10x over the plasmid; about 1/3 of it is backbone
    expected = 10 * vector.plasmid_length / 300 * len(vector.backbone) / vector.plasmid_length
    assert 0.5 * expected < dirty < 1.6 * expected
    assert res_dirty.contamination_pairs > 0
    assert read_tsv(res_dirty.truth_transgene)[0]["plasmid_contamination"] == "yes"


def test_design_tsv_is_read_and_errors_name_file_and_line(tmp_path):
    good = tmp_path / "good.tsv"
    good.write_text("chrom\tposition\torientation\tcell_fraction\ttsd_length\nchr1\t100\t-\t0.5\tNA\n")
    assert read_design(good) == [Insertion("chr1", 100, "-", 0.5, None, "clonal")]
    cases = {
        "chrom\tposition\tcell_fraction\n": 1,
        "chrom\tposition\torientation\tcell_fraction\nchr1\t10\t+\t0.5\nchr1\t20\tx\t0.5\n": 3,
        "chrom\tposition\torientation\tcell_fraction\nchr1\t10\t+\tabc\n": 2,
        "chrom\tposition\torientation\tcell_fraction\tclass\nchr1\t10\t+\t0.5\tclonal\nchr1\t9\t+\t1\tx\n": 3,
        "chrom\tposition\torientation\tcell_fraction\nchr1\t1.5\t+\t0.5\n": 2,
    }
    for i, (text, line) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.tsv"
        bad.write_text(text)
        with pytest.raises(InputError) as err:
            read_design(bad)
        assert err.value.path == str(bad) and err.value.line == line


def test_cli_adds_bystanders_and_reports_bad_input(genome, tmp_path, capsys):
    path, _ = genome
    design = tmp_path / "design.tsv"
    design.write_text("chrom\tposition\torientation\tcell_fraction\tclass\nchr1\t30000\t-\t0.6\tclonal\n")
    args = ["simulate", "--genome", str(path), "--vector", str(DEMO_VECTOR), "--design", str(design)]
    args += ["--bystanders", "3", "--coverage", "2", "--purity", "0.6", "--out-prefix", str(tmp_path / "x")]
    assert main(args) == 0
    rows = read_tsv(tmp_path / "x.truth.tsv")
    assert [r["class"] for r in rows] == ["clonal", "bystander", "bystander", "bystander"]
    assert rows[0]["vector"] == "vector" and rows[0]["clonal_fraction"] == "1"
    assert all(0.001 <= float(r["cell_fraction"]) <= 0.004 for r in rows[1:])
    assert _reads(tmp_path / "x_R1.fastq.gz")[0][0].startswith("tumour:")
    named = [*args[:-1], str(tmp_path / "y"), "--origin-names", "--circles", "1", "--duplicates", "0.2"]
    assert main(named) == 0
    origins = {name.removeprefix("dup_").split("_")[0] for name, _ in _reads(tmp_path / "y_R1.fastq.gz")}
    # the bystanders (sites 2-4, 0.1-0.4% of cells) are read at 2x x 0.2% at most
    assert (
        {"chr1", "chr2", "site1", "circle"}
        <= origins
        <= {"chr1", "chr2", "site1", "site2", "site3", "site4", "circle"}
    )
    design.write_text("chrom\tposition\torientation\tcell_fraction\nchr9\t30000\t-\t0.6\n")
    assert main(args) == 2
    assert "chr9" in capsys.readouterr().err


def test_random_sites_can_be_restricted_to_a_target_motif() -> None:
    rng = np.random.default_rng(2)
    genome = {"chr1": _random_seq(rng, 50_000), "chr2": "N" * 3000 + _random_seq(rng, 20_000)}
    sites = random_insertions(genome, np.random.default_rng(3), SiteDraw(25, (0.1, 0.2), target="TTAA"))
    assert len(sites) == 25
    for site in sites:
        assert genome[site.chrom][site.position - 1 : site.position + 3] == "TTAA"
        assert "N" not in genome[site.chrom][site.position - 501 : site.position + 500]
        assert 0.1 <= site.cell_fraction <= 0.2 and site.label == "bystander"
    untargeted = random_insertions(genome, np.random.default_rng(3), SiteDraw(25, (0.1, 0.2)))
    assert sum(genome[s.chrom][s.position - 1 : s.position + 3] == "TTAA" for s in untargeted) < 5


def test_host_deletion_removes_host_bases_between_the_junctions(genome, tmp_path):
    """An AAV-like insertion (kind other, no TSD) that replaced 37 host bases: reads join the host base
    before the deletion to the vector and the vector to the base after it, never the deleted bases."""
    path, host = genome
    vector = build_vector("aav", DEMO_VECTOR, "other", (2000, 4000))
    ins = Insertion("chr1", 30_000, "+", 1.0, None, "clonal", host_deletion=37)
    result = simulate_tumour(
        path, vector, [ins], tmp_path / "t", TumourModel(coverage=40, error_rate=0.0, seed=2)
    )
    row = read_tsv(result.truth)[0]
    assert (int(row["left_junction"]), int(row["right_junction"])) == (30_000 - 38, 30_000)
    assert row["tsd_length"] == "0"
    seq, insert = host["chr1"], vector.provirus
    reads = [s for _, s in _reads(result.r1) + _reads(result.r2)]
    left = seq[30_000 - 58 : 30_000 - 38] + insert[:20]
    right = insert[-20:] + seq[29_999:30_019]
    assert _count(reads, left) > 0 and _count(reads, right) > 0
    # the deleted bases never touch the vector (the left junction is before them)
    assert _count(reads, seq[29_979:29_999] + insert[:20]) == 0
    with pytest.raises(InputError, match="not both"):
        simulate_tumour(path, vector, [Insertion("chr1", 100, "+", 1.0, 4, "clonal", 5)], tmp_path / "u")


@pytest.fixture(scope="module")
def artefacts(genome, vector, tmp_path_factory):
    """A site seen by discordant pairs only, a backbone piece joined to the genome, 2-LTR circles and PCR
    duplicates, with reads named by origin."""
    path, _ = genome
    insertions = [
        Insertion("chr1", 20_000, "+", 1.0, name="D", discordant_only=True, fragment_mean=700),
        Insertion("chr1", 50_000, "-", 1.0, 0, name="B", insert=vector.backbone[100:1100]),
    ]
    model = TumourModel("s", 40, error_rate=0.0, circles=2.0, duplicates=0.1, origin_names=True, seed=6)
    result = simulate_tumour(path, vector, insertions, tmp_path_factory.mktemp("art") / "t", model)
    return result, insertions, dict(_reads(result.r1)), dict(_reads(result.r2))


def test_reads_are_named_by_origin_and_duplicates_repeat_their_original(artefacts):
    _, _, r1, r2 = artefacts
    origins = {name.removeprefix("dup_").split("_")[0] for name in r1}
    assert origins == {"chr1", "chr2", "D", "B", "circle"}
    copies = [name for name in r1 if name.startswith("dup_")]
    assert all(r1[c] == r1[c[4:]] and r2[c] == r2[c[4:]] for c in copies)
    assert len(copies) / (len(r1) - len(copies)) == pytest.approx(0.1, abs=0.01)


def test_a_discordant_only_site_has_no_read_over_a_junction_only_pairs_across(genome, vector, artefacts):
    result, (site, _), r1, r2 = artefacts
    host = genome[1]["chr1"]
    left, right = site.position + vector.tsd_length - 1, site.position  # left junction, first TSD base
    junctions = [
        host[left - 10 : left] + vector.provirus[:10],
        vector.provirus[-10:] + host[right - 1 :][:10],
    ]
    mates = [(r1[n], r2[n]) for n in r1 if n.startswith("D_")]
    assert not any(_count([a, b], j) for a, b in mates for j in junctions)
    host_side = host[left - 2000 : left] + host[right - 1 : right + 2000]
    across = sum(
        any(a in host_side or revcomp(a) in host_side for a in pair)
        and any(a in vector.provirus or revcomp(a) in vector.provirus for a in pair)
        for pair in mates
    )
    assert across > 20
    (row,) = result.truth_rows
    assert row["readable_fragments"] == 0 and int(str(row["fragments"])) >= across


def test_a_backbone_insert_is_read_but_is_no_site_and_no_copy(genome, vector, artefacts):
    result, (_, backbone), r1, r2 = artefacts
    host, piece = genome[1]["chr1"], revcomp(backbone.insert)  # "-": the reverse complement on chr1
    junction = host[backbone.position - 11 : backbone.position - 1] + piece[:10]
    assert _count([*r1.values(), *r2.values()], junction) > 5
    assert [(row["chrom"], row["position"]) for row in result.truth_rows] == [("chr1", 20_000)]  # the site
    assert float(read_tsv(result.truth_transgene)[0]["vcn"]) == 1.0  # the site's copy only


def test_two_ltr_circles_join_the_provirus_end_to_its_start(vector, artefacts):
    _, _, r1, r2 = artefacts
    circle = [(r1[n], r2[n]) for n in r1 if n.startswith("circle_")]
    joined = sum(_count([a, b], vector.provirus[-15:] + vector.provirus[:15]) > 0 for a, b in circle)
    # 2 copies at 40x: 40x over the circle; fragments with a read over the joint, 15 bases each side
    expected = 40 / 300 * 2 * (150 - 30)
    assert 0.7 * expected < joined < 1.3 * expected
