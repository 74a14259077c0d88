"""The models `pdca demo` runs: which definitions it copies, which sample world it generates, its hook.

Three models ship: ``retail`` (the flagship seven-step model on a generated city of retail
customers, monthly cycles), ``service-system`` (the nine-element service system of a
bottled-water brand, quarterly cycles, with the complaint-handling sub-process) and
``complaints`` (complaint handling on its own, on the water brand's complaints). Each runs
on a sample world (a simulation for demonstration: docs/sample-world.md, docs/water-world.md)
that answers the plan each cycle carries out, through the world's ``before_task`` hook.

The worlds are imported only inside :func:`generate` and :func:`hook`, so naming a model
(``pdca demo --help``) never loads pandas.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BeforeTask = Callable[..., None]  # pdcaflow.engine.runtime.step_runner.BeforeTask, keyword-only task, inputs


@dataclass(frozen=True)
class DemoModel:
    """One model the demo can run."""

    name: str  # what `--model` takes
    process_id: str  # the id of the definition run
    title: str  # one line, for the demo's first message
    definitions: tuple[str, ...]  # files copied from the shipped definitions/; the first is run (the rest: sub-processes)
    world: Path  # the sample world's folder in the demo directory
    customers: int  # the default --customers
    period: str  # "month" or "quarter": what one cycle covers
    default_dir: str


MODELS: dict[str, DemoModel] = {
    "retail": DemoModel("retail", "retail-customer-service",
                        "the seven-step retail customer-service model on a generated city of retail customers",
                        ("retail-customer-service.yaml",), Path("data") / "retail", 5000, "month", "pdca-demo"),
    "service-system": DemoModel("service-system", "service-quality-system",
                                "the nine-element service system of a bottled-water brand, with its "
                                "complaint-handling sub-process",
                                ("service-quality-system.yaml", "complaint-handling.yaml"), Path("data") / "water",
                                2000, "quarter", "pdca-demo-service-system"),
    "complaints": DemoModel("complaints", "complaint-handling",
                            "complaint handling on its own, on the complaints of a bottled-water brand",
                            ("complaint-handling.yaml",), Path("data") / "water", 2000, "quarter",
                            "pdca-demo-complaints"),
}
# what a user may also type for a model: its process id, and the names people use for it
ALIASES = {model.process_id: name for name, model in MODELS.items()} | {
    "nine-element": "service-system", "service-quality-system": "service-system", "complaint-handling": "complaints",
    "seven-step": "retail",
}


def model_named(name: str) -> DemoModel | None:
    """The model ``name`` (or an alias of it) names, or None."""
    key = name.strip().lower()
    return MODELS.get(ALIASES.get(key, key))


def model_names() -> str:
    """The models, for messages and help: ``retail, service-system, complaints``."""
    return ", ".join(MODELS)


def world_info(model: DemoModel, world: Path) -> Mapping[str, Any] | None:
    """What the world in ``world`` was generated with (``customers``, ``seed``), or None if there is none."""
    info_file = world / "world.json"
    if not info_file.is_file():
        return None
    info = json.loads(info_file.read_text(encoding="utf-8"))
    return info if isinstance(info, dict) else {}


def generate(model: DemoModel, world: Path, *, customers: int, seed: int) -> None:
    """Generate the model's sample world in ``world``."""
    # start-up speed: a sample world (pandas, numpy) loads only when one is generated
    if model.world.name == "retail":
        from pdcaflow.tasks.sample_world import generate_world

        generate_world(world, customers=customers, seed=seed)
    else:
        from pdcaflow.tasks.water_world import generate_world as generate_water_world

        generate_water_world(world, customers=customers, seed=seed)


def hook(model: DemoModel) -> BeforeTask:
    """The world's ``before_task`` hook: it simulates each period just before the step that reads it."""
    if model.world.name == "retail":
        from pdcaflow.tasks.sample_world import simulate_before_delivery

        return simulate_before_delivery
    from pdcaflow.tasks.water_world import simulate_before_task

    return simulate_before_task
