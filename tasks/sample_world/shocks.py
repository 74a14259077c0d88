"""Shocks: a documented, deterministic way to shift the sample world from a given month on.

``world.json`` may hold ``shocks``: a list of ``{"from": "YYYY-MM", "until": "YYYY-MM"
(optional), "set": {parameter: value, ...}}``. Every month simulated from ``from``
(through ``until``, when given) runs with those parameters of :class:`WorldModel`
replaced; later shocks win over earlier ones. The model written in ``world.json``
is never changed, so removing a shock restores the world's behaviour, and a month
simulated again gives the same records. Example: field reps making fewer visits
and deliveries held up from April 2025::

    add_shock("data/retail", "2025-04", {"visits_per_rep": 240, "delay_pct": 40})
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pdcaflow.tasks.sample_world.world_model import WorldModel
from pdcaflow.tasks.sample_world.periods import month_index
from pdcaflow.tasks.sample_world.storage import WorldInfo


def with_shocks(info: WorldInfo, period: str) -> WorldInfo:
    """``info`` as ``period`` sees it: ``model`` shocked, ``base_model`` the generated one (what is saved)."""
    if not info.shocks:
        return info
    model = shocked_model(info.model, info.shocks, period, str(info.directory / "world.json"))
    return dataclasses.replace(info, model=model, base_model=info.model)


def shocked_model(model: WorldModel, shocks: Any, period: str, where: str = "world.json") -> WorldModel:
    """The model ``period`` runs with: ``model`` with the ``set`` of every shock in force that month.

    Raises:
        ValueError: a malformed shock or an unknown parameter (named, with ``where``).
    """
    for position, shock in enumerate(shocks or ()):
        values = _checked(shock, position, where)
        start, end = shock["from"], shock.get("until")
        if month_index(start) <= month_index(period) and (end is None or month_index(period) <= month_index(end)):
            model = dataclasses.replace(model, **values)
    return model


def _checked(shock: Any, position: int, where: str) -> dict[str, Any]:
    label = f"{where}: shocks[{position}]"
    if not isinstance(shock, Mapping) or not isinstance(shock.get("set"), Mapping) or "from" not in shock:
        raise ValueError(f"{label}: write {{\"from\": \"YYYY-MM\", \"set\": {{parameter: value}}}}")
    for key in ("from", "until"):
        if key in shock and shock[key] is not None:
            try:
                month_index(str(shock[key]))
            except ValueError as exc:
                raise ValueError(f"{label}: {key} {shock[key]!r} is not a month (YYYY-MM)") from exc
    known = {item.name for item in dataclasses.fields(WorldModel)}
    unknown = sorted(set(shock["set"]) - known)
    if unknown:
        raise ValueError(f"{label}: unknown model parameter(s) {', '.join(unknown)}")
    return dict(shock["set"])


def add_shock(directory: str | Path, start: str, values: Mapping[str, Any], until: str | None = None) -> None:
    """Append a shock to the world's ``world.json`` (checked first; the file is replaced atomically)."""
    path = Path(directory) / "world.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    shock: dict[str, Any] = {"from": start, "set": dict(values), **({"until": until} if until else {})}
    shocks = [*data.get("shocks", []), shock]
    shocked_model(WorldModel(), shocks, start, str(path))
    data["shocks"] = shocks
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)
