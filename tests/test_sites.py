"""Site calling: on a simulated, aligned sample with known truth, and on small hand-made evidence tables."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from helpers import IntegrationSample, build_integration_sample, build_test_vector, random_seq, write_fasta

from carvis.errors import InputError
from carvis.evidence import extract_evidence
from carvis.intervals import read_bed
from carvis.io import read_tsv, write_tsv
from carvis.sites import call_sites
from carvis.tables import EVIDENCE, SITES
from carvis.vectors import VectorModel


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> IntegrationSample:
    return build_integration_sample(tmp_path_factory.mktemp("sites"))


@pytest.fixture(scope="module")
def evidence_tsv(sample: IntegrationSample) -> Path:
    out = sample.bam.parent / "evidence.tsv"
    extract_evidence(sample.bam, {"lv": sample.model}, read_bed(sample.mask_bed), out)
    return out


@pytest.fixture(scope="module")
def called(sample: IntegrationSample, evidence_tsv: Path) -> dict[str, dict[str, str]]:
    """Called sites keyed by the truth label they match (within 1 kb), plus unmatched ones by position."""
    out = sample.bam.parent / "sites.tsv"
    call_sites(
        evidence_tsv, sample.model, sample.genome_fasta, "T1", out, qc_tsv=sample.bam.parent / "qc.tsv"
    )
    rows = read_tsv(out)
    assert list(rows[0]) == list(SITES)
    by_label = {}
    for row in rows:
        label = next(
            (
                e.label
                for e in sample.insertions.values()
                if e.chrom == row["chrom"] and abs(e.a - int(row["position"])) < 1000
            ),
            f"{row['chrom']}:{row['position']}",
        )
        assert label not in by_label
        by_label[label] = row
    return by_label


def test_exactly_the_true_sites_are_called(called: dict[str, dict[str, str]]) -> None:
    assert set(called) == {"S1", "S2", "S3", "S4"}  # never H (homologous piece), B (backbone), circles


@pytest.mark.parametrize("label", ["S1", "S2", "S3"])
def test_precise_sites_are_base_exact_and_paired_by_tsd(
    sample: IntegrationSample, called: dict[str, dict[str, str]], label: str
) -> None:
    e, row = sample.insertions[label], called[label]
    host = sample.genome[e.chrom]
    assert row["position"] == str(e.a)
    assert row["orientation"] == e.orientation
    assert (row["left_junction"], row["right_junction"]) == (str(e.left_junction), str(e.a))
    assert row["tsd_length"] == str(e.tsd) == "5"
    assert row["tsd"] == host[e.a - 1 : e.left_junction]
    assert row["precise"] == "yes" and row["flags"] == "NA" and row["sample"] == "T1"
    assert int(row["split_fragments"]) >= 4 and int(row["spanning_fragments"]) > 0


def test_clonal_fraction_tracks_the_simulated_cell_fraction(called: dict[str, dict[str, str]]) -> None:
    for label in ("S1", "S2"):
        assert float(called[label]["clonal_fraction"]) == pytest.approx(1.0, abs=0.2)
    subclonal = float(called["S3"]["clonal_fraction"])
    assert subclonal == pytest.approx(0.3, abs=0.15)
    assert float(called["S3"]["allele_fraction"]) == pytest.approx(subclonal / 2, rel=0.01)


def test_discordant_only_evidence_gives_an_imprecise_site(
    sample: IntegrationSample, called: dict[str, dict[str, str]]
) -> None:
    e, row = sample.insertions["S4"], called["S4"]
    assert row["precise"] == "no"
    assert row["orientation"] == e.orientation
    assert abs(int(row["position"]) - e.a) <= 350
    assert row["left_junction"] == row["right_junction"] == row["tsd"] == "NA"
    assert row["split_fragments"] == "0" and int(row["discordant_fragments"]) >= 2
    assert row["clonal_fraction"] == "NA"


def test_duplicates_are_counted_once(
    sample: IntegrationSample, evidence_tsv: Path, called: dict[str, dict[str, str]]
) -> None:
    e = sample.insertions["S1"]
    rows = [
        r
        for r in read_tsv(evidence_tsv)
        if r["kind"] in {"split", "discordant"}
        and r["chrom"] == e.chrom
        and abs(int(r["host_pos"]) - e.a) < 1000
        and r["flags"] == "NA"
    ]
    names = {r["fragment"] for r in rows}
    assert any(copy in names for _, copy in sample.duplicate_pairs)
    assert int(called["S1"]["fragments"]) == len({n.removeprefix("dup_") for n in names})


def test_abundance_dominance_and_order(called: dict[str, dict[str, str]]) -> None:
    rows = sorted(called.values(), key=lambda r: -int(r["fragments"]))
    total = sum(int(r["fragments"]) for r in rows)
    for r in rows:
        share = int(r["fragments"]) / total
        assert float(r["relative_abundance"]) == pytest.approx(share, rel=1e-3)
        assert r["dominant"] == ("yes" if share >= 0.2 else "no")
    assert float(called["S3"]["relative_abundance"]) < float(called["S1"]["relative_abundance"])


def test_purity_scales_the_clonal_fraction(
    sample: IntegrationSample, evidence_tsv: Path, tmp_path: Path
) -> None:
    rows = call_sites(evidence_tsv, sample.model, sample.genome_fasta, "T1", tmp_path / "s.tsv", purity=0.5)
    s3 = next(r for r in rows if r["position"] == sample.insertions["S3"].a)
    assert s3["clonal_fraction"] == pytest.approx(min(1.0, 4 * float(str(s3["allele_fraction"]))))


# --- hand-made evidence tables -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[VectorModel, Path, str]:
    work = tmp_path_factory.mktemp("small")
    rng = random.Random(3)
    model = build_test_vector(work / "v.fa", "lv", random_seq(rng, 1500, ("TGGAAGGGCT",)), rng)
    chrom = random_seq(rng, 5000)
    return model, write_fasta(work / "g.fa", {"chr1": chrom}), chrom


def _row(fragment: str, kind: str, pos: int, side: str, end: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "fragment": fragment,
        "read": 1 if kind == "split" else 0,
        "kind": kind,
        "chrom": "chr1",
        "host_pos": pos,
        "side": side,
        "vector": "lv",
        "vector_end": end,
        "host_mapq": 60,
        "vector_mapq": 60,
        "precise": "yes" if kind == "split" else "no",
        "duplicate": "no",
    }
    row.update(extra)
    return row


def test_one_sided_tsd_mismatch_and_minimum_support(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    model, fasta, chrom = small
    rows = [
        # "-" site: left junction 1004 (3p) and right junction 1000 (5p) -> TSD 5
        *(_row(f"a{i}", "split", 1004, "left", "3p") for i in range(3)),
        *(_row(f"b{i}", "split", 1000, "right", "5p") for i in range(2)),
        _row("b0", "discordant", 1200, "right", "5p"),  # same fragment: counted once
        _row("c0", "discordant", 700, "left", "3p"),
        _row("c1", "discordant", 1010, "left", "3p"),  # past the junction: not this site
        # left junctions 3000 and right 2990 (+): TSD would be 11 -> two one-sided sites
        *(_row(f"d{i}", "split", 3000, "left", "5p") for i in range(2)),
        *(_row(f"e{i}", "split", 2990, "right", "3p") for i in range(2)),
        # flagged, duplicate and single-fragment evidence never makes a site
        *(_row(f"f{i}", "split", 4000, "left", "5p", flags="homologous") for i in range(5)),
        *(_row("g0", "split", 4500, "left", "5p", duplicate=dup) for dup in ("no", "yes", "yes")),
        *(_row(f"h{i}", "spanning", 1000, "NA", "NA", precise="NA") for i in range(10)),
    ]
    evidence = tmp_path / "ev.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    qc = tmp_path / "qc.tsv"
    sites = call_sites(evidence, model, fasta, "X", tmp_path / "sites.tsv", qc_tsv=qc)
    by_pos = {s["position"]: s for s in sites}
    assert set(by_pos) == {1000, 2996, 2990}
    first = by_pos[1000]
    assert (first["orientation"], first["left_junction"], first["right_junction"]) == ("-", 1004, 1000)
    assert first["tsd"] == chrom[999:1004] and first["tsd_length"] == 5
    assert (first["fragments"], first["split_fragments"], first["discordant_fragments"]) == (6, 5, 1)
    assert first["spanning_fragments"] == 10
    assert first["allele_fraction"] == pytest.approx(3 / 13)
    assert sites[0] is first
    left_only = by_pos[2996]
    assert (left_only["left_junction"], left_only["right_junction"], left_only["tsd"]) == (3000, None, None)
    assert left_only["orientation"] == "+" and left_only["flags"] == "one_sided"
    assert by_pos[2990]["left_junction"] is None and by_pos[2990]["right_junction"] == 2990
    metrics = {r["metric"]: int(r["count"]) for r in read_tsv(qc)}
    assert metrics["rows_flag_homologous"] == 5 and metrics["rows_duplicate"] == 2
    assert metrics["sites_dropped_few_fragments"] == 1  # g0 (c1 alone never forms a discordant cluster)


def test_not_an_evidence_table(small: tuple[VectorModel, Path, str], tmp_path: Path) -> None:
    model, fasta, _ = small
    bad = tmp_path / "bad.tsv"
    bad.write_text("fragment\tkind\nx\tsplit\n")
    with pytest.raises(InputError, match="missing columns"):
        call_sites(bad, model, fasta, "X", tmp_path / "out.tsv")
