"""The four base models, their families and the families' fixed chat templates. (The benchmarks are one
module each, in ``evaluation/benchmarks/``.)"""

from posttrainbench.catalog.models import FAMILIES, BaseModel, Family, all_models, get_family, get_model

__all__ = ["FAMILIES", "BaseModel", "Family", "all_models", "get_family", "get_model"]
