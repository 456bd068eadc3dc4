"""Small numeric helpers shared by stages."""

from __future__ import annotations

from collections.abc import Callable


def bisect_root(func: Callable[[float], float], low: float, high: float) -> float:
    """Root of an increasing function on [low, high]."""
    for _ in range(60):
        mid = (low + high) / 2
        if func(mid) < 0:
            low = mid
        else:
            high = mid
    return (low + high) / 2
