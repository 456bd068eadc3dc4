"""Half-open interval arithmetic shared by the mask, transgene and annotation stages."""

from __future__ import annotations

import random

from carvis.core.intervals import merge, subtract


def test_merge_joins_overlapping_and_touching_intervals() -> None:
    assert merge([(10, 20), (0, 5), (5, 8), (15, 30), (40, 41)]) == [(0, 8), (10, 30), (40, 41)]


def test_subtract_keeps_exactly_the_bases_outside_the_holes() -> None:
    assert subtract([(0, 100)], [(10, 20), (15, 30), (90, 120)]) == [(0, 10), (30, 90)]
    assert subtract([(30, 40), (0, 10)], [(0, 100)]) == []
    assert subtract([(5, 10)], []) == [(5, 10)]
    rng = random.Random(2)
    for _ in range(200):
        spans = [(a, a + rng.randrange(1, 30)) for a in (rng.randrange(0, 200) for _ in range(5))]
        holes = [(a, a + rng.randrange(1, 30)) for a in (rng.randrange(0, 200) for _ in range(5))]
        inside = {x for s, e in spans for x in range(s, e)} - {x for s, e in holes for x in range(s, e)}
        result = subtract(spans, holes)
        assert {x for s, e in result for x in range(s, e)} == inside
        assert result == merge(result) and all(s < e for s, e in result)
