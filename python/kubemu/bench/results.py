"""One benchmark's figures, as every ``kubemu bench`` module prints them.

Each result is one JSON line: ``{"bench", "unit", "median", "runs", <extra medians>, "params"}``
(``median`` over ``runs``; each extra series, e.g. a latency percentile per run, is reported as
its median under its own name).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BenchResult:
    """The runs of one benchmark (``unit`` per run), extra per-run series and the parameters."""

    bench: str
    unit: str
    runs: list[float] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, list[float]] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """The median of the runs (NaN before the first run)."""
        return statistics.median(self.runs) if self.runs else float("nan")

    def to_json(self) -> dict[str, Any]:
        """The JSON line's object (numbers rounded to 4 decimals; an empty series → None)."""
        out: dict[str, Any] = {
            "bench": self.bench,
            "unit": self.unit,
            "median": round(self.median, 4),
            "runs": [round(r, 4) for r in self.runs],
        }
        for k, v in self.extra.items():
            out[k] = round(statistics.median(v), 4) if v else None
        out["params"] = self.params
        return out
