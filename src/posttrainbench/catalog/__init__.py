"""The data that defines the benchmark: the seven target benchmarks and the four base models."""

from posttrainbench.catalog.benchmarks import Benchmark, TokenStep, all_benchmarks, get_benchmark
from posttrainbench.catalog.models import FAMILIES, BaseModel, Family, all_models, get_family, get_model

__all__ = [
    "FAMILIES",
    "BaseModel",
    "Benchmark",
    "Family",
    "TokenStep",
    "all_benchmarks",
    "all_models",
    "get_benchmark",
    "get_family",
    "get_model",
]
