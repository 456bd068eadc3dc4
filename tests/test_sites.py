"""Site calling: on a simulated, aligned sample with known truth, and on small hand-made evidence tables."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    IntegrationSample,
    KindSample,
    build_integration_sample,
    build_kind_sample,
    build_test_vector,
    random_seq,
    write_fasta,
)

from carvis.core.errors import InputError
from carvis.core.intervals import read_bed
from carvis.core.io import read_tsv, write_tsv
from carvis.core.seqs import revcomp
from carvis.core.tables import EVIDENCE, SITES
from carvis.evidence.extract import EvidenceFiles, EvidenceParams, extract_evidence
from carvis.reference.vectors import KINDS, VectorModel, build_vector
from carvis.sites.call import SiteFiles, SitesParams, call_sites
from carvis.sites.clonality import AlleleCounts, allele_fraction


def sites_of(
    evidence: Path,
    model: VectorModel,
    fasta: Path,
    sample: str,
    out: Path,
    *,
    qc: Path | None = None,
    evidence_qc: Path | None = None,
    coverage: Path | None = None,
    **settings: Any,
) -> list[dict[str, object]]:
    """:func:`call_sites` on these files and settings; the rows it returns as column -> value."""
    files = SiteFiles(evidence, fasta, out, qc=qc, evidence_qc=evidence_qc, coverage=coverage)
    return [row.cells() for row in call_sites(files, model, sample, SitesParams(**settings))]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> IntegrationSample:
    return build_integration_sample(tmp_path_factory.mktemp("sites"))


@pytest.fixture(scope="module")
def evidence_tsv(sample: IntegrationSample) -> Path:
    out = sample.bam.parent / "evidence.tsv"
    extract_evidence(EvidenceFiles(sample.bam, out), {"lv": sample.model}, read_bed(sample.mask_bed))
    return out


@pytest.fixture(scope="module")
def called(sample: IntegrationSample, evidence_tsv: Path) -> dict[str, dict[str, str]]:
    """Called sites keyed by the truth label they match (within 1 kb), plus unmatched ones by position."""
    out = sample.bam.parent / "sites.tsv"
    sites_of(evidence_tsv, sample.model, sample.genome_fasta, "T1", out, qc=sample.bam.parent / "qc.tsv")
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
    # a low-MAPQ junction read counts when it lies exactly at a junction of the site (sites.junctions.rescue)
    exact = {(str(e.left_junction), "left", "5p"), (str(e.a), "right", "3p")}  # a "+" site
    rows = [
        r
        for r in read_tsv(evidence_tsv)
        if r["kind"] in {"split", "clip", "discordant"}
        and r["chrom"] == e.chrom
        and abs(int(r["host_pos"]) - e.a) < 1000
        and (
            r["flags"] == "NA"
            or (r["flags"] == "low_mapq" and (r["host_pos"], r["side"], r["vector_end"]) in exact)
        )
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
    rows = sites_of(evidence_tsv, sample.model, sample.genome_fasta, "T1", tmp_path / "s.tsv", purity=0.5)
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
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "sites.tsv", qc=qc)
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
    assert metrics["rejected_homologous"] == 5 and metrics["rejected_duplicate"] == 2
    assert metrics["sites_dropped_few_fragments"] == 1  # g0 (c1 alone never forms a discordant cluster)


def test_not_an_evidence_table(small: tuple[VectorModel, Path, str], tmp_path: Path) -> None:
    model, fasta, _ = small
    bad = tmp_path / "bad.tsv"
    bad.write_text("fragment\tkind\nx\tsplit\n")
    with pytest.raises(InputError, match="missing columns"):
        sites_of(bad, model, fasta, "X", tmp_path / "out.tsv")


def test_low_mapq_junctions_in_a_duplicated_segment_are_one_multi_hit_site(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    model, _, chrom = small
    rng = random.Random(9)
    segment = random_seq(rng, 2000)
    # the segment at 10,001 and, reverse-complemented, at 20,001; the integration is 1,000 bp into it
    genome = (
        chrom
        + random_seq(rng, 5000)
        + segment
        + random_seq(rng, 8000)
        + revcomp(segment)
        + random_seq(rng, 3000)
    )
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": genome})
    a1 = 10_001 + 1000  # "+" site: left junction a1 + 4, right junction a1
    # on the inverted copy the same reads show the junctions mirrored: a "-" site
    a2 = 20_001 + 2000 - 1005  # host base a1 + 4 (segment base 1005) on the inverted copy
    rows = [
        *(_row(f"m{i}", "split", a1 + 4, "left", "5p", host_mapq=0) for i in range(3)),
        *(_row(f"n{i}", "split", a2, "right", "5p", host_mapq=0) for i in range(2)),
        *(_row(f"o{i}", "split", a2 + 4, "left", "3p", host_mapq=1) for i in range(2)),
        # a unique site whose junction also has a low-MAPQ read: no extra site
        *(_row(f"u{i}", "split", 3000, "left", "5p") for i in range(3)),
        _row("u9", "split", 3000, "left", "5p", host_mapq=3),
        # a single low-MAPQ read elsewhere: too few fragments
        _row("x0", "split", 4500, "left", "5p", host_mapq=0),
    ]
    evidence = tmp_path / "ev.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    qc = tmp_path / "qc.tsv"
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "sites.tsv", qc=qc)
    by_pos = {s["position"]: s for s in sites}
    assert set(by_pos) == {a2, 2996}  # the copy with most fragments (4, paired by the TSD) represents it
    multi = by_pos[a2]
    assert (multi["orientation"], multi["left_junction"], multi["tsd"]) == (
        "-",
        a2 + 4,
        genome[a2 - 1 : a2 + 4],
    )
    assert multi["flags"] == "multi_hit" and multi["host_mapq"] == 0
    assert multi["candidate_loci"] == f"chr1:{a2}-,chr1:{a1}+"
    assert multi["fragments"] == 7 and multi["clonal_fraction"] is None and multi["clonal"] is None
    assert by_pos[2996]["flags"] == "one_sided" and by_pos[2996]["host_mapq"] == 60
    metrics = {r["metric"]: int(r["count"]) for r in read_tsv(qc)}
    assert metrics["multi_hit_rows"] == 7 and metrics["rejected_low_mapq"] == 1  # x0 (u9 is rescued)
    assert metrics["rescued_rows"] == 1 and by_pos[2996]["fragments"] == 4
    assert metrics["sites_multi_hit"] == 1 and metrics["sites_called"] == 2


def test_every_rejection_is_counted_once_under_its_first_reason(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    model, fasta, _ = small
    rows = [
        *(_row(f"d{i}", "split", 1000, "left", "5p", duplicate="yes", flags="backbone") for i in range(2)),
        *(_row(f"b{i}", "discordant", 1000, "left", "5p", flags="backbone") for i in range(3)),
        *(_row(f"h{i}", "split", 1000, "left", "5p", flags="homologous,off_terminus") for i in range(4)),
        *(
            _row(f"o{i}", "split", 1000, "left", "5p", flags="off_terminus,low_mapq", host_mapq=5)
            for i in range(5)
        ),
        *(_row(f"l{i}", "discordant", 2000, "left", "5p", host_mapq=4) for i in range(6)),
    ]
    evidence, qc, evidence_qc = tmp_path / "ev.tsv", tmp_path / "qc.tsv", tmp_path / "evqc.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    write_tsv(
        evidence_qc,
        ("metric", "count"),
        [{"metric": "vector_internal_chimeras", "count": 7}, {"metric": "clip_ambiguous", "count": 1}],
    )
    assert sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv", qc=qc, evidence_qc=evidence_qc) == []
    table = read_tsv(qc)
    assert all(r["description"] != "NA" for r in table)
    metrics = {r["metric"]: int(r["count"]) for r in table}
    expected = {"duplicate": 2, "backbone": 3, "homologous": 4, "off_terminus": 5, "low_mapq": 6}
    assert {k: metrics[f"rejected_{k}"] for k in expected} == expected
    assert metrics["rejected_vector_internal"] == 7 and metrics["rejected_clip_ambiguous"] == 1
    assert metrics["rejected_clip_off_terminus"] == 0 and metrics["sites_called"] == 0


# --- other vector kinds, several clones, plasmid contamination ------------------------------------------

PIGGYBAC_FRACTIONS = [1.0] * 7 + [0.3] * 3  # a clone with 7 copies and a subclone with 3


@pytest.fixture(scope="module")
def piggybac(tmp_path_factory: pytest.TempPathFactory) -> tuple[KindSample, list[dict[str, object]], Path]:
    work = tmp_path_factory.mktemp("piggybac")
    sample = build_kind_sample(work, "piggybac", PIGGYBAC_FRACTIONS, contamination_depth=40)
    evidence = work / "evidence.tsv"
    extract_evidence(
        EvidenceFiles(sample.bam, evidence, qc=work / "evqc.tsv"), {"piggybac": sample.model}, {}
    )
    qc = work / "qc.tsv"
    rows = sites_of(
        evidence,
        sample.model,
        sample.genome_fasta,
        "P",
        work / "s.tsv",
        qc=qc,
        evidence_qc=work / "evqc.tsv",
    )
    return sample, rows, qc


def _exact(sample: KindSample, rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """Called rows keyed by truth label: every call is a true site, base-exact, and paired by its TSD
    unless it is a subclone's site seen on one side only."""
    out = {}
    for row in rows:
        (label,) = [
            e.label for e in sample.insertions.values() if (e.chrom, e.a) == (row["chrom"], row["position"])
        ]
        e = sample.insertions[label]
        host = sample.genome[e.chrom]
        assert row["orientation"] == e.orientation
        assert row["left_junction"] in (e.left_junction, None) and row["right_junction"] in (e.a, None)
        if e.cell_fraction == 1.0 or row["flags"] != "one_sided":
            assert row["tsd_length"] == e.tsd and row["tsd"] == host[e.a - 1 : e.left_junction]
        out[label] = row
    return out


def test_piggybac_copies_of_two_clones_are_exact_with_ttaa(
    piggybac: tuple[KindSample, list[dict[str, object]], Path],
) -> None:
    sample, rows, _ = piggybac
    called = _exact(sample, rows)
    assert set(called) == set(sample.insertions)
    assert {row["tsd"] for row in rows if row["flags"] != "one_sided"} == {"TTAA"}
    for label, row in called.items():
        fraction = sample.insertions[label].cell_fraction
        assert row["clonal"] is (fraction == 1.0)
        assert float(str(row["clonal_fraction"])) == pytest.approx(fraction, abs=0.35)


def test_plasmid_contamination_is_rejected_never_a_site(
    piggybac: tuple[KindSample, list[dict[str, object]], Path],
) -> None:
    _, rows, qc = piggybac
    assert len(rows) == len(PIGGYBAC_FRACTIONS)
    metrics = {r["metric"]: int(r["count"]) for r in read_tsv(qc)}
    assert metrics["rejected_vector_internal"] > 10  # plasmid reads join transposon and backbone


def test_gammaretroviral_sites_have_a_4_bp_tsd(tmp_path: Path) -> None:
    sample = build_kind_sample(tmp_path, "gammaretroviral", [1.0, 1.0, 0.5], seed=5)
    evidence = tmp_path / "evidence.tsv"
    extract_evidence(EvidenceFiles(sample.bam, evidence), {"gammaretroviral": sample.model}, {})
    rows = sites_of(evidence, sample.model, sample.genome_fasta, "G", tmp_path / "s.tsv")
    called = _exact(sample, rows)
    assert set(called) == set(sample.insertions)
    assert {row["tsd_length"] for row in rows} == {4}


def test_weak_shadow_of_a_strong_site_is_merged_into_it(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    model, fasta, _ = small
    rows = [
        *(_row(f"l{i}", "split", 1004, "left", "5p") for i in range(6)),
        *(_row(f"r{i}", "split", 1000, "right", "3p") for i in range(6)),
        # reads of the same junction placed one tandem unit (15 bp) away: a weak one-sided "+" site
        *(_row(f"s{i}", "split", 1019, "left", "5p") for i in range(2)),
        # a one-sided site of the other orientation nearby stays a site of its own
        *(_row(f"o{i}", "split", 1030, "left", "3p") for i in range(2)),
    ]
    evidence, qc = tmp_path / "ev.tsv", tmp_path / "qc.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv", qc=qc)
    assert [(s["position"], s["orientation"], s["fragments"]) for s in sites] == [
        (1000, "+", 14),
        (1026, "-", 2),
    ]
    assert {r["metric"]: r["count"] for r in read_tsv(qc)}["sites_absorbed_shadow"] == "1"


def test_discordant_pairs_overhanging_a_junction_join_its_site(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    """Host mates aligned 7 vector bases past the right junction (mismatches, no clip): the same site."""
    model, fasta, _ = small
    rows = [
        *(_row(f"l{i}", "split", 1004, "left", "5p") for i in range(6)),
        *(_row(f"r{i}", "split", 1000, "right", "3p") for i in range(6)),
        *(_row(f"d{i}", "discordant", 993, "right", "3p") for i in range(2)),
    ]
    evidence = tmp_path / "ev.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv")
    assert [(s["position"], s["orientation"], s["fragments"]) for s in sites] == [(1000, "+", 14)]


def test_modelled_spanning_fragments_match_the_counted_ones_and_the_truth(
    sample: IntegrationSample, evidence_tsv: Path, called: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    """Screened reads hold no reference fragments: the model from depth and fragment length replaces them."""
    coverage = tmp_path / "coverage.tsv"
    coverage.write_text(
        subprocess.run(
            ["samtools", "coverage", str(sample.bam)], capture_output=True, text=True, check=True
        ).stdout
    )
    evidence, qc = tmp_path / "evidence.tsv", tmp_path / "evidence_qc.tsv"
    extract_evidence(
        EvidenceFiles(sample.bam, evidence, qc=qc),
        {"lv": sample.model},
        read_bed(sample.mask_bed),
        EvidenceParams(model_spanning=True),
    )
    assert not [r for r in read_tsv(evidence) if r["kind"] == "spanning"]
    out = tmp_path / "sites.tsv"
    sites_of(evidence, sample.model, sample.genome_fasta, "T1", out, evidence_qc=qc, coverage=coverage)
    modelled = {(r["chrom"], r["position"]): r for r in read_tsv(out)}
    # simulated: 40x of 150 bp reads, 350 bp fragments; a spanner covers 33 bases (TSD 5 + 2 x 14)
    covering = 40 / (2 * 150) * (350 - 33 + 1)
    for label in ("S1", "S2", "S3"):
        counted = called[label]
        row = modelled[(counted["chrom"], counted["position"])]
        assert "spanning_modelled" in row["flags"]
        junction = float(row["fragments"]) / 2
        assert junction + float(row["spanning_fragments"]) == pytest.approx(covering, rel=0.05)
        assert junction / (junction + float(row["spanning_fragments"])) == pytest.approx(
            float(row["allele_fraction"]), rel=0.01
        )
        assert float(row["clonal_fraction"]) == pytest.approx(float(counted["clonal_fraction"]), abs=0.15)
        assert row["clonal"] == counted["clonal"] == ("yes" if label != "S3" else "no")
        if label == "S3":  # in 30 % of cells
            assert float(row["clonal_fraction"]) == pytest.approx(0.3, abs=0.1)


def test_weak_rows_at_an_anchored_junction_are_rescued_never_a_site_alone(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    """Low-MAPQ splits and host clips count only at the exact (seen or TSD-predicted) junction of a site
    anchored by well-placed fragments; a filled predicted junction pairs the site."""
    model, fasta, chrom = small
    tsd = model.tsd_length
    rows = [
        # "+" site at 996: left junction 1000 (5p) anchored; right junction 996 (3p) predicted by the TSD
        *(_row(f"a{i}", "split", 1000, "left", "5p") for i in range(2)),
        _row("w0", "split", 1000, "left", "5p", host_mapq=5),
        _row("w1", "host_clip", 1000 - tsd + 1, "right", "3p", host_mapq="NA", precise="yes"),
        _row("w2", "host_clip", 1001, "left", "5p", host_mapq="NA", precise="yes"),  # 1 bp off: no
        # weak rows alone: host clips at 3000 never form a junction; one low-MAPQ split is too little
        *(_row(f"h{i}", "host_clip", 3000, "left", "5p", host_mapq="NA", precise="yes") for i in range(3)),
        _row("l0", "split", 4000, "left", "5p", host_mapq=0),
    ]
    evidence, qc = tmp_path / "ev.tsv", tmp_path / "qc.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    (site,) = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv", qc=qc)
    assert (site["position"], site["left_junction"], site["right_junction"]) == (1000 - tsd + 1, 1000, 996)
    assert site["tsd_length"] == tsd and site["tsd"] == chrom[995:1000] and site["flags"] is None
    assert (site["fragments"], site["split_fragments"], site["clip_fragments"]) == (4, 4, 1)
    assert site["host_mapq"] == 60
    metrics = {r["metric"]: int(r["count"]) for r in read_tsv(qc)}
    assert metrics["rescued_rows"] == 2 and metrics["rejected_unanchored"] == 4
    assert metrics["rejected_low_mapq"] == 1 and metrics["rows_host_clip"] == 5


def test_host_clip_joins_a_multi_hit_site_at_its_junction(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    """A single low-MAPQ split plus a host clip at the same junction: a multi-hit site of 2 fragments."""
    model, fasta, _ = small
    rows = [
        _row("l0", "split", 2000, "right", "3p", host_mapq=9),
        _row("c0", "host_clip", 2000, "right", "3p", host_mapq="NA", precise="yes"),
    ]
    evidence, qc = tmp_path / "ev.tsv", tmp_path / "qc.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    (site,) = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv", qc=qc)
    assert (site["position"], site["fragments"], site["flags"]) == (2000, 2, "one_sided,multi_hit")
    assert site["host_mapq"] == 9 and site["clonal_fraction"] is None
    metrics = {r["metric"]: int(r["count"]) for r in read_tsv(qc)}
    assert metrics["multi_hit_rows"] == 2 and metrics["rejected_unanchored"] == 0


def test_allele_fraction_is_the_likelihood_maximum_with_an_interval_that_covers_the_truth() -> None:
    """Closed forms for one site (k junctions: q = J / (J + k S)), pooling, and ~95% coverage."""
    q, low, high = allele_fraction([AlleleCounts(26, 2, spanning=13)])
    assert q == pytest.approx(26 / (26 + 2 * 13), abs=1e-6) and low < q < high
    q1, _, _ = allele_fraction([AlleleCounts(13, 1, spanning=13)])
    assert q1 == pytest.approx(0.5, abs=1e-6)
    q, low, high = allele_fraction([AlleleCounts(30, 2, covering=30.0)])
    assert q == pytest.approx(0.5, abs=1e-6) and high < 1
    q, _, high = allele_fraction([AlleleCounts(20, 2, spanning=0)])
    assert q == pytest.approx(1.0, abs=1e-6) and high == 1.0
    # pooled: the same as one site with the summed counts (same k), and narrower than each alone
    pooled = allele_fraction([AlleleCounts(26, 2, spanning=13), AlleleCounts(20, 2, spanning=11)])
    assert pooled[0] == pytest.approx(46 / (46 + 2 * 24), abs=1e-6)
    _, low, high = allele_fraction([AlleleCounts(26, 2, spanning=13)])
    assert pooled[2] - pooled[1] < high - low
    single = allele_fraction([AlleleCounts(46, 2, spanning=24)])
    assert pooled == pytest.approx(single, abs=1e-6)
    # coverage over simulated Poisson counts at 30x-like rates
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(300):
        truth = rng.uniform(0.05, 0.5)
        j, span = rng.poisson(2 * 14 * truth), rng.poisson(14 * (1 - truth))
        _, low, high = allele_fraction([AlleleCounts(int(j), 2, spanning=int(span))])
        hits += low <= truth <= high
    assert 0.9 <= hits / 300 <= 0.99


# --- ends that cannot be told apart, and the single-fragment tier ------------------------------------


@pytest.fixture(scope="module")
def shared_itrs(tmp_path_factory: pytest.TempPathFactory) -> tuple[VectorModel, Path]:
    """A piggyBac-like transposon whose two ITRs are the same 63 bases (as in piggyBac itself)."""
    work = tmp_path_factory.mktemp("itr")
    rng = random.Random(8)
    itr = KINDS["piggybac"].five_prime_end + random_seq(rng, 50, ("TTAA",))
    element = itr + random_seq(rng, 1500, ("TTAA",)) + revcomp(itr)
    left = random_seq(rng, 800, ("TTAA",)) + "TTAA"
    write_fasta(work / "pb.fa", {"pb": left + element + "TTAA" + random_seq(rng, 800, ("TTAA",))})
    model = build_vector("lv", work / "pb.fa", "piggybac", provirus=(len(left) + 1, len(left) + len(element)))
    return model, write_fasta(work / "g.fa", {"chr1": random_seq(rng, 6000)})


def test_reads_inside_the_shared_ends_join_the_site_the_longer_evidence_orients(
    shared_itrs: tuple[VectorModel, Path], tmp_path: Path
) -> None:
    model, fasta = shared_itrs
    assert 63 <= model.shared_end() < 70
    short, long = {"vector_bases": 40, "anchor_offset": 0}, {"vector_bases": 120, "anchor_offset": 0}
    rows = [
        # + site at 1000 (TSD 4: left junction 1003 at the 5' end, right 1000 at the 3' end)
        *(_row(f"a{i}", "split", 1003, "left", "5p", **long) for i in range(3)),
        *(_row(f"b{i}", "split", 1000, "right", "5p", **short) for i in range(3)),  # aligned to the 5' ITR
        *(_row(f"c{i}", "split", 1003, "left", "3p", **short) for i in range(2)),  # to the reverse 3' ITR
        # only short reads at 3000: one site, orientation unknown
        *(_row(f"d{i}", "split", 3003, "left", "3p", **short) for i in range(2)),
        *(_row(f"e{i}", "split", 3000, "right", "3p", **short) for i in range(2)),
        # short reads at 5000 and a discordant mate beyond the repeat: a - site
        *(_row(f"f{i}", "split", 5003, "left", "5p", **short) for i in range(2)),
        _row("g0", "discordant", 5250, "right", "5p", vector_bases=300),
    ]
    evidence = tmp_path / "ev.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    qc = tmp_path / "qc.tsv"
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv", qc=qc)
    got = {s["position"]: (s["orientation"], s["fragments"], s["tsd_length"], s["flags"]) for s in sites}
    assert got == {
        1000: ("+", 8, 4, None),
        3000: (".", 4, 4, "orientation_unknown"),
        5000: ("-", 3, None, "one_sided"),
    }
    metrics = {r["metric"]: int(r["count"]) for r in read_tsv(qc)}
    assert metrics["sites_orientation_unknown"] == 1


def test_one_fragment_is_a_single_site_only_when_exact_unique_and_long_enough(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    model, fasta, _ = small
    good = {"anchor_offset": 0, "host_bases": 60, "vector_bases": 80}
    rows = [
        *(_row(f"a{i}", "split", 1004, "left", "5p", **good) for i in range(3)),  # a site of 3
        _row("s1", "split", 2004, "left", "5p", **good),  # placeable: single
        _row("s2", "split", 2500, "right", "3p", **good),  # placeable: single
        _row("s3", "split", 2804, "left", "5p", **{**good, "anchor_offset": 2}),  # 2 bases short: single
        # MAPQ 10, but its mate lies on the host 150 bp beside the junction with MAPQ 60: single
        _row("m1", "split", 3204, "left", "5p", **{**good, "host_mapq": 10, "flags": "low_mapq"}),
        _row("m1", "discordant", 3054, "left", "5p", precise="no"),
        # MAPQ 10 and a mate on the far side of the junction: the mate does not place it
        _row("m2", "split", 4904, "left", "5p", **{**good, "host_mapq": 10, "flags": "low_mapq"}),
        _row("m2", "discordant", 4954, "left", "5p", precise="no", host_mapq=60),
        _row("n1", "split", 3004, "left", "5p", **{**good, "anchor_offset": 3}),  # too far from the end
        _row("n2", "split", 3504, "left", "5p", **{**good, "host_mapq": 15}),  # MAPQ < 20, no mate
        _row("n3", "split", 4004, "left", "5p", **{**good, "host_bases": 15}),  # host part too short
        _row("n4", "split", 4504, "left", "5p", **{**good, "flags": "homologous"}),
        _row("n5", "split", 4804, "left", "5p", **good, duplicate="yes"),
        _row("n6", "split", 1200, "left", "5p"),  # hand-made row without lengths: not placeable
    ]
    evidence = tmp_path / "ev.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    qc = tmp_path / "qc.tsv"
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv", qc=qc)
    by_pos = {s["position"]: s for s in sites}
    singles = {2000: "single", 2500: "single", 2800: "single", 3200: "single"}
    assert {p: s["support"] for p, s in by_pos.items()} == {1000: "multiple", **singles}
    for pos in singles:
        single = by_pos[pos]
        assert single["fragments"] == 1 and single["flags"] == "one_sided"
        assert (single["clonal_fraction"], single["clonal"], single["relative_abundance"]) == (None,) * 3
    assert by_pos[3200]["host_mapq"] == 35  # median of the read's 10 and its mate's 60
    assert by_pos[1000]["relative_abundance"] == 1.0
    metrics = {r["metric"]: int(r["count"]) for r in read_tsv(qc)}
    assert metrics["sites_single_fragment"] == 4 and metrics["mate_placed_rows"] == 1
    strict = sites_of(evidence, model, fasta, "X", tmp_path / "t.tsv", single_max_offset=0)
    assert sorted(s["position"] for s in strict) == [1000, 2000, 2500, 3200]
    strict = sites_of(evidence, model, fasta, "X", tmp_path / "t.tsv", single_min_host_bases=61)
    assert [s["support"] for s in strict] == ["multiple"]
    strict = sites_of(evidence, model, fasta, "X", tmp_path / "t.tsv", single_min_mapq=61)
    assert [s["support"] for s in strict] == ["multiple"]


def test_a_host_clip_placed_by_bwa_aln_is_a_single_site_when_unique(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    """An ``aligned_clip`` row (host clip placed genome-wide by bwa aln) is judged as a split read: a single
    site with a unique placement (MAPQ 37, 25 host bases), none in a repeat (MAPQ 0) or when too short."""
    model, fasta, _ = small
    clip = {"precise": "yes", "read": 1, "anchor_offset": 0, "vector_bases": 100}
    rows = [
        _row("c1", "aligned_clip", 2004, "left", "5p", **clip, host_bases=25, host_mapq=37),
        _row("c2", "aligned_clip", 3004, "left", "5p", **clip, host_bases=25, host_mapq=0, flags="low_mapq"),
        _row("c3", "aligned_clip", 4004, "left", "5p", **clip, host_bases=19, host_mapq=37),
    ]
    evidence = tmp_path / "ev.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv")
    assert [(s["position"], s["support"], s["host_mapq"]) for s in sites] == [(2000, "single", 37)]


def test_a_single_site_may_hold_the_other_read_as_a_host_clip(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    """One fragment: read 2 a clip row (130 host bases, MAPQ 60), read 1 a host clip matched at the same
    junction: a single site (the host clip places nothing itself, and no longer keeps it from the tier)."""
    model, fasta, _ = small
    good = {"anchor_offset": 0, "host_bases": 130, "vector_bases": 20, "read": 2, "precise": "yes"}
    clip = {"anchor_offset": 1, "host_bases": 16, "vector_bases": 135, "read": 1, "precise": "yes"}
    rows = [
        _row("f1", "clip", 2004, "left", "5p", **good),
        _row("f1", "host_clip", 2004, "left", "5p", **clip, host_mapq="NA", flags="low_mapq"),
    ]
    evidence = tmp_path / "ev.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv")
    assert [(s["position"], s["support"]) for s in sites] == [(2000, "single")]


def test_junctions_across_a_host_deletion_are_one_insertion(
    small: tuple[VectorModel, Path, str], tmp_path: Path
) -> None:
    """A left-only and a right-only junction of one orientation up to max_host_deletion apart are one
    site with host_deletion; the TSD pairing keeps priority; other orientations or gaps stay apart."""
    model, fasta, _ = small
    rows = [
        *(_row(f"a{i}", "split", 1500, "left", "5p") for i in range(3)),  # 37 host bases lost
        *(_row(f"b{i}", "split", 1538, "right", "3p") for i in range(2)),
        *(_row(f"c{i}", "split", 2002, "left", "5p") for i in range(2)),  # 2 bases on both sides
        *(_row(f"d{i}", "split", 2001, "right", "3p") for i in range(2)),
        *(_row(f"e{i}", "split", 3004, "left", "5p") for i in range(2)),  # a TSD pair ...
        *(_row(f"f{i}", "split", 3000, "right", "3p") for i in range(2)),
        *(_row(f"g{i}", "split", 3040, "right", "3p") for i in range(2)),  # ... keeps its right junction
        *(_row(f"h{i}", "split", 4000, "left", "5p") for i in range(2)),  # 149 bases apart
        *(_row(f"i{i}", "split", 4150, "right", "3p") for i in range(2)),
        *(_row(f"j{i}", "split", 4500, "left", "5p") for i in range(2)),  # + and - never pair
        *(_row(f"k{i}", "split", 4520, "right", "5p") for i in range(2)),
    ]
    evidence = tmp_path / "ev.tsv"
    write_tsv(evidence, EVIDENCE, rows)
    sites = sites_of(evidence, model, fasta, "X", tmp_path / "s.tsv")
    by_pos = {s["position"]: s for s in sites}
    deletion = by_pos[1538]
    assert (deletion["left_junction"], deletion["right_junction"], deletion["host_deletion"]) == (
        1500,
        1538,
        37,
    )
    assert (deletion["fragments"], deletion["flags"], deletion["tsd"], deletion["orientation"]) == (
        5,
        None,
        None,
        "+",
    )
    assert by_pos[2001]["host_deletion"] == -2 and by_pos[2001]["left_junction"] == 2002
    assert by_pos[3000]["tsd_length"] == 5 and by_pos[3000]["host_deletion"] is None
    assert by_pos[3040]["flags"] == "one_sided" and by_pos[3040]["left_junction"] is None
    assert {4150, 4520}.issubset(by_pos) and by_pos[4150]["flags"] == "one_sided"
    assert len(sites) == 8  # 1538, 2001, 3000, 3040, 4000's and 4500's left-only, 4150, 4520
    wide = sites_of(evidence, model, fasta, "X", tmp_path / "w.tsv", max_host_deletion=149)
    assert {s["position"]: s["host_deletion"] for s in wide}[4150] == 149 and len(wide) == 7
    assert read_tsv(tmp_path / "w.tsv")[0].keys() == set(SITES)
