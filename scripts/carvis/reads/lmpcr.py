"""LM-PCR reads: the protocol's layout (presets) and the trimming of primer, LTR and linker.

An LM-PCR (LAM-PCR, nrLAM-PCR, INSPIIRED/intSiteCaller, AAVengeR) read pair is

- the **LTR read**: LTR primer, the rest of the LTR up to its terminus (ending in the processed ``CA``),
  then host DNA from the base next to the LTR end onwards (and, for short fragments, the linker);
- the **linker read**: the linker (``N`` = any base, e.g. a sample-specific head; the UMI at
  ``umi_start``, ``umi_length`` bases), then host DNA from the shear point towards the LTR.

Trimming keeps a pair only when the LTR read carries the primer and the *exact* LTR end (the terminal
``CA`` matched base for base): a primer that annealed elsewhere in the genome (mispriming) is followed
by host sequence, not by the LTR end, and is dropped. A pair whose LTR read has fewer than
``min_host_bases`` host bases after the LTR (linker-only products, primer dimers) is dropped too. The
kept host parts go to the aligner with the UMI appended to the read name (``<name>:umi_<UMI>``).

The presets follow the public protocol descriptions: which read starts in the LTR, the lengths of the
primer and of the LTR stretch after it, and the linker's UMI. Primer and LTR sequences default to the
configured vector's own provirus ends (3' LTR run: the last bases of the provirus; 5' LTR run: the
reverse complement of its first bases), so they fit any lentiviral or gammaretroviral vector; a lab's
own oligos are given with the keys ``primer``/``ltr`` (3' LTR runs) and ``primer_5p``/``ltr_5p``.
The INSPIIRED and AAVengeR linkers are checked on their constant tail (the sample-specific head is
``N``); the nrLAM-PCR linker is a placeholder: give your own oligo as ``linker``.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TextIO

from carvis.core.errors import InputError
from carvis.core.io import atomic_write, write_tsv
from carvis.core.seqs import revcomp
from carvis.reference.vectors import VectorModel

UMI_TAG = ":umi_"
LTR_ENDS = ("3p", "5p")
#: Trimming outcomes, in the order of the checks (stats table rows).
OUTCOMES = ("reads", "no_primer", "mispriming", "linker_only", "no_linker", "kept")
STATS = ("sample", "outcome", "reads")
#: Bases of the linker's 3' end searched for in the LTR read (read-through of short fragments).
_READ_THROUGH = 12


@dataclass(frozen=True)
class Layout:
    """Where everything sits in an LM-PCR read pair."""

    name: str
    ltr_read: int  # 1 or 2: the FASTQ whose reads start in the LTR primer
    primer_length: int  # primer bases (when the primer is taken from the vector)
    ltr_length: int  # LTR bases between primer and terminus, terminal CA included
    linker: str  # linker as read at the start of the linker read; N matches any base
    primer: str = ""  # 3' LTR run; empty: from the vector
    ltr: str = ""
    primer_5p: str = ""  # 5' LTR run; empty: from the vector
    ltr_5p: str = ""
    umi_start: int = 0  # 0-based start of the UMI in the linker read
    umi_length: int = 0  # 0: no UMI
    primer_mismatches: int = 2
    ltr_mismatches: int = 1  # outside the terminal CA, which must match exactly
    linker_mismatches: int = 3
    min_host_bases: int = 20

    @property
    def umi_span(self) -> tuple[int, int] | None:
        """0-based [start, end) of the UMI in the linker read, or None without a UMI."""
        return (self.umi_start, self.umi_start + self.umi_length) if self.umi_length else None


#: Linker tail shared by the INSPIIRED and AAVengeR linkers: it follows the 12-base random stretch.
_LINKER_TAIL = "CTCCGCTTAAGGGACT"
#: INSPIIRED/intSiteCaller (Berry et al. 2017; Sherman et al. 2017): MiSeq paired-end, sample barcodes
#: in the index read; read 2 starts with the end of the U5 primer and the LTR's last bases (HIV-based
#: vectors: primer GAAAATC, "ltrBit" TCTAGCA, which the vector-derived default reproduces), read 1 with
#: the linker: 19 sample-specific bases, a 12-base random stretch (the UMI) and a constant tail.
#: AAVengeR (helixscript): the same read layout with a 20-base linker head; its "leader sequence"
#: (anchor read up to the terminus) is the primer + ltr of this layout.
#: Generic nrLAM-PCR (Paruzynski et al. 2010): read 1 starts in the LTR, read 2 in the single-stranded
#: linker ligated to the linear amplification product; no UMI. Its linker here is a placeholder of
#: the usual length: give your own oligo as ``linker``.
PRESETS: dict[str, Layout] = {
    "inspiired": Layout("inspiired", 2, 7, 7, "N" * 31 + _LINKER_TAIL, umi_start=19, umi_length=12),
    "aavenger": Layout("aavenger", 2, 7, 7, "N" * 32 + _LINKER_TAIL, umi_start=20, umi_length=12),
    "nrlam": Layout("nrlam", 1, 20, 12, "GATCTGAATTCAGTGGCACAGCAGTTAGG"),
}


def layout_from_config(settings: Mapping[str, Any] | None) -> Layout:
    """The layout from the config's ``lmpcr`` section: a preset, with any of its keys overridden."""
    settings = dict(settings or {})
    name = str(settings.pop("preset", "inspiired"))
    if name not in PRESETS:
        raise InputError(None, f"lmpcr preset {name!r} is unknown", f"use one of {', '.join(PRESETS)}")
    names = {f.name for f in fields(Layout)} - {"name"}  # min_mapq, wobble: the sites stage's
    clean: dict[str, Any] = {k: v.upper() if isinstance(v, str) else v for k, v in settings.items()}
    clean = {k: v for k, v in clean.items() if k in names}
    layout = replace(PRESETS[name], **clean)
    if layout.ltr_read not in (1, 2):
        raise InputError(None, f"lmpcr ltr_read {layout.ltr_read} is not 1 or 2", "set ltr_read: 1 or 2")
    return layout


def end_oligos(layout: Layout, vector: VectorModel, ltr_end: str) -> tuple[str, str]:
    """(primer, LTR stretch up to the terminus) of one LTR end, as they read in the LTR read."""
    if ltr_end not in LTR_ENDS:
        raise ValueError(f"ltr_end {ltr_end!r} is not one of {LTR_ENDS}")
    primer, ltr = (layout.primer, layout.ltr) if ltr_end == "3p" else (layout.primer_5p, layout.ltr_5p)
    outward = vector.provirus if ltr_end == "3p" else revcomp(vector.provirus)
    n = layout.primer_length + layout.ltr_length
    if not ltr:
        ltr = outward[-layout.ltr_length :]
    if not primer:
        primer = outward[-n : -layout.ltr_length]
    if not ltr.endswith("CA"):
        raise InputError(
            None,
            f"the {ltr_end} LTR stretch {ltr} does not end in the processed CA of an integrated LTR",
            "give the LTR sequence up to the terminus (ending CA) as lmpcr ltr/ltr_5p, or check the vector",
        )
    return primer, ltr


def _mismatches(read: str, template: str) -> int:
    """Differences between a read prefix and a template (N in the template matches anything)."""
    if len(read) < len(template):
        return len(template)
    return sum(1 for a, b in zip(read, template, strict=False) if b != "N" and a != b)


@dataclass(frozen=True)
class Trimmed:
    """One kept pair: the host parts and the UMI."""

    host_ltr: tuple[str, str]  # (sequence, qualities) after the LTR end
    host_linker: tuple[str, str]  # after the linker
    umi: str


class Trimmer:
    """Trims the read pairs of one run (one LTR end)."""

    def __init__(self, layout: Layout, primer: str, ltr: str) -> None:
        self.layout, self.primer, self.ltr = layout, primer, ltr
        constant = layout.linker[(layout.umi_span or (0, 0))[1] :] or layout.linker
        self.read_through = revcomp(constant[-_READ_THROUGH:])
        self.ltr_back = revcomp(ltr)

    def outcome(self, ltr_read: tuple[str, str], linker_read: tuple[str, str]) -> str | Trimmed:
        """The trimmed pair, or why it was dropped (one of :data:`OUTCOMES`)."""
        lay, seq = self.layout, ltr_read[0]
        p, n = len(self.primer), len(self.primer) + len(self.ltr)
        if _mismatches(seq[:p], self.primer) > lay.primer_mismatches:
            return "no_primer"
        ltr = seq[p:n]
        if len(ltr) < len(self.ltr) or ltr[-2:] != self.ltr[-2:]:
            return "mispriming"
        if _mismatches(ltr[:-2], self.ltr[:-2]) > lay.ltr_mismatches:
            return "mispriming"
        end = seq.find(self.read_through, n)
        end = len(seq) if end < 0 else end
        if end - n < lay.min_host_bases:
            return "linker_only"
        other = linker_read[0]
        if _mismatches(other[: len(lay.linker)], lay.linker) > lay.linker_mismatches:
            return "no_linker"
        span = lay.umi_span
        umi = other[span[0] : span[1]] if span else ""
        start = len(lay.linker)
        stop = other.find(self.ltr_back, start)
        stop = len(other) if stop < 0 else stop
        # no host after the linker: one N keeps the pair paired
        host_linker = ("N", "#") if stop <= start else (other[start:stop], linker_read[1][start:stop])
        return Trimmed((seq[n:end], ltr_read[1][n:end]), host_linker, umi)


def _open(path: str | Path) -> TextIO:
    with open(path, "rb") as handle:
        gz = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gz else open(path)


def read_fastq(path: str | Path) -> Iterator[tuple[str, str, str]]:
    """(name without /1 /2 and comment, sequence, qualities) per record."""
    with _open(path) as handle:
        for number, header in enumerate(handle):
            seq, _, qual = handle.readline().rstrip("\n"), handle.readline(), handle.readline().rstrip("\n")
            if not header.startswith("@") or len(seq) != len(qual):
                raise InputError(path, "not a FASTQ record", "give the run's FASTQ files", number * 4 + 1)
            name = header[1:].split()[0]
            if name.endswith(("/1", "/2")):
                name = name[:-2]
            yield name, seq.upper(), qual


def _lanes(files: str | Path | Sequence[str | Path]) -> Iterator[tuple[str, str, str]]:
    for path in [files] if isinstance(files, str | Path) else files:
        yield from read_fastq(path)


def _paired(
    first: str | Path | Sequence[str | Path], second: str | Path | Sequence[str | Path]
) -> Iterator[tuple[tuple[str, str, str], tuple[str, str, str]]]:
    """The two reads of each pair; R1 and R2 out of step (names or counts) is bad input."""
    ones, twos = _lanes(first), _lanes(second)
    where = second if isinstance(second, str | Path) else ", ".join(map(str, second))
    fix = "give the run's read 1 and read 2 files from the same sequencing run, lanes in the same order"
    for number, a in enumerate(ones, 1):
        b = next(twos, None)
        if b is None or a[0] != b[0]:
            found = "ends" if b is None else f"holds {b[0]!r}"
            raise InputError(
                where, f"record {number} of the other read file is {a[0]!r}, this one {found}", fix
            )
        yield a, b
    if next(twos, None) is not None:
        raise InputError(where, "holds more records than the other read file", fix)


#: Above this share of pairs whose LTR read does not start with the primer, the run is not of the layout.
MAX_NO_PRIMER = 0.5


def _check_layout(
    counts: Mapping[str, int], ltr_fastq: str | Path | Sequence[str | Path], primer: str, layout: Layout
) -> None:
    """Stop a run most of whose LTR reads lack the primer: a WGS library, another protocol or another
    vector would otherwise read as "no integration site amplified"."""
    if not counts["reads"] or counts["no_primer"] <= MAX_NO_PRIMER * counts["reads"]:
        return
    where = ltr_fastq if isinstance(ltr_fastq, str | Path) else ltr_fastq[0]
    raise InputError(
        where,
        f"{counts['no_primer']:,} of {counts['reads']:,} read pairs do not start with the LTR primer "
        f"{primer} (lmpcr preset {layout.name}, LTR read {layout.ltr_read}): not a run of that layout",
        "check the sheet's assay and ltr_end columns, the config's lmpcr preset, primer and ltr_read, and "
        "the vector; a whole-genome library is assay wgs",
    )


def trim_run(
    layout: Layout,
    oligos: tuple[str, str],
    fastqs: tuple[str | Path | Sequence[str | Path], str | Path | Sequence[str | Path]],
    out: tuple[str | Path, ...],
) -> dict[str, int]:
    """Trim one run's pairs (``fastqs`` = R1, R2, each a file or its lanes); write the host parts
    (``out`` = R1, R2, stats TSV).

    Output read 1 is the LTR side (starts at the host base next to the LTR end), read 2 the linker side.
    """
    trimmer = Trimmer(layout, *oligos)
    counts = dict.fromkeys(OUTCOMES, 0)
    first, second = (fastqs[0], fastqs[1]) if layout.ltr_read == 1 else (fastqs[1], fastqs[0])
    with atomic_write(out[0]) as out1, atomic_write(out[1]) as out2:
        for a, b in _paired(first, second):
            counts["reads"] += 1
            result = trimmer.outcome(a[1:], b[1:])
            if isinstance(result, str):
                counts[result] += 1
                continue
            counts["kept"] += 1
            name = a[0] + (UMI_TAG + result.umi if result.umi else "")
            out1.write(f"@{name}\n{result.host_ltr[0]}\n+\n{result.host_ltr[1]}\n")
            out2.write(f"@{name}\n{result.host_linker[0]}\n+\n{result.host_linker[1]}\n")
        _check_layout(counts, first, oligos[0], layout)
    if len(out) > 2:
        sample = Path(out[2]).name.split(".")[0]
        write_tsv(out[2], STATS, [{"sample": sample, "outcome": k, "reads": v} for k, v in counts.items()])
    return counts


def umi_of(read_name: str) -> str:
    """The UMI a trimmed read's name carries, or ''."""
    at = read_name.rfind(UMI_TAG)
    return read_name[at + len(UMI_TAG) :] if at >= 0 else ""
