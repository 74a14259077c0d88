"""The sample world: a simulated city of retail customers that the seven-step model can run on.

A simulation for demonstration and testing, not an empirical model (see
docs/sample-world.md for every assumption). It writes the tables of
docs/retail-data.md, and its customers respond to the plan a cycle carries out:
more visits raise satisfaction with diminishing returns, allocations short of
demand cause stock-outs, too few complaint handlers make complaints wait, and
satisfaction follows over two or three months.

Public functions:

* :func:`generate_world` - a new world: customers, two years of sales, products, supply.
* :func:`simulate_month` - the DO phase of one month under a plan and service levels.
* :func:`simulate_before_delivery` - ``pdca demo``'s hook: the month simulated before ``service.deliver`` reads it.
* :func:`periods.next_month` - the month a cycle plans: the one after the last in the sales.
* :func:`reference_plan` - a simple stand-in for the PLAN steps, for tests and calibration.
* :func:`load_info`, :func:`is_world` - what ``world.json`` says; whether a directory holds a world.
"""

from pdcaflow.tasks.sample_world.field import simulate_before_delivery
from pdcaflow.tasks.sample_world.generate import generate_world
from pdcaflow.tasks.sample_world.world_model import WorldModel
from pdcaflow.tasks.sample_world.periods import next_month
from pdcaflow.tasks.sample_world.plans import reference_plan
from pdcaflow.tasks.sample_world.simulate import simulate_month
from pdcaflow.tasks.sample_world.storage import WorldInfo, is_world, load_info

__all__ = ["WorldInfo", "WorldModel", "generate_world", "is_world", "load_info", "next_month", "reference_plan",
           "simulate_before_delivery", "simulate_month"]
