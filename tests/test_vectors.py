"""The vector model: which part integrates, its ends and TSD, on synthetic and real plasmids."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from carvis.core.errors import InputError
from carvis.core.seqs import revcomp
from carvis.reference.vectors import (
    KINDS,
    build_vector,
    configured_vector,
    contig_owner,
    load_manifest,
    write_manifest,
)

LENTI = KINDS["lentiviral"]


def _random(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


def _plasmid(rng: random.Random) -> tuple[str, dict[str, tuple[int, int]]]:
    """backbone + RSV-R-U5 + internal + dU3-R-U5 + backbone, with the parts' 1-based coordinates."""
    r_u5 = _random(rng, 160) + LENTI.three_prime_end
    du3 = LENTI.five_prime_end + _random(rng, 50)
    parts = [
        ("backbone_a", _random(rng, 1500)),
        ("five_ltr", _random(rng, 200) + r_u5),
        ("internal", _random(rng, 3000)),
        ("three_ltr", du3 + r_u5),
        ("backbone_b", _random(rng, 1200)),
    ]
    coords, pos = {}, 1
    for name, seq in parts:
        coords[name] = (pos, pos + len(seq) - 1)
        pos += len(seq)
    return "".join(seq for _, seq in parts), coords


@pytest.fixture
def plasmid(tmp_path: Path) -> tuple[Path, str, dict[str, tuple[int, int]]]:
    seq, coords = _plasmid(random.Random(5))
    path = tmp_path / "lv.fa"
    path.write_text(">lv\n" + seq + "\n")
    return path, seq, coords


def test_lentiviral_provirus_is_3prime_ltr_internal_3prime_ltr(plasmid) -> None:
    path, seq, c = plasmid
    model = build_vector("lv", path, "lentiviral", [c["five_ltr"][0], c["three_ltr"][1]])
    ltr = seq[c["three_ltr"][0] - 1 : c["three_ltr"][1]]
    internal = seq[c["internal"][0] - 1 : c["internal"][1]]
    assert model.provirus == ltr + internal + ltr
    assert model.ltr_length == len(ltr)
    assert model.provirus.startswith("TGGAAGGGCT") and model.provirus.endswith("AAAATCTCTAGCA")
    assert model.tsd_length == 5
    # every provirus base maps back to the same plasmid base
    for pos in (1, len(ltr), len(ltr) + 1, len(ltr) + len(internal), len(model.provirus)):
        assert model.provirus[pos - 1] == seq[model.to_plasmid(pos) - 1]
    # the backbone holds both backbone parts and the plasmid's own 5' promoter (RSV U3), but no
    # provirus sequence: not the internal region, not the R-U5 shared with the provirus LTR
    assert seq[c["backbone_a"][0] - 1 : c["backbone_a"][1]] in model.backbone
    five_ltr = seq[c["five_ltr"][0] - 1 : c["five_ltr"][1]]
    assert five_ltr[:195] in model.backbone  # the promoter, up to chance identity with the LTR's U3 end
    assert five_ltr[200:] not in model.backbone and internal[:50] not in model.backbone


def test_inferred_range_matches_given_range(plasmid) -> None:
    path, _, c = plasmid
    given = build_vector("lv", path, "lentiviral", [c["five_ltr"][0], c["three_ltr"][1]])
    inferred = build_vector("lv", path, "lentiviral")
    assert inferred.provirus == given.provirus
    assert "inferred" in inferred.derivation


def test_wrong_end_names_the_file_and_the_fix(plasmid) -> None:
    path, _, c = plasmid
    with pytest.raises(InputError) as err:
        build_vector("lv", path, "lentiviral", [c["five_ltr"][0], c["three_ltr"][1] - 3])
    assert str(path) in str(err.value) and "fix:" in str(err.value)


def test_transposon_provirus_is_the_given_range(tmp_path: Path) -> None:
    rng = random.Random(2)
    body = KINDS["piggybac"].five_prime_end + _random(rng, 2000) + KINDS["piggybac"].three_prime_end
    seq = _random(rng, 500) + body + _random(rng, 500)
    path = tmp_path / "pb.fa"
    path.write_text(">pb\n" + seq + "\n")
    model = build_vector("pb", path, "piggybac", [501, 500 + len(body)])
    assert model.provirus == body and model.tsd_length == 4 and model.ltr_ranges() == []
    with pytest.raises(InputError):
        build_vector("pb", path, "piggybac")  # no range and nothing to infer from


def test_config_end_motifs_and_tsd_replace_the_kind_s(tmp_path: Path) -> None:
    """A vector entry's five_prime_end, three_prime_end (any case) and tsd_length replace its kind's."""
    rng = random.Random(3)
    five, three = "TTAACCCTAG", "CTAGGGTTAA"  # not piggyBac's own motifs
    body = five + _random(rng, 2000) + three
    path = tmp_path / "t.fa"
    path.write_text(">t\n" + _random(rng, 500) + body + _random(rng, 500) + "\n")
    span = [501, 500 + len(body)]
    ends = {"five_prime_end": five.lower(), "three_prime_end": three.lower(), "tsd_length": "2"}
    model = configured_vector("t", {"sequence": path, "kind": "piggybac", "provirus": span, **ends})
    assert (model.five_prime_end, model.three_prime_end, model.tsd_length) == (five, three, 2)
    assert model.kind == "piggybac" and model.provirus == body
    with pytest.raises(InputError, match="but a piggybac"):  # piggyBac's own motifs do not end this element
        build_vector("t", path, "piggybac", span)


def test_manifest_round_trip(plasmid, tmp_path: Path) -> None:
    path, _, c = plasmid
    model = build_vector("lv", path, "lentiviral", [c["five_ltr"][0], c["three_ltr"][1]])
    write_manifest(tmp_path / "m.json", [model])
    assert load_manifest(tmp_path / "m.json")["lv"] == model
    assert contig_owner(model.provirus_contig) == ("lv", "provirus")
    assert contig_owner("chr1") is None


def test_non_dna_vector_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.fa"
    path.write_text(">bad\n" + "ACGT" * 100 + "XYZ\n")
    with pytest.raises(InputError, match="not DNA bases"):
        build_vector("bad", path, "lentiviral")


@pytest.mark.shared
def test_real_cd19_car_plasmid(shared_data: Path) -> None:
    """The CD19 CAR plasmid: 234 bp SIN LTR at 8533-8766, internal region from 3249."""
    model = build_vector("cart19", shared_data / "vectors" / "vector_CART19.fa", "lentiviral")
    assert model.ltr_length == 234
    assert model.segments[0].plasmid_start == 8533
    assert model.segments[1].plasmid_start == 3249
    assert len(model.provirus) == 2 * 234 + (8532 - 3249 + 1)
    assert model.provirus.endswith("AAAATCTCTAGCA")


@pytest.mark.shared
def test_real_gammaretroviral_car(shared_data: Path) -> None:
    model = build_vector("g", shared_data / "vectors" / "GINAKIT2_DL.fasta", "gammaretroviral")
    assert model.provirus.startswith("TGAAAGACC") and model.provirus.endswith("GGGGGTCTTTCA")
    assert model.tsd_length == 4
    assert model.provirus[: model.ltr_length] == model.provirus[-model.ltr_length :]


def test_transposon_range_is_inferred_from_the_terminal_inverted_repeat(tmp_path: Path) -> None:
    rng = random.Random(4)
    sb = KINDS["sleeping_beauty"]
    itr = sb.five_prime_end + _random(rng, 180)
    body = itr + _random(rng, 1800) + revcomp(itr)
    seq = _random(rng, 700) + body + _random(rng, 900)
    path = tmp_path / "sb.fa"
    path.write_text(">sb\n" + seq + "\n")
    model = build_vector("sb", path, "sleeping_beauty")
    assert model.provirus == body
    assert "inverted repeat" in model.derivation and "701-" in model.derivation


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "kind", "start", "end", "ltr"),
    [
        ("vector_CART19.fa", "lentiviral", 3068, 8766, 234),
        ("pCCL_GLOBE_1_AS3.fa", "lentiviral", 672, 6947, 234),
        ("GINAKIT2_DL.fasta", "gammaretroviral", 396, 5056, 590),
        ("T2Onc2_SB_transposon_sbfusion.fa", "sleeping_beauty", 211, 2260, 0),
    ],
)
def test_real_plasmids_without_a_range_are_inferred_from_their_repeats(
    shared_data: Path, name: str, kind: str, start: int, end: int, ltr: int
) -> None:
    """LTRs as the long direct repeat, SB ITRs as the terminal inverted repeat, ends at the motifs."""
    path = shared_data / "vectors" / name
    model = build_vector("v", path, kind)
    assert model.derivation.startswith(f"provirus range {start}-{end} inferred from the")
    assert ("inverted repeat" if kind == "sleeping_beauty" else "direct repeat") in model.derivation
    assert model.ltr_length == ltr
    assert model.provirus.startswith(KINDS[kind].five_prime_end)
    assert model.provirus.endswith(KINDS[kind].three_prime_end)
    if ltr:  # the same provirus as from the range the derivation names
        assert model.provirus == build_vector("v", path, kind, [start, end]).provirus
