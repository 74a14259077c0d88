"""The water brand's sample world: a simulation for ``pdca demo`` and the tests (docs/water-world.md).

A simulation for demonstration and testing, not an empirical model. It writes the
tables of docs/service-system-data.md, and its customers respond to the plan a
cycle carries out: more visits and offerings meeting their needs raise
satisfaction, a shorter delivery window makes more deliveries late, sooner
escalation resolves complaints sooner, and every offering costs money.

Public functions:

* :func:`generate_world` - a new world: customers, offerings, two quarters of history.
* :func:`simulate_quarter` - one quarter under a service plan and levers.
* :func:`simulate_before_task` - ``pdca demo``'s hook before ``service.perform``,
  ``complaints.intake`` and ``complaints.handle``.
* :func:`load_info`, :func:`is_world` - what ``world.json`` says; whether a folder holds a world.
"""

from pdcaflow.tasks.water_world.field import simulate_before_task
from pdcaflow.tasks.water_world.generate import generate_world
from pdcaflow.tasks.water_world.simulate import Levers, simulate_quarter
from pdcaflow.tasks.water_world.storage import WaterWorldInfo, is_world, load_info
from pdcaflow.tasks.water_world.world_model import WaterModel

__all__ = ["Levers", "WaterModel", "WaterWorldInfo", "generate_world", "is_world", "load_info",
           "simulate_before_task", "simulate_quarter"]
