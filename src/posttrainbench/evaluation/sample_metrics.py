"""Inspect metrics computed from whole sample scores (value and metadata), for the judged benchmarks.

No ``from __future__ import annotations`` here: Inspect reads the metric's parameter annotation at run time
to decide whether it receives ``SampleScore`` objects.
"""

from collections.abc import Callable

from inspect_ai.scorer import Metric, SampleScore, metric


def sample_metric(name: str, compute: Callable[[list[SampleScore]], float]) -> Metric:
    @metric(name=name)
    def factory() -> Metric:
        def run(scores: list[SampleScore]) -> float:
            return compute(scores)

        return run

    return factory()
