"""Half-open genomic intervals: BED reading, merging and overlap queries."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

Interval = tuple[int, int]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping or touching half-open intervals."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(intervals: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """Parts of ``intervals`` outside ``holes`` (half-open; both merged first)."""
    gaps = merge(holes)
    out = []
    for start, end in merge(intervals):
        cursor = start
        for hole_start, hole_end in gaps:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                out.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def read_bed(path: str | Path) -> dict[str, list[Interval]]:
    """Contig -> merged 0-based half-open intervals from a BED file (extra columns ignored)."""
    raw: dict[str, list[Interval]] = defaultdict(list)
    with open(path) as handle:
        for line in handle:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.split("\t")
            raw[fields[0]].append((int(fields[1]), int(fields[2])))
    return {contig: merge(ivs) for contig, ivs in raw.items()}


class IntervalSet:
    """Merged intervals of one contig with O(log n) point and overlap queries."""

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self.intervals = merge(intervals)
        self._starts = [s for s, _ in self.intervals]

    def covers(self, pos0: int) -> bool:
        """Is the 0-based position inside an interval?"""
        i = bisect.bisect_right(self._starts, pos0) - 1
        return i >= 0 and pos0 < self.intervals[i][1]

    def overlap(self, start: int, end: int) -> int:
        """Number of bases of [start, end) inside the set."""
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        total = 0
        while i < len(self.intervals) and self.intervals[i][0] < end:
            s, e = self.intervals[i]
            total += max(0, min(e, end) - max(s, start))
            i += 1
        return total

    def total(self) -> int:
        return sum(e - s for s, e in self.intervals)
