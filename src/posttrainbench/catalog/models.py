"""The four base models and the model families whose fixed chat templates the evaluator uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

from posttrainbench import registry

KIND = "model"
FAMILY_KIND = "family"


@dataclass(frozen=True)
class Family:
    """A model family: which fixed chat template the evaluator applies to its models."""

    id: str
    template: str
    """File name of the chat template in ``catalog/templates``."""

    def chat_template(self) -> str:
        """The template text (Jinja), exactly as shipped with the package."""
        return resources.files("posttrainbench.catalog").joinpath("templates", self.template).read_text()


@dataclass(frozen=True)
class BaseModel:
    """A base model that agents post-train."""

    id: str
    """Hugging Face id, e.g. ``Qwen/Qwen3-1.7B-Base``."""
    family: str
    instruct: str
    """The official instruct counterpart: submitting it (or a fine-tune of it) is forbidden."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["chat_template"] = get_family(self.family).template
        return data


FAMILIES = {
    family.id: family
    for family in (
        Family("qwen3", "qwen3.jinja"),
        Family("smollm3", "smollm3.jinja"),
        Family("gemma3", "gemma3.jinja"),
    )
}
for _family in FAMILIES.values():
    registry.register(FAMILY_KIND, _family.id, _family)

_MODELS = [
    BaseModel("Qwen/Qwen3-1.7B-Base", "qwen3", "Qwen/Qwen3-1.7B"),
    BaseModel("Qwen/Qwen3-4B-Base", "qwen3", "Qwen/Qwen3-4B"),
    BaseModel("HuggingFaceTB/SmolLM3-3B-Base", "smollm3", "HuggingFaceTB/SmolLM3-3B"),
    BaseModel("google/gemma-3-4b-pt", "gemma3", "google/gemma-3-4b-it"),
]
for _model in _MODELS:
    registry.register(KIND, _model.id, _model)


def get_model(model_id: str) -> BaseModel:
    return registry.lookup(KIND, model_id)  # type: ignore[no-any-return]


def get_family(family_id: str) -> Family:
    return registry.lookup(FAMILY_KIND, family_id)  # type: ignore[no-any-return]


def all_models() -> list[BaseModel]:
    return [get_model(name) for name in registry.names(KIND)]
