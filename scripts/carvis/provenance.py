"""What a report states about how it was made: versions, inputs and their checksums, thresholds."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from carvis import __version__

_TOOLS = {"minimap2": ["minimap2", "--version"], "bwa": ["bwa"], "samtools": ["samtools", "--version"]}


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


def _checksummed(path: str | Path) -> str:
    return f"{path} (sha256 {sha256(path)})"


def run_metadata(
    config: Mapping[str, Any], sample: str, vector: str, purity: float | None
) -> dict[str, object]:
    """Method summary for one sample's report (checksums of the small inputs; sizes of the large ones)."""
    genome = Path(config["reference"]["genome"])
    vector_file = Path(config["vectors"][vector]["sequence"])
    return {
        "sample": sample,
        "purity": purity,
        "vector": vector,
        "vector kind": config["vectors"][vector]["kind"],
        "vector file": _checksummed(vector_file),
        "reference genome": f"{genome} ({genome.stat().st_size:,} bytes)",
        "annotation": _checksummed(config["reference"]["annotation"]),
        "gene lists": "; ".join(_checksummed(p) for p in config["gene_lists"]),
        "aligner": f"{config['aligner']} {tool_version(config['aligner'])}",
        "samtools": tool_version("samtools"),
        "carvis": __version__,
        "python": platform.python_version(),
        "site thresholds": ", ".join(f"{k}={v}" for k, v in config["sites"].items()),
        "transgene thresholds": ", ".join(f"{k}={v}" for k, v in config["transgene"].items()),
    }
