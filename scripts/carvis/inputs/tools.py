"""The command-line tools a run needs, checked on PATH before any job starts.

A tool that is missing would otherwise stop the run half-way, at the first job that calls it, after the
screen and the alignment have run. With ``--sdm conda`` (or apptainer) the rules bring their own tools
and this check is skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from carvis.core.errors import InputError
from carvis.inputs.assays import LONG_READ_ASSAYS

#: The tools every run needs -> what carvis uses them for (said when one is missing).
ALWAYS = {
    "minimap2": "aligns the reads and the vector tiles",
    "samtools": "sorts, indexes and counts the alignments",
}


def required_tools(config: Mapping[str, Any], assays: Iterable[str]) -> dict[str, str]:
    """Tool -> why this run needs it, from the config and the sample sheet's assays."""
    needed = dict(ALWAYS)
    assays = set(assays)
    if config["aligner"] == "bwa" and assays - set(LONG_READ_ASSAYS):
        needed["bwa"] = "aligns the short reads, as config aligner is bwa"
    elif config["sites"]["place_clips"] and assays - set(LONG_READ_ASSAYS) - {"lmpcr"}:
        needed["bwa"] = "places short host clips on the genome, as config sites.place_clips is true"
    return needed


def check_tools(
    config: Mapping[str, Any],
    assays: Iterable[str],
    config_name: str,
    which: Callable[[str], str | None] = shutil.which,
) -> dict[str, str]:
    """The tools the run needs (:func:`required_tools`); InputError naming every one not on PATH, what it is
    for and how to get it."""
    needed = required_tools(config, assays)
    missing = {name: why for name, why in needed.items() if which(name) is None}
    if not missing:
        return needed
    listed = "; ".join(f"{name} ({why})" for name, why in missing.items())
    fix = (
        f"install {' and '.join(missing)} (bash scripts/setup.sh installs the tools as Debian packages), "
        "or run with --sdm conda to use the pinned envs in envs/"
    )
    if "bwa" in missing and config["aligner"] != "bwa":
        fix += f", or set sites.place_clips: false in {config_name} (fewer one-fragment sites are found)"
    raise InputError("PATH", f"missing: {listed}", fix)
