"""Evidence extraction on a simulated, aligned sample with known insertions."""

from __future__ import annotations

import random
import subprocess
from dataclasses import replace
from pathlib import Path

import pysam
import pytest
from helpers import (
    IntegrationSample,
    build_integration_sample,
    indexed_bam,
    random_seq,
    transposon_plasmid,
    write_fasta,
)

from carvis.core.errors import InputError
from carvis.core.intervals import read_bed
from carvis.core.io import read_tsv
from carvis.core.seqs import revcomp
from carvis.core.tables import EVIDENCE
from carvis.evidence.alignment import MAX_OVERSHOOT, Alignment, parse_cigar
from carvis.evidence.clips import match_clip
from carvis.evidence.extract import EvidenceFiles, EvidenceParams, extract_evidence
from carvis.reference.vectors import KINDS, build_vector
from carvis.sites.junctions import DISCORDANT_OVERHANG


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> IntegrationSample:
    return build_integration_sample(tmp_path_factory.mktemp("evidence"))


@pytest.fixture(scope="module")
def evidence(sample: IntegrationSample) -> tuple[list[dict[str, str]], dict[str, int], Path]:
    out = sample.bam.parent / "evidence.tsv"
    qc = extract_evidence(EvidenceFiles(sample.bam, out), {"lv": sample.model}, read_bed(sample.mask_bed))
    return read_tsv(out), qc, out


def _origin(name: str) -> str:
    """Simulation label of a fragment: S1, S2, ..., H, B, circle, hapA/hapB (reference)."""
    return name.removeprefix("dup_").split("_")[0]


def _expected_junctions(sample: IntegrationSample, label: str) -> set[tuple[str, int, str, str, int]]:
    e = sample.insertions[label]
    length = len(sample.model.provirus)
    if e.orientation == "+":
        return {(e.chrom, e.left_junction, "left", "5p", 1), (e.chrom, e.a, "right", "3p", length)}
    return {(e.chrom, e.left_junction, "left", "3p", length), (e.chrom, e.a, "right", "5p", 1)}


def test_header_is_the_contract(evidence: tuple[list[dict[str, str]], dict[str, int], Path]) -> None:
    path = evidence[2]
    assert path.read_text().splitlines()[0].split("\t") == list(EVIDENCE)


@pytest.mark.parametrize("label", ["S1", "S2", "S3"])
def test_split_reads_are_base_exact_at_both_ltr_ends(
    sample: IntegrationSample, evidence: tuple[list[dict[str, str]], dict[str, int], Path], label: str
) -> None:
    rows = [r for r in evidence[0] if r["kind"] == "split" and _origin(r["fragment"]) == label]
    seen = {(r["chrom"], int(r["host_pos"]), r["side"], r["vector_end"], int(r["vector_pos"])) for r in rows}
    assert seen == _expected_junctions(sample, label)
    assert all(r["precise"] == "yes" and "off_terminus" not in r["flags"] for r in rows)


def test_microhomology_site_is_set_up_and_exact(
    sample: IntegrationSample, evidence: tuple[list[dict[str, str]], dict[str, int], Path]
) -> None:
    e = sample.insertions["S2"]
    chrom, provirus = sample.genome[e.chrom], sample.model.provirus
    # "-" orientation: beyond the left junction the genome continues like the reverse-complemented 3' end
    # (TG...), before the right junction like the reverse-complemented 5' end (...CA).
    assert chrom[e.left_junction : e.left_junction + 2] == "TG" and provirus[-2:] == "CA"
    assert chrom[e.a - 3 : e.a - 1] == "CA" and provirus[:2] == "TG"
    rows = [r for r in evidence[0] if r["kind"] == "split" and _origin(r["fragment"]) == "S2"]
    assert len(rows) >= 10
    assert {int(r["host_pos"]) for r in rows} == {e.a, e.left_junction}


@pytest.mark.parametrize("label", ["S1", "S2", "S4"])
def test_discordant_pairs_point_at_the_junction(
    sample: IntegrationSample, evidence: tuple[list[dict[str, str]], dict[str, int], Path], label: str
) -> None:
    e = sample.insertions[label]
    rows = [r for r in evidence[0] if r["kind"] == "discordant" and _origin(r["fragment"]) == label]
    assert rows
    ends = {(side, end) for _, _, side, end, _ in _expected_junctions(sample, label)}
    for r in rows:
        assert (r["side"], r["vector_end"]) in ends
        pos = int(r["host_pos"])
        if r["side"] == "left":
            assert e.left_junction - 1000 < pos <= e.left_junction + DISCORDANT_OVERHANG
        else:
            assert e.a - DISCORDANT_OVERHANG <= pos < e.a + 1000
        assert r["precise"] == "no" and r["read"] == "0"


def test_discordant_only_insertion_has_no_split_reads(
    evidence: tuple[list[dict[str, str]], dict[str, int], Path],
) -> None:
    kinds = {r["kind"] for r in evidence[0] if _origin(r["fragment"]) == "S4"}
    assert kinds == {"discordant"}


def test_spanning_rows_are_reference_fragments_at_candidate_sites(
    sample: IntegrationSample, evidence: tuple[list[dict[str, str]], dict[str, int], Path]
) -> None:
    rows = [r for r in evidence[0] if r["kind"] == "spanning"]
    sites = {(r["chrom"], int(r["host_pos"])) for r in rows}
    assert sites == {(sample.insertions[x].chrom, sample.insertions[x].a) for x in ("S1", "S2", "S3")}
    assert all("_mod_" not in r["fragment"] for r in rows)
    s3 = [r for r in rows if int(r["host_pos"]) == sample.insertions["S3"].a]
    s1 = [r for r in rows if int(r["host_pos"]) == sample.insertions["S1"].a]
    assert len(s3) > len(s1)  # S3 is in 30 % of cells: more reference alleles


def _spanning(path: Path) -> set[tuple[str, str, str]]:
    return {(r["chrom"], r["host_pos"], r["fragment"]) for r in read_tsv(path) if r["kind"] == "spanning"}


def test_spanning_fragments_of_bam_input_come_from_the_full_input_bam(
    sample: IntegrationSample, evidence: tuple[list[dict[str, str]], dict[str, int], Path], tmp_path: Path
) -> None:
    """Realigned pairs (clipped or not properly paired) hold no reference fragments; the user's input BAM
    (contigs named 1, 2 instead of chr1, chr2) has them all."""
    aligned = tmp_path / "realigned.bam"
    pysam.view(
        "-b", "-e", "sclen >= 5 || !flag.proper_pair", "-o", str(aligned), str(sample.bam), catch_stdout=False
    )
    pysam.index(str(aligned))
    with pysam.AlignmentFile(str(sample.bam)) as bam:
        header = str(bam.header).replace("SN:chr", "SN:")
    (tmp_path / "header.sam").write_text(header)
    renamed = tmp_path / "input.bam"
    with open(renamed, "wb") as out:
        subprocess.run(
            ["samtools", "reheader", str(tmp_path / "header.sam"), str(sample.bam)], stdout=out, check=True
        )
    pysam.index(str(renamed))
    args = ({"lv": sample.model}, read_bed(sample.mask_bed))
    extract_evidence(EvidenceFiles(aligned, tmp_path / "alone.tsv"), *args)
    extract_evidence(EvidenceFiles(aligned, tmp_path / "input.tsv", spanning_bam=renamed), *args)
    assert _spanning(tmp_path / "input.tsv") == _spanning(evidence[2])
    assert len(_spanning(tmp_path / "alone.tsv")) < 0.2 * len(_spanning(evidence[2]))


def test_screened_reads_measure_the_fragment_length_instead_of_counting_spanners(
    sample: IntegrationSample, tmp_path: Path
) -> None:
    out = tmp_path / "evidence.tsv"
    qc = extract_evidence(
        EvidenceFiles(sample.bam, out),
        {"lv": sample.model},
        read_bed(sample.mask_bed),
        EvidenceParams(model_spanning=True),
    )
    assert not _spanning(out)
    assert qc["mean_fragment_length"] == pytest.approx(350, abs=10)  # simulated: 350 +- 40
    assert qc["fragment_length_pairs"] > 1000


def test_homologous_piece_and_backbone_are_flagged(
    evidence: tuple[list[dict[str, str]], dict[str, int], Path],
) -> None:
    homologous = [r for r in evidence[0] if _origin(r["fragment"]) == "H"]
    backbone = [r for r in evidence[0] if _origin(r["fragment"]) == "B"]
    assert {r["kind"] for r in homologous} == {"split", "discordant"}
    assert all("homologous" in r["flags"] for r in homologous)
    assert {r["kind"] for r in backbone} == {"split", "discordant"}
    assert all("backbone" in r["flags"] for r in backbone)
    truth = [r for r in evidence[0] if _origin(r["fragment"]) in {"S1", "S2", "S3", "S4"}]
    assert not any("homologous" in r["flags"] or "backbone" in r["flags"] for r in truth)


def test_vector_internal_chimeras_are_counted_not_reported(
    evidence: tuple[list[dict[str, str]], dict[str, int], Path],
) -> None:
    rows, qc, _ = evidence
    assert not [r for r in rows if _origin(r["fragment"]) == "circle"]
    assert qc["vector_internal_chimeras"] > 10


def test_duplicates_flagged_once_per_copy(
    sample: IntegrationSample, evidence: tuple[list[dict[str, str]], dict[str, int], Path]
) -> None:
    status: dict[str, set[str]] = {}
    for r in evidence[0]:
        status.setdefault(r["fragment"], set()).add(r["duplicate"])
    present = [(a, b) for a, b in sample.duplicate_pairs if a in status or b in status]
    assert len(present) >= 4
    for original, copy in present:
        assert status[original] | status[copy] == {"yes", "no"}
        assert len(status[original]) == len(status[copy]) == 1


def test_bam_without_index_or_vector_contigs(sample: IntegrationSample, tmp_path: Path) -> None:
    copy = tmp_path / "noindex.bam"
    copy.write_bytes(sample.bam.read_bytes())
    with pytest.raises(InputError, match="no index"):
        extract_evidence(EvidenceFiles(copy, tmp_path / "ev.tsv"), {"lv": sample.model}, {})
    other = replace(sample.model, name="other")
    with pytest.raises(InputError, match="other__provirus"):
        extract_evidence(EvidenceFiles(sample.bam, tmp_path / "ev.tsv"), {"other": other}, {})
    assert not (tmp_path / "ev.tsv").exists()


def test_read_coordinates_and_extrapolation() -> None:
    # 150 bp read, reverse strand: 100 clipped bases (read-end side) then 50 aligned at 1001-1050.
    aln = Alignment("chr1", 1000, True, parse_cigar("50M100S"), 60)
    assert aln.read_span() == (100, 150)
    assert aln.ref_at(100) == 1050  # first aligned read base is the highest reference base
    assert aln.ref_at(149) == 1001
    assert aln.ref_at(98) == 1052  # two bases beyond the alignment, extrapolated
    fwd = Alignment("chr1", 1000, False, parse_cigar("10S20M2D20M"), 60)
    assert fwd.read_span() == (10, 50)
    assert fwd.ref_at(30) == 1023  # after the deletion


def test_ltr_copies_and_tsd_arithmetic_are_the_vector_model_s(sample: IntegrationSample) -> None:
    model = sample.model
    n, ltr = len(model.provirus), model.ltr_length
    assert model.project_ltr(n - ltr + 1, True, MAX_OVERSHOOT) == 1
    assert model.project_ltr(n - ltr, True, MAX_OVERSHOOT) == 0  # one base before the 2nd copy: overshoot 1
    assert model.project_ltr(ltr, False, MAX_OVERSHOOT) == n
    assert model.project_ltr(ltr + 1, False, MAX_OVERSHOOT) == n + 1
    assert model.project_ltr(ltr + 50, False, MAX_OVERSHOOT) == ltr + 50
    assert model.project_ltr(n - ltr - 50, True, MAX_OVERSHOOT) == n - ltr - 50
    assert model.project_ltr(n - ltr, True) == n - ltr  # no overshoot allowed: stays in the internal region
    assert model.canonical_ltr(n - ltr + 7) == 7 and model.canonical_ltr(n - ltr) == n - ltr
    assert model.canonical_ltr(ltr) == ltr
    tsd = model.tsd_length
    assert model.tsd_partner("left", 1004) == ("right", 1004 - tsd + 1)
    assert model.tsd_partner("right", 1000) == ("left", 1000 + tsd - 1)
    assert model.site_start("left", 1000 + tsd - 1) == model.site_start("right", 1000) == 1000
    transposon = replace(model, ltr_length=0)
    assert transposon.project_ltr(n - 3, True, MAX_OVERSHOOT) == n - 3 and transposon.canonical_ltr(n) == n


# --- soft clips matched to the provirus termini --------------------------------------------------------


def test_clip_matching_scores_slop_and_mismatches() -> None:
    terminus = "TGGAAGGGCTAATTCACTCCCAACGAAGACAAGATCTGCT"
    assert match_clip(terminus[:15], terminus, 2, 12) == (0, 0)
    assert match_clip(terminus[2:17], terminus, 2, 12) == (2, 2)  # host alignment ran 2 bases in
    assert match_clip("A" + terminus[:14], terminus, 2, 12) == (1, -1)  # one host base left unaligned
    one_off = terminus[:5] + "A" + terminus[6:14]
    assert match_clip(one_off, terminus, 2, 12) == (1, 0)
    assert match_clip(one_off[:8] + "A" + one_off[9:], terminus, 2, 12) is None  # 2 mismatches in 14 bases
    two_off = terminus[:5] + "A" + terminus[6:20] + "A" + terminus[21:30]
    assert match_clip(two_off, terminus, 2, 12) == (2, 0)  # 2 mismatches allowed over >= 24 bases
    assert match_clip(terminus[:11], terminus, 2, 12) is None  # shorter than min_clip


def test_short_clips_become_exact_junction_rows(sample: IntegrationSample, tmp_path: Path) -> None:
    model = sample.model
    prov, host = model.provirus, sample.genome["chr1"]
    contigs = {"chr1": host, **model.contigs()}
    reads = [
        ("left5p", "chr1", 1000, "100M15S", host[1000:1100] + prov[:15]),  # host then provirus start
        ("right3p", "chr1", 2000, "15S100M", prov[-15:] + host[2000:2100]),  # provirus end then host
        ("right5p", "chr1", 3000, "14S100M", revcomp(prov[:14]) + host[3000:3100]),  # "-" orientation
        ("noise", "chr1", 4000, "100M20S", host[4000:4100] + "ACGTTGCAACGTTGCAACGT"),
        ("short", "chr1", 5000, "100M11S", host[5000:5100] + prov[:11]),
    ]
    bam = indexed_bam(tmp_path / "clips.bam", contigs, reads)
    out = tmp_path / "ev.tsv"
    qc = extract_evidence(EvidenceFiles(bam, out), {"lv": model}, {})
    rows = {r["fragment"]: r for r in read_tsv(out)}
    assert set(rows) == {"left5p", "right3p", "right5p"}
    got = {
        k: (r["kind"], r["host_pos"], r["side"], r["vector_end"], r["anchor_offset"]) for k, r in rows.items()
    }
    assert got == {
        "left5p": ("clip", "1100", "left", "5p", "0"),
        "right3p": ("clip", "2001", "right", "3p", "0"),
        "right5p": ("clip", "3001", "right", "5p", "0"),
    }
    assert qc["clip_no_terminus"] == 1 and qc["clip_rows"] == 3


def test_clip_inside_host_microhomology_is_anchored_at_the_terminus(
    sample: IntegrationSample, tmp_path: Path
) -> None:
    model = sample.model
    prov = model.provirus
    host = sample.genome["chr1"][:1100] + prov[:2] + sample.genome["chr1"][1102:]
    bam = indexed_bam(
        tmp_path / "m.bam",
        {"chr1": host, **model.contigs()},
        [("m", "chr1", 1000, "102M15S", host[1000:1102] + prov[2:17])],
    )
    out = tmp_path / "ev.tsv"
    extract_evidence(EvidenceFiles(bam, out), {"lv": model}, {})
    (row,) = read_tsv(out)
    assert (row["host_pos"], row["anchor_offset"], row["vector_end"]) == ("1100", "2", "5p")


def test_piggybac_itr_clip_too_short_to_tell_the_ends_apart_is_left_to_the_sites_stage(
    tmp_path: Path,
) -> None:
    """A clip inside the stretch both ITRs share becomes one row whose vector_bases lie inside it (the sites
    stage orients it); a longer clip is the 5' end."""
    rng = random.Random(4)
    plasmid, span = transposon_plasmid(rng, KINDS["piggybac"])
    write_fasta(tmp_path / "pb.fa", {"pb": plasmid})
    model = build_vector("pb", tmp_path / "pb.fa", "piggybac", provirus=span)
    host = random_seq(rng, 3000)
    prov = model.provirus
    assert prov[:13] == revcomp(prov[-13:])  # the terminal inverted repeats
    reads = [
        ("short", "chr1", 1000, "100M13S", host[1000:1100] + prov[:13]),  # 5' ITR or reverse 3' ITR?
        ("long", "chr1", 2000, "100M20S", host[2000:2100] + prov[:20]),  # past the repeat: the 5' end
    ]
    bam = indexed_bam(tmp_path / "pb.bam", {"chr1": host, **model.contigs()}, reads)
    out = tmp_path / "ev.tsv"
    qc = extract_evidence(EvidenceFiles(bam, out), {"pb": model}, {})
    rows = read_tsv(out)
    assert 13 <= model.shared_end() < 20
    assert [(r["fragment"], r["host_pos"], r["vector_end"], r["vector_bases"]) for r in rows] == [
        ("short", "1100", "5p", "13"),
        ("long", "2100", "5p", "20"),
    ]
    assert qc["clip_either_end"] == 1 and "clip_ambiguous" not in qc


def test_host_clips_of_vector_reads_join_the_junction_their_bases_match(
    sample: IntegrationSample, tmp_path: Path
) -> None:
    """A vector-aligned read ending at a terminus with a short host clip becomes a row at the junction (or
    its TSD partner) whose host bases it matches; other clips match nothing; needs the genome."""
    model = sample.model
    prov, host, tsd = model.provirus, sample.genome["chr1"], model.tsd_length
    a = 1100 - tsd + 1  # "+" site: left junction 1100 (5p), right junction a (3p)
    contigs = {"chr1": host, **model.contigs()}
    end = len(prov) - 100
    pc = model.provirus_contig
    reads = [
        ("anchor", "chr1", 1000, "100M15S", host[1000:1100] + prov[:15]),  # genome read: the 5p clip row
        ("left", pc, 0, "20S100M", host[1080:1100] + prov[:100]),
        ("partner", pc, end, "100M20S", prov[-100:] + host[a - 1 : a + 19]),
        ("short_of_end", pc, 2, "22S98M", host[1080:1100] + prov[:100]),  # stops 2 bases short (slop)
        ("elsewhere", pc, 0, "20S100M", host[5080:5100] + prov[:100]),
        ("too_short", pc, 0, "11S100M", host[1089:1100] + prov[:100]),
    ]
    bam = indexed_bam(tmp_path / "hc.bam", contigs, reads)
    reference = write_fasta(tmp_path / "combined.fa", contigs)
    out = tmp_path / "ev.tsv"
    qc = extract_evidence(EvidenceFiles(bam, out, reference=reference), {"lv": model}, {})
    got = {
        r["fragment"]: (
            r["kind"],
            r["host_pos"],
            r["side"],
            r["vector_end"],
            r["anchor_offset"],
            r["host_mapq"],
        )
        for r in read_tsv(out)
    }
    assert got == {
        "anchor": ("clip", "1100", "left", "5p", "0", "60"),
        "left": ("host_clip", "1100", "left", "5p", "0", "NA"),
        "partner": ("host_clip", str(a), "right", "3p", "0", "NA"),
        "short_of_end": ("host_clip", "1100", "left", "5p", "2", "NA"),
    }
    assert qc["host_clip_rows"] == 3 and qc["host_clip_unplaced"] == 1
    extract_evidence(EvidenceFiles(bam, out), {"lv": model}, {})  # without the genome: no host clips
    assert [r["kind"] for r in read_tsv(out)] == ["clip"]


def _pair_bam(path: Path, contigs: dict[str, str], reads: list[tuple[str, int, str, str, int]]) -> Path:
    """An indexed BAM of reverse vector-contig reads whose forward mates lie on chr1 (MAPQ 60, MC 100M):
    (name, 0-based start on the provirus contig, CIGAR, sequence, mate's 0-based start)."""
    (provirus,) = (c for c in contigs if c.endswith("__provirus"))
    mate_starts = {name: mate_start for name, *_, mate_start in reads}

    def pair(rec: pysam.AlignedSegment) -> None:
        rec.is_paired, rec.is_read1, rec.is_reverse = True, True, True
        rec.next_reference_name, rec.next_reference_start = "chr1", mate_starts[str(rec.query_name)]
        rec.set_tag("MC", "100M")
        rec.set_tag("MQ", 60)

    return indexed_bam(path, contigs, [(name, provirus, *read) for name, *read, _ in reads], pair)


def test_short_host_clips_are_placed_beside_their_mate(sample: IntegrationSample, tmp_path: Path) -> None:
    """A vector read ending at a terminus whose host clip is too short for the aligner, with its mate on the
    host: one ``mate_clip`` row at the one place beside the mate that the clip matches (a sequencing error
    allowed), with the mate's MAPQ; no row when the clip matches nothing there."""
    model = sample.model
    prov, host = model.provirus, sample.genome["chr1"]
    contigs = {"chr1": host, **model.contigs()}
    error = host[1085:1090] + ("A" if host[1090] != "A" else "C") + host[1091:1100]
    reads = [
        ("exact", 0, "15S100M", host[1085:1100] + prov[:100], 900),
        ("one_error", 0, "15S100M", error + prov[:100], 800),
        ("far_mate", 0, "15S100M", host[1085:1100] + prov[:100], 3000),  # mate beyond the junction
        ("elsewhere", 0, "15S100M", host[4085:4100] + prov[:100], 900),
    ]
    bam = _pair_bam(tmp_path / "mc.bam", contigs, reads)
    reference = write_fasta(tmp_path / "combined.fa", contigs)
    out = tmp_path / "ev.tsv"
    qc = extract_evidence(EvidenceFiles(bam, out, reference=reference), {"lv": model}, {})
    got = {
        r["fragment"]: (r["host_pos"], r["side"], r["vector_end"], r["host_mapq"], r["host_bases"])
        for r in read_tsv(out)
        if r["kind"] == "mate_clip"
    }
    assert got == {
        "exact": ("1100", "left", "5p", "60", "15"),
        "one_error": ("1100", "left", "5p", "60", "15"),
    }
    assert qc["mate_clip_rows"] == 2 and qc["mate_clip_unplaced"] == 2
