"""Sweep of the single-fragment tier's thresholds on a finished accuracy benchmark (prints figures).

    python tests/benchmark/single_sweep.py --workdir DIR    # DIR: accuracy.py's --workdir

Re-calls the sites of every sample of every panel in DIR from its evidence table (no realignment) with
each setting and prints, per setting, the recall of the physical limit per sample and pooled, and the
precision within 5 bp over every call. ``mate`` off leaves out :func:`carvis.sites.mates.confirm_by_mate`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import tempfile
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import Score, score  # noqa: E402

from carvis.core.io import read_tsv  # noqa: E402
from carvis.reference.vectors import load_manifest  # noqa: E402
from carvis.sites import call as sites  # noqa: E402
from carvis.sites.call import SiteFiles, SitesParams  # noqa: E402

GRID = {
    "single_min_mapq": (30, 20),
    "single_min_host_bases": (20, 15),
    "single_max_offset": (0, 2),
    "mate": (False, True),
}


def recall(panel: Path, settings: dict[str, int], mate: bool, scratch: Path) -> dict[str, Score]:
    (ref,) = (panel / "out" / "reference").glob("*/vectors.json")
    models = load_manifest(ref)
    out = {}
    for row in read_tsv(panel / "samples.tsv"):
        name = row["sample"]
        purity = float(row["purity"]) if row["purity"] else None
        off = mock.patch.object(sites, "confirm_by_mate", new=lambda *_: {})
        with contextlib.nullcontext() if mate else off:
            files = SiteFiles(
                panel / "out" / "evidence" / f"{name}.evidence.tsv",
                ref.parent / "combined.fa",
                scratch / f"{name}.tsv",
            )
            sites.call_sites(files, models[row["vector"]], name, SitesParams(purity=purity, **settings))
        calls = read_tsv(scratch / f"{name}.tsv")
        out[name] = score(read_tsv(panel / "reads" / f"{name}.truth.tsv"), calls)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    panels = [
        p
        for p in (args.workdir / "demo", args.workdir / "real")
        if any(p.glob("out/reference/*/vectors.json"))
    ]
    print(
        "| min MAPQ | min host bases | max offset | mate places | recall of the limit per sample | "
        "pooled recall | precision 5 bp | single calls |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for values in itertools.product(*GRID.values()):
            setting = dict(zip(GRID, values, strict=True))
            mate = bool(setting.pop("mate"))
            total, per = Score(), []
            for panel in panels:
                for name, s in recall(panel, setting, mate, Path(scratch)).items():
                    total.add(s)
                    if s.readable:
                        per.append(f"{name} {s.readable_found / s.readable:.2f}")
            cells = [*map(str, setting.values()), "yes" if mate else "no", ", ".join(per)]
            cells += [
                f"{total.readable_found / total.readable:.3f} ({total.readable_found}/{total.readable})",
                f"{total.calls_5bp / total.calls:.4f} ({total.calls_5bp}/{total.calls})",
                str(total.single),
            ]
            print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
