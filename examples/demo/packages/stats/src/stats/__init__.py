"""Statistics."""

import numberz


def average(values: list[float]) -> float:
    """The arithmetic mean."""
    return float(numberz.mean(values))
