"""Vector facts: which part of a plasmid integrates, its ends, its TSD, and its contigs.

This module is the one place that knows vector-kind end motifs and target-site duplication
lengths. Every later stage reads the manifest written by the reference stage (see
:func:`write_manifest` / :func:`load_manifest`) instead of re-deriving these facts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from carvis.core.errors import InputError
from carvis.core.io import atomic_write
from carvis.core.seqs import read_single_record, revcomp


@dataclass(frozen=True)
class VectorKind:
    """End motifs of the integrated element (5' and 3' terminus, provirus strand) and its TSD."""

    name: str
    five_prime_end: str
    three_prime_end: str
    tsd_length: int
    long_terminal_repeats: bool


#: Defaults per vector kind; each can be overridden per vector in the config.
KINDS: dict[str, VectorKind] = {
    "lentiviral": VectorKind("lentiviral", "TGGAAGGGCT", "AAAATCTCTAGCA", 5, True),
    "gammaretroviral": VectorKind("gammaretroviral", "TGAAAGACC", "GGGGGTCTTTCA", 4, True),
    "piggybac": VectorKind("piggybac", "CCCTAGAAAGATA", "TATCTTTCTAGGG", 4, False),
    "sleeping_beauty": VectorKind("sleeping_beauty", "CAGTTGAAGTCGGAAG", "CTTCCGACTTCAACTG", 2, False),
    "other": VectorKind("other", "", "", 0, False),
}

#: Differences allowed between the two provirus ends over the stretch they share (see shared_end).
SHARED_END_MISMATCHES = 2
#: How far (bp) from the 3' end of the integrating range the 3' LTR may start.
_MAX_LTR = 1500
#: Bases of the LTR's 3' end used to find where the plasmid's 5' LTR ends.
_LTR_TAIL = 20
#: Backbones shorter than this are not worth a contig.
_MIN_BACKBONE = 100
#: Repeat search: k-mer length, shortest repeat, least distance between the copies, and how far
#: the chain of shared k-mers may skip (mismatches) or drift off its diagonal (indels).
_REPEAT_K = 16
_MIN_REPEAT = 30
_MIN_REPEAT_GAP = 1000
_REPEAT_SKIP = 40
_REPEAT_DRIFT = 8
#: How far (bp) an end motif may lie from the end of the repeat copy it completes.
_SNAP = 300


@dataclass
class Segment:
    """A stretch of the provirus contig copied from the plasmid (1-based inclusive on both)."""

    provirus_start: int
    provirus_end: int
    plasmid_start: int


@dataclass
class Feature:
    """A named feature in provirus coordinates (1-based inclusive)."""

    name: str
    start: int
    end: int


@dataclass
class VectorModel:
    """Everything later stages need to know about one configured vector."""

    name: str
    kind: str
    source: str
    plasmid_length: int
    provirus: str
    backbone: str
    five_prime_end: str
    three_prime_end: str
    tsd_length: int
    ltr_length: int
    derivation: str
    segments: list[Segment] = field(default_factory=list)
    features: list[Feature] = field(default_factory=list)

    @property
    def provirus_contig(self) -> str:
        return f"{self.name}__provirus"

    @property
    def backbone_contig(self) -> str | None:
        return f"{self.name}__backbone" if self.backbone else None

    def contigs(self) -> dict[str, str]:
        """Contig name to sequence, provirus first."""
        out = {self.provirus_contig: self.provirus}
        if self.backbone:
            out[f"{self.name}__backbone"] = self.backbone
        return out

    def ltr_ranges(self) -> list[tuple[int, int]]:
        """The two LTR copies in provirus coordinates (empty for transposons)."""
        if not self.ltr_length:
            return []
        n = len(self.provirus)
        return [(1, self.ltr_length), (n - self.ltr_length + 1, n)]

    def shared_end(self, mismatches: int = SHARED_END_MISMATCHES) -> int:
        """Bases from each terminus inward over which the two provirus ends are the same sequence
        (terminal inverted repeats: piggyBac, Sleeping Beauty), with up to ``mismatches`` differences.

        A junction read whose vector part reaches no further cannot tell which end it is.
        """
        inward = revcomp(self.provirus)
        shared = differences = 0
        for i, (x, y) in enumerate(zip(self.provirus, inward, strict=True)):
            if x == y:
                shared = i + 1
            else:
                differences += 1
                if differences > mismatches:
                    break
        return shared

    def tsd_partner(self, side: str, host_pos: int) -> tuple[str, int]:
        """(side, host_pos) of the other junction of an insertion whose ``side`` junction (``left``: the
        host lies below the vector) is at ``host_pos``: the two junctions overlap by the TSD."""
        tsd = self.tsd_length
        return ("right", host_pos - tsd + 1) if side == "left" else ("left", host_pos + tsd - 1)

    def site_start(self, side: str, host_pos: int) -> int:
        """First TSD base (1-based) of the target site whose ``side`` junction is at ``host_pos``."""
        return self.tsd_partner(side, host_pos)[1] if side == "left" else host_pos

    def ltr_shift(self) -> int:
        """Bases from a position in the first LTR copy to the same base in the second (0: no LTRs)."""
        return len(self.provirus) - self.ltr_length if self.ltr_length else 0

    def canonical_ltr(self, pos: int) -> int:
        """A provirus position in the second LTR copy moved to the first (the copies are identical)."""
        shift = self.ltr_shift()
        return pos - shift if shift and pos > shift else pos

    def project_ltr(self, pos: int, low_end: bool, overshoot: int = 0) -> int:
        """Move a boundary in the wrong LTR copy to the copy at the end the host attaches to (``low_end``:
        the provirus start, 5p; else its end, 3p).

        A segment in the inner copy may run up to ``overshoot`` bases past the LTR into the internal
        region when the host bases happen to match; the result then lies beyond the terminus.
        """
        shift = self.ltr_shift()
        if shift and low_end and pos > shift - overshoot:
            return pos - shift
        if shift and not low_end and pos <= self.ltr_length + overshoot:
            return pos + shift
        return pos

    def to_plasmid(self, provirus_pos: int) -> int | None:
        """Map a 1-based provirus position to the plasmid, or None if it is not a plain copy."""
        for seg in self.segments:
            if seg.provirus_start <= provirus_pos <= seg.provirus_end:
                return seg.plasmid_start + provirus_pos - seg.provirus_start
        return None


def _features_from_genbank(record: Any) -> list[tuple[str, int, int, str]]:
    """(name, start, end, type) of each GenBank feature, 1-based inclusive."""
    out = []
    for feat in record.features:
        if feat.type == "source":
            continue
        quals = feat.qualifiers
        name = next(
            (quals[k][0] for k in ("label", "standard_name", "gene", "product", "note") if k in quals),
            feat.type,
        )
        out.append((str(name), int(feat.location.start) + 1, int(feat.location.end), feat.type))
    return out


def _terminal_features(features: list[tuple[str, int, int, str]]) -> list[tuple[int, int]]:
    """Features that are LTRs or ITRs, sorted by start."""
    hits = []
    for name, start, end, ftype in features:
        label = f"{name} {ftype}".upper()
        if ftype in {"LTR", "repeat_region", "misc_feature", "mobile_element"} and (
            "LTR" in label or "ITR" in label or "TERMINAL REPEAT" in label
        ):
            hits.append((start, end))
    return sorted(hits)


def _retroviral_provirus(
    plasmid: str, start: int, end: int, kind: VectorKind, source: str
) -> tuple[str, list[Segment], int, int]:
    """Rebuild the integrated provirus: the 3' LTR copied to both ends around the internal region.

    Returns the provirus, its plasmid segments, the LTR length and the plasmid position where
    the backbone stops on the 5' side: just before the part of the plasmid's own 5' LTR that is
    identical to the provirus LTR (R-U5), so that no backbone sequence is also provirus sequence.
    """
    region = plasmid[start - 1 : end]
    window_from = max(0, len(region) - _MAX_LTR)
    ltr_start = region.rfind(kind.five_prime_end, window_from) if kind.five_prime_end else -1
    if ltr_start < 0:
        raise InputError(
            source,
            f"no 3' LTR starting with {kind.five_prime_end} within {_MAX_LTR} bp of the provirus end {end}",
            "check the provirus coordinates and the vector kind, or set five_prime_end for this vector",
        )
    ltr = region[ltr_start:]
    five_ltr_end = region.find(ltr[-_LTR_TAIL:], 0, ltr_start)
    if five_ltr_end < 0:
        raise InputError(
            source,
            "the 5' LTR (R-U5 identical to the 3' LTR's end) was not found before the 3' LTR",
            "set provirus: [start, end] to start at or before the plasmid's 5' LTR",
        )
    internal_from = five_ltr_end + _LTR_TAIL  # 0-based in region
    internal = region[internal_from:ltr_start]
    provirus = ltr + internal + ltr
    n_ltr = len(ltr)
    ltr_plasmid = start + ltr_start
    segments = [
        Segment(1, n_ltr, ltr_plasmid),
        Segment(n_ltr + 1, n_ltr + len(internal), start + internal_from),
        Segment(n_ltr + len(internal) + 1, len(provirus), ltr_plasmid),
    ]
    five_part = region[:internal_from]
    shared = 0
    while shared < min(len(five_part), n_ltr) and five_part[-1 - shared] == ltr[-1 - shared]:
        shared += 1
    return provirus, segments, n_ltr, start + internal_from - shared


@dataclass(frozen=True)
class Repeat:
    """Two copies of a repeat in the plasmid (0-based half-open); ``inverted``: the second is reversed."""

    first: tuple[int, int]
    second: tuple[int, int]
    inverted: bool

    @property
    def length(self) -> int:
        return min(self.first[1] - self.first[0], self.second[1] - self.second[0])


def find_repeats(seq: str, *, inverted: bool, min_gap: int = _MIN_REPEAT_GAP) -> list[Repeat]:
    """Direct (or inverted) repeats at least ``min_gap`` apart, longest first.

    Shared ``_REPEAT_K``-mers are chained along a diagonal that may drift by a few bases
    (small indels) and skip up to ``_REPEAT_SKIP`` bases (mismatches): LTRs and ITRs that are
    similar but not identical still form one repeat.
    """
    k = _REPEAT_K
    index: dict[str, list[int]] = defaultdict(list)
    for i in range(len(seq) - k + 1):
        index[seq[i : i + k]].append(i)
    other = revcomp(seq) if inverted else seq
    hits = []
    for j in range(len(other) - k + 1):
        for i in index.get(other[j : j + k], ()):
            jj = len(seq) - j - k if inverted else j
            if jj - i >= min_gap:
                hits.append((i, jj))
    chains: list[list[tuple[int, int]]] = []
    open_chains: list[list[tuple[int, int]]] = []
    for i, jj in sorted(hits):
        step = -1 if inverted else 1
        chain = next(
            (
                c
                for c in open_chains
                if 0 < i - c[-1][0] <= _REPEAT_SKIP
                and abs((jj - c[-1][1]) * step - (i - c[-1][0])) <= _REPEAT_DRIFT
            ),
            None,
        )
        if chain is None:
            chain = [(i, jj)]
            chains.append(chain)
            open_chains.append(chain)
        else:
            chain.append((i, jj))
        open_chains = [c for c in open_chains if i - c[-1][0] <= _REPEAT_SKIP]
    repeats = [_repeat(c, k, inverted) for c in chains]
    return sorted((r for r in repeats if r.length >= _MIN_REPEAT), key=lambda r: -r.length)


def _repeat(chain: list[tuple[int, int]], k: int, inverted: bool) -> Repeat:
    first = (chain[0][0], chain[-1][0] + k)
    js = [jj for _, jj in chain]
    return Repeat(first, (min(js), max(js) + k), inverted)


def _infer_range(plasmid: str, kind: VectorKind, source: str) -> tuple[int, int, str]:
    """Guess the integrating range: the LTR pair as the longest direct repeat, or the ITRs as the
    longest terminal inverted repeat, snapped to the kind's end motifs. Returns start, end, how."""
    inverted = not kind.long_terminal_repeats
    what = "ITRs (inverted repeat)" if inverted else "LTRs (direct repeat)"
    for rep in find_repeats(plasmid, inverted=inverted):
        ends = _snap(plasmid, rep, kind)
        if ends is not None:
            start, end = ends
            return (
                start,
                end,
                (
                    f"provirus range {start}-{end} inferred from the {what} "
                    f"{rep.first[0] + 1}-{rep.first[1]} and {rep.second[0] + 1}-{rep.second[1]}"
                    + (f", ends at the {kind.name} end motifs" if kind.three_prime_end else "")
                ),
            )
    raise InputError(
        source,
        f"no provirus range given and no {what} of at least {_MIN_REPEAT} bp"
        + (f" ending at the {kind.name} end motifs" if kind.three_prime_end else "")
        + " was found",
        "add provirus: [start, end] (1-based, LTR to LTR or ITR to ITR) for this vector in the config",
    )


def _snap(plasmid: str, rep: Repeat, kind: VectorKind) -> tuple[int, int] | None:
    """1-based range of the element a repeat pair delimits, or None when the end motifs are not there."""
    start, end = rep.first[0] + 1, rep.second[1]
    if kind.three_prime_end:
        motif = kind.three_prime_end
        hit = plasmid.rfind(motif, max(0, end - _SNAP - len(motif)), end + _SNAP)
        if hit < 0:
            return None
        end = hit + len(motif)
    if kind.five_prime_end and not kind.long_terminal_repeats:
        hit = plasmid.find(kind.five_prime_end, max(0, start - 1 - _SNAP), start - 1 + _SNAP)
        if hit < 0:
            return None
        start = hit + 1
    return (start, end) if start < end else None


def check_provirus_ends(
    name: str, region: str, span: tuple[int, int], kind: VectorKind, source: str | Path
) -> None:
    """The integrating range must end with the kind's 3' motif and, for transposons, start with its 5' one.

    A retroviral plasmid's 5' LTR often has a foreign promoter instead of U3, so its range start is
    checked while rebuilding the provirus (the 5' LTR's R-U5 must lie inside the range).
    """
    ends = [("end", kind.three_prime_end, region[-len(kind.three_prime_end) :], "ends", "…{}")]
    if not kind.long_terminal_repeats:
        ends.insert(0, ("start", kind.five_prime_end, region[: len(kind.five_prime_end)], "starts", "{}…"))
    for which, motif, found, verb, shown in ends:
        if motif and found != motif:
            raise InputError(
                source,
                f"the provirus range {span[0]}-{span[1]} {verb} {shown.format(found)!r} but a {kind.name} "
                f"provirus {verb} {motif}",
                f"check the provirus {which} of vectors.{name}.provirus (1-based, inclusive) in the "
                f"config, the vector kind, or set {'five' if which == 'start' else 'three'}_prime_end "
                "for this vector",
            )


def _kind(name: str, sequence: str | Path) -> VectorKind:
    if name not in KINDS:
        raise InputError(sequence, f"unknown vector kind {name!r}", f"use one of {', '.join(KINDS)}")
    return KINDS[name]


def build_vector(
    name: str,
    sequence: str | Path,
    kind: str | VectorKind,
    provirus: tuple[int, int] | list[int] | None = None,
) -> VectorModel:
    """Derive the integrated element, the backbone and the vector facts from a plasmid file; ``kind`` is a
    name in :data:`KINDS` or its :class:`VectorKind` with the config's end motifs and TSD
    (:func:`configured_vector`)."""
    vkind = kind if isinstance(kind, VectorKind) else _kind(kind, sequence)
    source = str(sequence)
    record = read_single_record(sequence)
    plasmid = str(record.seq).upper()
    gb_features = _features_from_genbank(record)
    if provirus is not None:
        start, end = int(provirus[0]), int(provirus[1])
        derivation = f"provirus range {start}-{end} from the config"
    elif vkind.name == "other":
        start, end = 1, len(plasmid)
        derivation = "no provirus range given: the whole sequence integrates (kind other)"
    elif (ends := _terminal_features(gb_features)) and len(ends) >= 2:
        start, end = ends[0][0], ends[-1][1]
        derivation = f"provirus range {start}-{end} from GenBank LTR/ITR features"
    else:
        start, end, derivation = _infer_range(plasmid, vkind, source)
    if not 1 <= start < end <= len(plasmid):
        raise InputError(
            source,
            f"provirus range {start}-{end} lies outside the {len(plasmid)} bp plasmid",
            "give 1-based inclusive coordinates within the plasmid",
        )
    check_provirus_ends(name, plasmid[start - 1 : end], (start, end), vkind, source)
    if vkind.long_terminal_repeats:
        seq, segments, ltr_len, backbone_to = _retroviral_provirus(plasmid, start, end, vkind, source)
        backbone = plasmid[end:] + plasmid[: backbone_to - 1]
    else:
        seq = plasmid[start - 1 : end]
        segments = [Segment(1, len(seq), start)]
        ltr_len = 0
        backbone = plasmid[end:] + plasmid[: start - 1]
    if len(backbone) < _MIN_BACKBONE:
        backbone = ""
    model = VectorModel(
        name=name,
        kind=vkind.name,
        source=source,
        plasmid_length=len(plasmid),
        provirus=seq,
        backbone=backbone,
        five_prime_end=vkind.five_prime_end,
        three_prime_end=vkind.three_prime_end,
        tsd_length=vkind.tsd_length,
        ltr_length=ltr_len,
        derivation=derivation,
        segments=segments,
    )
    model.features = _project_features(model, gb_features)
    return model


def configured_vector(name: str, spec: Mapping[str, Any]) -> VectorModel:
    """The model of the config's ``vectors.<name>`` entry ``spec``: its end motifs and TSD length, where
    given, replace the kind's."""
    kind = _kind(spec["kind"], spec["sequence"])
    five, three, tsd = (spec.get(k) for k in ("five_prime_end", "three_prime_end", "tsd_length"))
    kind = replace(
        kind,
        five_prime_end=kind.five_prime_end if five is None else str(five).upper(),
        three_prime_end=kind.three_prime_end if three is None else str(three).upper(),
        tsd_length=kind.tsd_length if tsd is None else int(tsd),
    )
    return build_vector(name, spec["sequence"], kind, spec.get("provirus"))


def _project_features(model: VectorModel, features: list[tuple[str, int, int, str]]) -> list[Feature]:
    """GenBank features that fall inside one provirus segment, in provirus coordinates.

    The 3' LTR's features also appear on its copy at the provirus 5' end, named 5' there.
    """
    out = []
    for name, start, end, _ in features:
        for seg in model.segments:
            seg_plasmid_end = seg.plasmid_start + seg.provirus_end - seg.provirus_start
            if seg.plasmid_start <= start and end <= seg_plasmid_end:
                offset = seg.provirus_start - seg.plasmid_start
                five_copy = model.ltr_length and seg.provirus_start == 1  # the 3' LTR copied to the 5' end
                out.append(
                    Feature(name.replace("3'", "5'") if five_copy else name, start + offset, end + offset)
                )
    return out


def write_manifest(path: str | Path, models: list[VectorModel]) -> None:
    """Write the vector facts as JSON (sequences included) for later stages."""
    with atomic_write(path) as out:
        json.dump({m.name: asdict(m) for m in models}, out, indent=1)


def load_manifest(path: str | Path) -> dict[str, VectorModel]:
    """Read the manifest written by :func:`write_manifest`."""
    with open(path) as handle:
        raw = json.load(handle)
    models = {}
    for name, data in raw.items():
        data["segments"] = [Segment(**s) for s in data["segments"]]
        data["features"] = [Feature(**f) for f in data["features"]]
        models[name] = VectorModel(**data)
    return models


def contig_owner(contig: str) -> tuple[str, str] | None:
    """(vector name, 'provirus' | 'backbone') for a vector contig name, else None."""
    name, sep, part = contig.rpartition("__")
    if sep and part in {"provirus", "backbone"}:
        return name, part
    return None
