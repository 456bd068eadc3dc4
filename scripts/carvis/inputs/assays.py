"""Sample-sheet checks of the assays other than WGS (issue 16): LM-PCR runs and their specimens; the long-read
assays' names."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carvis.core.errors import InputError

if TYPE_CHECKING:
    from carvis.inputs.checks import Sample

#: The sheet's long-read assays (single reads; carvis.reads.long_reads holds their minimap2 presets).
LONG_READ_ASSAYS = ("ont", "hifi")


def lmpcr_fields(sample: Sample, cells: Mapping[str, Any]) -> Sample:
    """The sheet's ``specimen`` and ``ltr_end`` cells on the sample (LM-PCR runs only)."""
    return dataclasses.replace(
        sample, specimen=cells.get("specimen") or None, ltr_end=cells.get("ltr_end") or "3p"
    )


def check_lmpcr_sheet(path: Path, samples: Sequence[Sample], lines: Mapping[str, int]) -> None:
    """LM-PCR runs are paired FASTQs; a specimen holds LM-PCR runs of one vector, one per LTR end."""
    specimens: dict[str, list[Sample]] = {}
    for s in samples:
        line = lines[s.sample]
        if s.assay != "lmpcr":
            if s.specimen is not None:
                raise InputError(
                    path,
                    f"specimen {s.specimen!r} is given for a {s.assay} sample",
                    "leave specimen empty: it joins the 5' and 3' LTR runs of an lmpcr specimen",
                    line,
                )
            continue
        if s.bam is not None or not s.fastq_2:
            raise InputError(
                path,
                "an lmpcr run needs paired FASTQs (the LTR read and the linker read)",
                "give the run's read 1 and read 2 FASTQs in fastq_1 and fastq_2 (no bam)",
                line,
            )
        specimens.setdefault(s.specimen or s.sample, []).append(s)
    for name, runs in specimens.items():
        ends = [r.ltr_end for r in runs]
        if len(set(ends)) < len(ends) or len({r.vector for r in runs}) > 1:
            raise InputError(
                path,
                f"specimen {name!r} has runs {', '.join(r.sample for r in runs)} with the same LTR end "
                "or different vectors",
                "a specimen holds at most one 3p and one 5p run of one vector; give the other runs their "
                "own specimen",
                lines[runs[-1].sample],
            )


def specimen_runs(samples: Mapping[str, Sample], sample: str) -> list[str]:
    """The LM-PCR runs of ``sample``'s specimen (itself included), in sheet order."""
    key = samples[sample].specimen or sample
    return [s for s, v in samples.items() if v.assay == "lmpcr" and (v.specimen or s) == key]
