"""What a report states about how it was made: settings, versions, inputs and their checksums, read counts.

The report rule gets only :func:`report_settings` (the config values the report prints, and a digest
of the whole config), so a change to threads or memory does not rerun it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from carvis import __version__
from carvis.core.io import read_tsv

_TOOLS = {"minimap2": ["minimap2", "--version"], "bwa": ["bwa"], "samtools": ["samtools", "--version"]}
#: Config keys that change how a run is scheduled, never a result: left out of the digest.
RUN_ONLY_KEYS = ("threads", "mem_mb")
#: Columns of ``qc/<sample>.inputs.tsv`` and ``qc/<sample>.read_counts.tsv``.
INPUTS = ("sample", "file", "bytes", "sha256")
READ_COUNTS = ("sample", "step", "file", "reads")
#: Read-count steps in pipeline order, with what each counts.
STEPS = {
    "input": "reads in the input file",
    "screened": "reads the vector k-mer screen looked at",
    "kept": "reads the screen kept: they share k-mers with the vector",
    "depth_sample": "reads picked at random for the genome-wide depth (VCN)",
    "sent_to_aligner": "reads sent to the aligner",
    "primary_alignments": "primary alignments the aligner wrote",
}


def tool_version(name: str) -> str:
    """First version line a tool prints, or 'not found'."""
    if shutil.which(_TOOLS[name][0]) is None:
        return "not found"
    result = subprocess.run(_TOOLS[name], capture_output=True, text=True, errors="replace", check=False)
    for line in (result.stdout + result.stderr).splitlines():
        if name == "bwa" and not line.startswith("Version"):
            continue
        return line.replace("Version:", "").strip()
    return "unknown"


def sha256(path: str | Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def config_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 of the resolved config as canonical JSON (sorted keys, no spaces), run-only keys left out."""
    kept = {k: v for k, v in config.items() if k not in RUN_ONLY_KEYS}
    canonical = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def report_settings(config: Mapping[str, Any], vector: str) -> dict[str, Any]:
    """The config values one sample's report prints (the report rule's params)."""
    return {
        "vector": vector,
        "vector kind": config["vectors"][vector]["kind"],
        "vector file": str(config["vectors"][vector]["sequence"]),
        "genome": str(config["reference"]["genome"]),
        "annotation": str(config["reference"]["annotation"]),
        "bwa index": config["reference"].get("bwa_index"),
        "gene lists": [str(p) for p in config["gene_lists"]],
        "aligner": config["aligner"],
        "aligner extra arguments": config.get("align_extra") or "none",
        "screening": dict(config["screen"]),
        "site thresholds": dict(config["sites"]),
        "transgene thresholds": dict(config["transgene"]),
        "config digest": config_digest(config),
    }


def _checksummed(path: str | Path) -> str:
    return f"{path} ({Path(path).stat().st_size:,} bytes; SHA-256 {sha256(path)})"


def _clip_placement(settings: Mapping[str, Any]) -> str:
    """How host clips were placed: bwa aln and its index, or off."""
    if not settings["site thresholds"].get("place_clips"):
        return "off (sites.place_clips: false)"
    index = settings.get("bwa index")
    source = "index built by carvis"
    if index:
        source = f"index {index} (reference.bwa_index, checked against the genome)"
    return f"bwa aln {tool_version('bwa')} on the genome alone, {source}"


def run_metadata(settings: Mapping[str, Any], sample: str, purity: float | None) -> dict[str, object]:
    """Specimen and method of one report: the settings, checksums of the small inputs (size of the
    genome), tool versions and the run date."""
    genome = Path(settings["genome"])
    aligner = str(settings["aligner"])
    return {
        "sample": sample,
        "tumour purity": "unknown (not given in the sample sheet)" if purity is None else purity,
        "vector": f"{settings['vector']} ({settings['vector kind']})",
        "vector file": _checksummed(settings["vector file"]),
        "reference genome": f"{genome} ({genome.stat().st_size:,} bytes)",
        "annotation": _checksummed(settings["annotation"]),
        "gene lists": [_checksummed(p) for p in settings["gene lists"]],
        "aligner": f"{aligner} {tool_version(aligner)}",
        "aligner extra arguments": settings["aligner extra arguments"],
        "samtools": tool_version("samtools"),
        "host clip placement (aligned_clip rows)": _clip_placement(settings),
        "carvis": __version__,
        "python": platform.python_version(),
        "run date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "config digest (SHA-256 of the resolved config as canonical JSON, threads and memory left out)": (
            settings["config digest"]
        ),
        "screening": settings["screening"],
        "site thresholds": settings["site thresholds"],
        "transgene thresholds": settings["transgene thresholds"],
    }


def read_qc(path: str | Path | None, columns: tuple[str, ...]) -> list[dict[str, str]] | None:
    """Rows of a qc table (INPUTS or READ_COUNTS), or None when this run wrote none."""
    if path is None or not Path(path).is_file():
        return None
    return read_tsv(path, columns, "give the qc table the workflow wrote for this sample")
